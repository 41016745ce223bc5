"""The config schema: frozen, typed pydantic sections that reject unknown keys.

One model per YAML section (env, references, expert, record, gail, bc, dagger, bench, eval) and the
cross-field checks between them; derived values (rollout sizes, budgets) are properties. The PPO
section and the sections' base are in `gailctl.core.config_ppo`, the imitation stages' sections
(gail, bc, dagger) in `gailctl.core.config_imitate`; both are importable from here.
Reading files, `--set` overrides and error messages live in `gailctl.core.config_load`.
Only pydantic is imported here, so config errors answer without paying for torch.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import AfterValidator, Field, field_validator, model_validator

from gailctl.core.config_imitate import BCConfig, DaggerConfig, GailConfig, RewardNetConfig
from gailctl.core.config_ppo import NetArch, NetArchSpec, PPOConfig, Section
from gailctl.core.config_types import (
    Budget,
    EnvKwarg,
    HumanAction,
    NonNegativeInt,
    NoopAction,
    PositiveInt,
    sane_n_envs,
)
from gailctl.core.paths import ConfigPath
from gailctl.core.upright_tasks import UPRIGHT_TASKS, has_upright_test

__all__ = [
    "BCConfig", "BenchConfig", "Config", "DaggerConfig", "EnvConfig", "EvalConfig", "ExpertConfig", "GailConfig",
    "HumanConfig", "NetArch", "NetArchSpec", "PPOConfig", "PublishedResults", "RecordConfig", "References",
    "RewardNetConfig", "Section",
]


class EnvConfig(Section):
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


class References(Section):
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


class ExpertConfig(Section):
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


class HumanConfig(Section):
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


class RecordConfig(Section):
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


class PublishedResults(Section):
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


class BenchConfig(Section):
    """What `gailctl bench` runs for this config (its `--n-demos` wins)."""

    n_demos: tuple[PositiveInt, ...] = ()
    """Numbers of demonstration trajectories to benchmark; gail.n_demos alone when empty."""
    published: Optional[PublishedResults] = None
    """Published results to compare with: one reference row per method in the bench table."""
    quick_budget: float = Field(default=1 / 3, gt=0.0, le=1.0)
    """`bench --quick` trains GAIL for this fraction of gail.total_timesteps (MuJoCo: 0.2, so the
    five-task suite fits in 15 minutes)."""


class EvalConfig(Section):
    """`gailctl eval`: score a saved policy, show it or film it."""

    episodes: PositiveInt = 10
    """Episodes to score (`--episodes` wins)."""
    deterministic: bool = True
    """Argmax actions (`--stochastic` samples)."""
    video_fps: PositiveInt = 30
    """Frames per second of `--video` and `--render` videos."""
    video_episodes: PositiveInt = 1
    """Episodes to put in a video (the first ones evaluated)."""


class Config(Section):
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
