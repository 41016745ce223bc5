"""The imitation stages' config sections: `gail` (with its discriminator's network), `bc` and `dagger`.

Only pydantic is imported here (see `gailctl.core.config`).
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, NonNegativeFloat, PositiveFloat, model_validator

from gailctl.core.config_ppo import PPOConfig, Section
from gailctl.core.config_types import Budget, NonNegativeInt, PositiveInt
from gailctl.core.paths import ConfigPath


class RewardNetConfig(Section):
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
    spectral_norm: bool = False
    """Spectral normalisation of every linear layer (Miyato et al. 2018): each weight matrix is
    divided by its largest singular value, so the discriminator's logit changes at most as fast as
    its (normalised) input. Acme's GAIL/DAC offers it as the alternative to a gradient penalty;
    both may be on."""


class GailConfig(Section):
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
    head starts untrained; 0 = off. 20 rounds on the upright Ant's and Hopper's 4 trajectories
    (5-seed benches): 0.94 ± 0.08 and 0.93 ± 0.06, against 0.91 ± 0.13 and 0.88 ± 0.06 without. On
    the first Walker2d config 10 rounds kept a clone walking through its first 40k env steps but
    did not change the final score."""
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
    disc_input_noise: NonNegativeFloat = 0.0
    """Instance noise (Sønderby et al. 2017; Arjovsky & Bottou 2017): the standard deviation of
    Gaussian noise added to every input the discriminator reads while it trains, expert and
    generator batches alike, after the input normalisation (so in units of each feature's spread).
    The two distributions then overlap, so the discriminator cannot separate the few expert pairs
    (4 trajectories every 20th step: 200) from the generator's by memorising them; the rewards PPO
    trains on are labelled without noise. 0 turns it off."""
    lr_schedule: Literal["constant", "linear"] = "constant"
    """Generator and discriminator learning rates over the run: constant, or linear decay from
    their configured values to `lr_final_fraction` of them in the last round (SB3's progress
    convention, counted in whole rounds)."""
    lr_final_fraction: float = Field(default=0.1, ge=0.0, le=1.0)
    """With `lr_schedule: linear`, the fraction of each rate left in the last round."""
    disc_frozen_fraction: float = Field(default=0.0, ge=0.0, lt=1.0)
    """The last fraction of the rounds (whole rounds, rounded down) trains the generator alone: the
    discriminator, its input normalisation included, stops changing, so PPO ends on one fixed
    reward instead of chasing a moving one (its statistics are still measured and logged); 0 = it
    trains to the end. On the upright Hopper's 4 trajectories 0.2 gave 0.91 ± 0.09 against
    0.93 ± 0.06 (5 seeds): two seeds settled at 0.77-0.85 on the frozen reward."""
    policy_average_halflife: NonNegativeInt = 0
    """Rounds after which a round's weights count half in an exponential moving average of the
    generator's policy, updated after every round; with it on, the average (not PPO's last
    iterate) is what the evaluations score, best_policy*.zip keep and policy.zip ships, and
    policy_last_iterate.zip holds the last iterate, scored beside it at the end. PPO trains its
    own weights either way. As GAN generators are read from averaged weights (Yazıcı et al.
    2019); 0 = off. A half-life of 10 rounds, the same trainings scored both ways: on the upright
    Walker2d's 4 trajectories (5 seeds) the lowest seed 0.75 -> 0.80 (upright 0.84 -> 0.91) and
    the others at most 0.02 lower; at 25 trajectories 0.78 -> 0.72 on the lowest seed; on Hopper
    two seeds up and three down. No shipped config sets it."""
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
    reward on a task that can end early teaches ending it). Measured on the upright Hopper's 4
    demonstrations, where the discriminator wins outright: 0.31 ± 0.23 -> 0.81 ± 0.14 (5 seeds);
    on Walker2d and Ant, whose generators were not stuck, it did worse (one seed each)."""
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

    @model_validator(mode="after")
    def _noise_needs_normalised_inputs(self) -> "GailConfig":
        if self.disc_input_noise > 0 and not self.reward_net.normalize_input:
            raise ValueError(
                f"gail.disc_input_noise = {self.disc_input_noise}: needs gail.reward_net.normalize_input = true "
                "(the noise is in units of each input's spread)"
            )
        return self


class BCConfig(Section):
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


class DaggerConfig(Section):
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
