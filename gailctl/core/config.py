"""The config schema: frozen, typed pydantic sections that reject unknown keys.

One model per YAML section (env, references, expert, record, gail, bc, dagger, bench, eval) and the
cross-field checks between them; derived values (rollout sizes, budgets) are properties.
Reading files, `--set` overrides and error messages live in `gailctl.core.config_load`.
Only pydantic is imported here, so config errors answer without paying for torch.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from annotated_types import Ge
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    Strict,
    Tag,
    field_validator,
    model_validator,
)

from gailctl.core.config_types import (
    Budget,
    EnvKwarg,
    HumanAction,
    NonNegativeInt,
    NoopAction,
    PositiveInt,
    sane_n_envs,
    whole_number,
)
from gailctl.core.paths import ConfigPath
from gailctl.core.upright_tasks import UPRIGHT_TASKS, has_upright_test

class _Section(BaseModel):
    """Frozen and strict about keys: a typo in a config is an error, not a silent default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class EnvConfig(_Section):
    """The task every stage runs on."""

    id: str = "seals/CartPole-v0"
    """Gymnasium id; seals ids (`seals/...`) are fixed-horizon, as imitation recommends."""
    n_envs: Annotated[PositiveInt, AfterValidator(sane_n_envs)] = 8
    """Parallel environments (in one process) for training and recording."""
    max_episode_steps: Optional[PositiveInt] = None
    """Overrides the env's own time limit when set."""
    absorb_after_done: bool = False
    """Wrap in seals' AbsorbAfterDoneWrapper so episodes end only at the time limit
    (a fixed horizon with the same true return); needs `max_episode_steps`."""
    allow_variable_horizon: bool = False
    """Let GAIL train on episodes of different lengths. Termination then leaks the true
    reward to the learner (imitation refuses this unless told)."""

    @model_validator(mode="after")
    def _absorb_needs_limit(self) -> "EnvConfig":
        if self.absorb_after_done and self.max_episode_steps is None:
            raise ValueError(
                "env.absorb_after_done = true: needs env.max_episode_steps, "
                "or episodes would never end"
            )
        return self


class References(_Section):
    """Measured returns that define the normalized score (random = 0, expert = 1)."""

    random_return: Optional[float] = None
    """Mean return of uniform random actions (`gailctl eval random -c CONFIG`): normalized score 0."""
    expert_return: Optional[float] = None
    """Mean return of the expert (argmax actions, 100 episodes in the shipped configs): normalized score 1."""

    @model_validator(mode="after")
    def _ordered(self) -> "References":
        r, e = self.random_return, self.expert_return
        if r is not None and e is not None and e == r:
            raise ValueError(
                f"references.expert_return = {e}: must differ from references.random_return"
            )
        return self

    def normalize(self, value: float) -> Optional[float]:
        """Normalized score of a return, or None when a reference is unknown."""
        if self.random_return is None or self.expert_return is None:
            return None
        return (value - self.random_return) / (self.expert_return - self.random_return)


class NetArch(_Section):
    """Separate hidden layers for the policy (`pi`) and the value network (`vf`), as rl-zoo's MuJoCo PPOs."""

    pi: tuple[PositiveInt, ...]
    vf: tuple[PositiveInt, ...]


def _net_arch_form(value: Any) -> str:
    return "split" if isinstance(value, (dict, NetArch)) else "shared"


# A list is one arch for both networks, a mapping one per network; the tag keeps errors to the form given.
NetArchSpec = Annotated[
    Union[Annotated[tuple[PositiveInt, ...], Tag("shared")], Annotated[NetArch, Tag("split")]],
    Discriminator(_net_arch_form),
]


class PPOConfig(_Section):
    """stable-baselines3 PPO hyperparameters (same names as `PPO(...)` and its `policy_kwargs`)."""

    learning_rate: PositiveFloat = 3e-4
    """Adam learning rate of the policy and value networks."""
    n_steps: PositiveInt = 2048
    """Steps per env per rollout; one rollout = n_steps x env.n_envs env steps."""
    batch_size: PositiveInt = 64
    """Minibatch size of each gradient step; at most one rollout."""
    n_epochs: PositiveInt = 10
    """Passes over each rollout."""
    gamma: float = Field(default=0.99, gt=0.0, le=1.0)
    """Discount factor of the returns PPO maximises."""
    gae_lambda: float = Field(default=0.95, gt=0.0, le=1.0)
    """GAE's bias/variance trade-off for the advantages."""
    clip_range: PositiveFloat = 0.2
    """PPO's clipping of the probability ratio."""
    ent_coef: NonNegativeFloat = 0.0
    """Weight of the entropy bonus (exploration)."""
    vf_coef: NonNegativeFloat = 0.5
    """Weight of the value loss."""
    max_grad_norm: PositiveFloat = 0.5
    """Gradient clipping norm."""
    net_arch: NetArchSpec = (64, 64)
    """Hidden layers of both the policy and the value network (a list), or of each
    (`{pi: [256, 256], vf: [256, 256]}`)."""
    activation_fn: Literal["tanh", "relu"] = "tanh"
    """Activation of the hidden layers (SB3's default tanh; rl-zoo's MuJoCo PPOs use relu)."""
    log_std_init: float = 0.0
    """Initial log standard deviation of a continuous policy's actions (rl-zoo's Hopper: -2)."""
    ortho_init: bool = True
    """Orthogonal initialisation of the layers (SB3's default); rl-zoo's MuJoCo PPOs turn it off."""
    use_sde: bool = False
    """Generalized state-dependent exploration (continuous actions only), as rl-zoo's Pendulum PPO."""
    sde_sample_freq: Annotated[int, BeforeValidator(whole_number), Strict(), Ge(-1)] = -1
    """Steps between gSDE noise resamples; -1 resamples only at rollout starts."""


class ExpertConfig(_Section):
    """`gailctl expert`: PPO on the env's true reward, evaluated and checkpointed as it trains."""

    total_timesteps: Budget = 100_000
    """Env steps to train, rounded up to whole rollouts (announced before training)."""
    n_envs: Optional[Annotated[PositiveInt, AfterValidator(sane_n_envs)]] = None
    """Envs the expert trains on; env.n_envs when unset. For a PPO setting tuned on other rollouts
    than the generator's (rl-zoo's Swimmer: 1 env x 2048 steps)."""
    env_kwargs: dict[str, EnvKwarg] = {}
    """Keyword arguments to `gymnasium.make` for the envs the expert trains on, and only those: its
    evaluations (hence best_model.zip), `record` and `gail` use env.id as it is. On seals' MuJoCo
    tasks `terminate_when_unhealthy: true` trains on gymnasium's v4 task with its healthy
    termination (the same class, dynamics and observations): without it PPO learns that lying
    down moves faster than hopping or walking (experts/README.md)."""
    eval_every: PositiveInt = 10_000
    """Env steps between evaluations on separate eval envs."""
    eval_episodes: PositiveInt = 10
    """Episodes per evaluation."""
    eval_deterministic: bool = True
    """Evaluate with argmax actions (false: sampled)."""
    checkpoint_every: PositiveInt = 20_000
    """Env steps between periodic checkpoints."""
    normalize_obs: bool = False
    """Train on observations normalised by running statistics (SB3's VecNormalize). The saved
    model.zip has them folded into its first layers, so it takes raw observations like any policy."""
    normalize_reward: bool = False
    """Scale rewards by a running estimate of the return's std while training (VecNormalize)."""
    lr_schedule: Literal["constant", "linear"] = "constant"
    """PPO's learning rate over the budget: constant, or linear decay from expert.ppo.learning_rate
    to `lr_final_fraction` of it at the last update (rl-zoo's `lin_` schedules). A constant rate
    leaves PPO's MuJoCo policies swinging between evaluations to the end."""
    lr_final_fraction: float = Field(default=0.1, ge=0.0, le=1.0)
    """With `lr_schedule: linear`, the fraction of expert.ppo.learning_rate left at the last update."""
    ppo: PPOConfig = PPOConfig()


class HumanConfig(_Section):
    """`gailctl record --human`: a person plays the task at the keyboard in a window."""

    keys: Optional[dict[str, HumanAction]] = None
    """Key name -> action while that key is held: an integer for discrete actions, a list of
    numbers for continuous ones (held keys add up). Unset: the task's default (see the `record` guide)."""
    noop: Optional[NoopAction] = None
    """The action when no mapped key is held, or `repeat` (the last action); unset: the default's."""
    fps: PositiveInt = 15
    """Env steps per second: a playable speed (the envs' own renderers use 30 to 50)."""

    @field_validator("keys")
    @classmethod
    def _key_names(cls, keys: Optional[dict[str, Any]]) -> Optional[dict[str, Any]]:
        from gailctl.core.keymap import check_key_names

        if keys is not None:
            if not keys:
                raise ValueError("needs at least one key (or leave it unset for the task's default)")
            check_key_names(keys)
        return keys

    @model_validator(mode="after")
    def _one_kind(self) -> "HumanConfig":
        from gailctl.core.keymap import check_same_kind

        if self.keys:
            check_same_kind(self.keys, self.noop)
        return self


class RecordConfig(_Section):
    """`gailctl record`: roll out an expert, or play yourself (`--human`), into demonstrations."""

    expert: ConfigPath = None
    """Expert run folder or SB3 .zip (relative to the config file's folder); --expert wins."""
    n_episodes: PositiveInt = 20
    """Episodes to record (`-n` wins)."""
    deterministic: bool = False
    """Record the expert's argmax actions instead of samples from its policy."""
    vecnormalize: ConfigPath = None
    """Statistics file of an expert trained behind SB3's VecNormalize (`VecNormalize.save`'s
    pickle, read by a restricted unpickler, or a gailctl checkpoint's vecnormalize.pt; relative to the config file's folder): its
    policy sees normalised observations, the demonstrations stay raw; --vecnormalize wins."""
    min_upright_share: Optional[float] = Field(default=None, ge=0.0, le=1.0)
    """Locomotion tasks with an upright test (Hopper, Walker2d, Ant, Humanoid; `gailctl.rl.upright`):
    keep only the expert's episodes that stand upright for at least this share of their steps, and
    roll out until `n_episodes` are kept (`--min-upright-share` wins). A demonstrator's falls are not
    the gait to imitate. Unset keeps every episode."""
    max_episodes: Optional[PositiveInt] = None
    """With `min_upright_share`: the most episodes to roll out; fewer than `n_episodes` upright among
    them is an error. 4 x n_episodes when unset."""
    human: HumanConfig = HumanConfig()

    @model_validator(mode="after")
    def _cap_fits(self) -> "RecordConfig":
        if self.max_episodes is not None and self.max_episodes < self.n_episodes:
            raise ValueError(f"record.max_episodes = {self.max_episodes}: must be at least "
                             f"record.n_episodes = {self.n_episodes}")
        return self

    @property
    def episode_cap(self) -> int:
        """The most episodes an upright-filtered recording rolls out before it gives up."""
        return self.max_episodes if self.max_episodes is not None else 4 * self.n_episodes


class RewardNetConfig(_Section):
    """The discriminator's network (imitation's BasicRewardNet; AIRL: BasicShapedRewardNet)."""

    hid_sizes: tuple[PositiveInt, ...] = (32, 32)
    """Hidden layers of the reward MLP (GAIL's discriminator; AIRL's reward term)."""
    potential_hid_sizes: tuple[PositiveInt, ...] = (32, 32)
    """AIRL only: hidden layers of the shaping potential."""
    normalize_input: bool = True
    """Running mean/std normalisation of the discriminator's inputs (imitation's RunningNorm)."""
    use_action: bool = True
    """The discriminator reads the action. Off, it judges states alone (with next_state: the
    transition, as in GAIfO, Torabi et al. 2018). Expert demonstrations recorded with argmax actions
    can differ from a stochastic generator's by their noise alone, which an action-reading
    discriminator may learn instead of the behaviour."""
    use_next_state: bool = False
    """The discriminator also reads the next observation."""
    use_done: bool = False
    """The discriminator also reads the episode-end flag."""


class GailConfig(_Section):
    """`gailctl gail`: imitation's adversarial trainer with a PPO generator, round by round."""

    algorithm: Literal["gail", "airl"] = "gail"
    """imitation's adversarial trainer to run: GAIL (BasicRewardNet) or AIRL (BasicShapedRewardNet,
    discounted with gail.ppo.gamma)."""
    demos: ConfigPath = None
    """Record run folder or demonstrations folder (relative to the config file's folder); --demos wins."""
    n_demos: Optional[PositiveInt] = None
    """Use only the first N demonstration trajectories (all when unset)."""
    subsample_every: PositiveInt = 1
    """Keep every K-th transition of each demonstration trajectory (1 = all), the GAIL paper's
    protocol (K = 20); honoured by gail, bc and bench. Each trajectory starts at its own offset in
    0..K-1, drawn from a generator seeded by `seed` (the paper drew them at random)."""
    total_timesteps: Budget = 150_000
    """Generator env steps to train, cut down to whole rounds (announced before the first round)."""
    bc_init_epochs: NonNegativeInt = 0
    """Epochs of behavioural cloning on the run's demonstrations (subsampled as above, the `bc`
    section's batch size, learning rate and loss weights) that start the generator's policy
    before the first round, as OpenAI baselines' GAIL `--pretrained`; 0 = a random start. PPO's
    value head is not cloned. With normalize_obs the statistics are the demonstrations', fixed."""
    bc_init_std: Optional[PositiveFloat] = None
    """With bc_init_epochs, the generator's action spread once it is cloned: every action
    dimension's standard deviation is set to this (the cloned means stay); unset keeps the spread
    BC learned. BC's likelihood shrinks the spread with the data: Walker2d's clone of 25
    subsampled trajectories ends at 0.036 (of 4: 0.28), and PPO, which explores by that spread,
    then barely moves. Box actions with a state-independent spread only (not gSDE)."""
    value_warmup_rounds: NonNegativeInt = 0
    """Rounds at the start in which PPO trains only its value function: the policy's weights and
    action spread stay as they are while the critic learns the returns of the learned reward (the
    discriminator trains as usual). Meant for a cloned generator (bc_init_epochs), whose value
    head starts untrained; 0 = off. On Walker2d 10 rounds kept a clone walking through its first
    40k env steps but did not change the final score."""
    bc_weight: NonNegativeFloat = 0.0
    """Weight of a behavioural-cloning term in the generator's loss (GAIL+BC, Jena et al. 2020):
    every PPO gradient step also lowers this x a BC loss on a minibatch (gail.ppo.batch_size, at
    most all) of the run's demonstrations: the squared error of the policy's mean action
    (continuous) or the demonstrated action's negative log-likelihood (discrete); 0 = plain GAIL.
    Keeps PPO's updates on the learned reward from walking a policy away from what the
    demonstrations pin down; PPO still learns the action spread."""
    demo_batch_size: PositiveInt = 500
    """Expert transitions per discriminator batch (as many generator ones are added)."""
    gen_replay_buffer_capacity: Optional[PositiveInt] = None
    """Generator transitions kept for the discriminator; one round's worth when unset."""
    n_disc_updates_per_round: PositiveInt = 4
    """Discriminator batches trained after each generator rollout."""
    disc_lr: PositiveFloat = 1e-3
    """Adam learning rate of the discriminator."""
    disc_weight_decay: NonNegativeFloat = 0.0
    """L2 penalty on the discriminator's weights (Adam's weight_decay): a regulariser against a
    discriminator that wins outright and leaves the generator without signal."""
    disc_grad_penalty: NonNegativeFloat = 0.0
    """Weight of a zero-centred gradient penalty E||grad D||^2 on the discriminator's inputs
    (expert and generator batches), taken after the input normalisation (reward_net.normalize_input)
    so a feature's units do not change its weight; every input the net uses counts (next_state,
    done when used). Keeps the learned reward smooth; 0 turns it off."""
    lr_schedule: Literal["constant", "linear"] = "constant"
    """Generator and discriminator learning rates over the run: constant, or linear decay from
    their configured values to `lr_final_fraction` of them in the last round (SB3's progress
    convention, counted in whole rounds)."""
    lr_final_fraction: float = Field(default=0.1, ge=0.0, le=1.0)
    """With `lr_schedule: linear`, the fraction of each rate left in the last round."""
    normalize_obs: bool = False
    """The generator (PPO) sees observations normalised by running statistics (VecNormalize), as
    rl-zoo's experts for MountainCar and Acrobot do; the discriminator and the demonstrations
    stay raw. policy.zip has the statistics folded into its first layers (raw observations in)."""
    normalize_reward: bool = False
    """The generator trains on the learned reward scaled as VecNormalize(norm_reward=True) scales an
    env's: divided by the running standard deviation of its discounted return (gamma =
    gail.ppo.gamma), clipped to +-10, as rl-zoo's MuJoCo experts train; GAIL's reward
    -log(1 - D) changes scale as the discriminator sharpens. The discriminator and the logged
    returns are unchanged. Needs gail.batched_rewards. Measured on MuJoCo it did not help
    (Walker2d: 2 seeds up, 2 down; Swimmer: no learning)."""
    reward_form: Literal["gail", "logit"] = "gail"
    """The reward PPO trains on, from the discriminator's logit L = log D - log(1 - D) (D: the
    probability a pair is the expert's): `gail` is imitation's -log(1 - D) = softplus(L), which
    flattens to 0 wherever the discriminator is sure a state is the generator's, so a generator
    far from the demonstrations gets almost no signal; `logit` is L itself (AIRL's form,
    Fu et al. 2018), as steep far from the demonstrations as near them. The discriminator trains
    the same either way. Needs gail.batched_rewards; on fixed-horizon tasks only (a negative
    reward on a task that can end early teaches ending it)."""
    batched_rewards: bool = True
    """Label the generator's rollout with the learned reward in one batch after it is collected,
    instead of imitation's per-step reward wrapper (same rewards, less overhead)."""
    reward_net: RewardNetConfig = RewardNetConfig()
    ppo: PPOConfig = PPOConfig()
    eval_every: PositiveInt = 5_000
    """Env steps between evaluations of the generator's true return (rounded up to rounds)."""
    eval_episodes: PositiveInt = 5
    """Episodes per periodic evaluation."""
    eval_deterministic: bool = True
    """Periodic evaluations with argmax actions (false: sampled)."""
    final_eval_episodes: PositiveInt = 50
    """Episodes of the final score, measured both deterministic and stochastic."""
    checkpoint_every: PositiveInt = 25_000
    """Env steps between periodic checkpoints (rounded up to whole rounds)."""


class BCConfig(_Section):
    """Behavioural cloning (imitation's `bc.BC`) on the same demonstrations: the GAIL paper's baseline."""

    demos: ConfigPath = None
    """Record run folder or demonstrations folder (relative to the config file's folder); --demos wins,
    then gail.demos."""
    n_demos: Optional[PositiveInt] = None
    """Use only the first N trajectories; gail.n_demos when unset, so both learn from the same data."""
    n_epochs: PositiveInt = 50
    """Passes over the demonstrations."""
    batch_size: PositiveInt = 64
    """Demonstration transitions per gradient step."""
    learning_rate: PositiveFloat = 1e-3
    """Adam learning rate."""
    ent_weight: NonNegativeFloat = 1e-3
    """Weight of the entropy bonus in imitation's BC loss."""
    l2_weight: NonNegativeFloat = 0.0
    """Weight of the L2 penalty on the policy's weights."""
    net_arch: tuple[PositiveInt, ...] = (64, 64)
    """Hidden layers of the cloned policy."""
    normalize_obs: bool = False
    """Learn on observations normalised by the demonstrations' own mean and variance (frozen), as
    imitation's tuned MuJoCo BC does; policy.zip still takes raw observations (folded in)."""
    eval_episodes: PositiveInt = 50
    """Episodes of the final evaluation."""
    eval_deterministic: bool = True
    """Evaluate with argmax actions (false: sampled)."""


class DaggerConfig(_Section):
    """`gailctl dagger`: interactive imitation on imitation's DAgger trainers. The policy acts, a
    teacher labels the states it visits, the labels join the demonstrations, BC retrains on them all."""

    teacher: Literal["expert", "human"] = "expert"
    """Who labels: an expert policy on every state the rounds visit (`--expert`, DAgger, Ross et
    al. 2011), or you at the keyboard, on the states where you take over (`--human`, HG-DAgger,
    Kelly et al. 2019; keys and speed from record.human)."""
    expert: ConfigPath = None
    """Expert run folder or SB3 .zip that labels with `teacher: expert` (relative to the config
    file's folder); --expert wins."""
    demos: ConfigPath = None
    """Starting demonstrations: a record run folder or demonstrations folder (relative to the config
    file's folder); --demos wins, then bc.demos, then gail.demos."""
    n_demos: Optional[PositiveInt] = None
    """Use the first N starting trajectories; gail.n_demos when unset (as `gailctl bc`)."""
    start_from_demos: bool = True
    """Clone the starting demonstrations first (bc.n_epochs epochs, the `bc` section's settings: what
    `gailctl bc` trains) and keep them in the aggregate; false starts from an untrained policy
    and an empty aggregate (they are then not needed)."""
    rounds: PositiveInt = 10
    """Rounds to run (`--rounds` wins): each collects labels, adds them to the aggregate and retrains."""
    steps_per_round: PositiveInt = 500
    """`teacher: expert`: env steps each round collects, rounded up to whole episodes (at least
    bc.batch_size). With `--human` a round is one episode."""
    n_envs: PositiveInt = 1
    """`teacher: expert`: envs the rounds collect on. Fixed-horizon episodes end together, so a round
    is at least n_envs whole episodes."""
    beta_rampdown_rounds: PositiveInt = 2
    """`teacher: expert`: imitation's LinearBetaSchedule. In round r (from 0) the expert's action is
    executed with probability max(0, 1 - r / this), the policy's otherwise; every visited state is
    labelled with the expert's action either way. With starting demonstrations the first collecting
    round is r = 1 (the demonstrations were round 0)."""
    bc_epochs: PositiveInt = 4
    """Passes of BC over the whole aggregate after each round (imitation's DAggerTrainer default);
    batch size, learning rate, loss weights and net_arch are the `bc` section's."""
    eval_episodes: PositiveInt = 10
    """Episodes that score the policy alone (its own actions, no teacher) after every round."""
    eval_deterministic: bool = True
    """Score with argmax actions (false: sampled)."""


class PublishedResults(_Section):
    """Another project's published final returns on this task, shown as a reference row by `gailctl bench`.

    Their expert differs from ours, so the bench table gives each return both raw and normalized
    with this config's own `references` (and the ratio to their own expert)."""

    source: str
    """Who published them and how, e.g. "imitation's benchmarking/ (10M env steps, 5 seeds)"."""
    expert_return: float
    """Their expert's return."""
    gail: Optional[float] = None
    """Their GAIL's final return."""
    airl: Optional[float] = None
    """Their AIRL's final return."""
    bc: Optional[float] = None
    """Their BC's final return."""


class BenchConfig(_Section):
    """What `gailctl bench` runs for this config (its `--n-demos` wins)."""

    n_demos: tuple[PositiveInt, ...] = ()
    """Numbers of demonstration trajectories to benchmark; gail.n_demos alone when empty."""
    published: Optional[PublishedResults] = None
    """Published results to compare with: one reference row per method in the bench table."""
    quick_budget: float = Field(default=1 / 3, gt=0.0, le=1.0)
    """`bench --quick` trains GAIL for this fraction of gail.total_timesteps (MuJoCo: 0.2, so the
    five-task suite fits in 15 minutes)."""


class EvalConfig(_Section):
    """`gailctl eval`: score a saved policy, show it or film it."""

    episodes: PositiveInt = 10
    """Episodes to score (`--episodes` wins)."""
    deterministic: bool = True
    """Argmax actions (`--stochastic` samples)."""
    video_fps: PositiveInt = 30
    """Frames per second of `--video` and `--render` videos."""
    video_episodes: PositiveInt = 1
    """Episodes to put in a video (the first ones evaluated)."""


class Config(_Section):
    """A whole config file: the seed and one section per stage."""

    seed: NonNegativeInt = 0
    """Seeds the envs, the networks and every random draw of a run (`--seed` wins)."""
    env: EnvConfig = EnvConfig()
    references: References = References()
    expert: ExpertConfig = ExpertConfig()
    record: RecordConfig = RecordConfig()
    gail: GailConfig = GailConfig()
    bc: BCConfig = BCConfig()
    dagger: DaggerConfig = DaggerConfig()
    bench: BenchConfig = BenchConfig()
    eval: EvalConfig = EvalConfig()

    @model_validator(mode="after")
    def _batches_fit_rollouts(self) -> "Config":
        for stage, n_envs in (("expert", self.expert_env.n_envs), ("gail", self.env.n_envs)):
            ppo: PPOConfig = getattr(self, stage).ppo
            rollout = ppo.n_steps * n_envs
            if ppo.batch_size > rollout:
                raise ValueError(
                    f"{stage}.ppo.batch_size = {ppo.batch_size}: must be at most one rollout, "
                    f"{stage}.ppo.n_steps x {self._n_envs_key(stage)} = {rollout}"
                )
        if self.record.min_upright_share is not None and not has_upright_test(self.env.id):
            raise ValueError(
                f"record.min_upright_share = {self.record.min_upright_share}: env.id = {self.env.id} has no "
                f"upright test (only {', '.join(UPRIGHT_TASKS)} do); leave it unset"
            )
        if self.gail.normalize_obs and self.gail.algorithm == "airl":
            raise ValueError(
                "gail.normalize_obs = true: not supported with gail.algorithm = airl "
                "(AIRL's discriminator reads the policy's probabilities of raw observations)"
            )
        if self.gail.bc_init_std is not None and (not self.gail.bc_init_epochs or self.gail.ppo.use_sde):
            raise ValueError(f"gail.bc_init_std = {self.gail.bc_init_std}: needs gail.bc_init_epochs > 0 "
                             "and gail.ppo.use_sde = false (it sets a cloned generator's action spread)")
        if self.gail.reward_form == "logit" and (self.gail.algorithm != "gail" or not self.gail.batched_rewards):
            raise ValueError("gail.reward_form = logit: needs gail.algorithm = gail and gail.batched_rewards = true "
                             "(the logit is taken when a rollout is labelled)")
        if self.gail.normalize_reward and not self.gail.batched_rewards:
            raise ValueError("gail.normalize_reward = true: needs gail.batched_rewards = true "
                             "(the rewards are scaled when a rollout is labelled)")
        if self.expert.total_timesteps < self.expert_steps_per_rollout:
            raise ValueError(
                f"expert.total_timesteps = {self.expert.total_timesteps}: must be at least one rollout, "
                f"expert.ppo.n_steps x {self._n_envs_key('expert')} = {self.expert_steps_per_rollout}"
            )
        if self.gail.total_timesteps < self.gail_steps_per_round:
            raise ValueError(
                f"gail.total_timesteps = {self.gail.total_timesteps}: must be at least one round, "
                f"gail.ppo.n_steps x env.n_envs = {self.gail_steps_per_round}"
            )
        return self

    def _n_envs_key(self, stage: str) -> str:
        return "expert.n_envs" if stage == "expert" and self.expert.n_envs is not None else "env.n_envs"

    @property
    def expert_env(self) -> EnvConfig:
        """The env section the expert trains on: env with expert.n_envs when that is set."""
        if self.expert.n_envs is None:
            return self.env
        return self.env.model_copy(update={"n_envs": self.expert.n_envs})

    @property
    def expert_steps_per_rollout(self) -> int:
        """Env steps per PPO rollout of the expert; PPO updates once per rollout."""
        return self.expert.ppo.n_steps * self.expert_env.n_envs

    @property
    def expert_n_rollouts(self) -> int:
        """Rollouts the expert trains: expert.total_timesteps rounded up to whole rollouts, as SB3 does."""
        return -(-self.expert.total_timesteps // self.expert_steps_per_rollout)

    @property
    def expert_budget(self) -> int:
        """The expert's effective budget in env steps (whole rollouts); it never trains past it."""
        return self.expert_n_rollouts * self.expert_steps_per_rollout

    @property
    def gail_steps_per_round(self) -> int:
        """Env steps per GAIL round: one PPO rollout of the generator."""
        return self.gail.ppo.n_steps * self.env.n_envs
