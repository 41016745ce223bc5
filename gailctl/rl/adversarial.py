"""The adversarial learner: imitation's GAIL or AIRL trainer built from the config, round by round.

`build_gail` is the one way gailctl builds a learner (the gail stage and bench's throughput
run), fresh or from a checkpoint; `train_rounds` is the round loop both drive through
imitation's public `train_gen` / `train_disc`. Also: the expert batches (shuffled by numpy,
resumable), the learning-rate schedule, the value warm-up and the generator's observation
normalisation.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import numpy as np

from gailctl.core.config import Config
from gailctl.core.errors import GailctlError, UsageError
from gailctl.core.torch_files import read_torch_payload
from gailctl.rl.normalize import restore_from_checkpoint
from gailctl.rl.policies import build_ppo, build_reward_net, load_ppo, load_reward_net, train_value_only
from gailctl.rl.subsample import demo_transitions
from gailctl.rl.torch_setup import multi_tensor_updates
from gailctl.rl.trainer_state import REPLAY_BUFFER_FILE, continue_csv_log, restore_replay_buffer

BC_TERM_STREAM = 0xBC
"""Second seed word of the BC term's batch order, so it is not the discriminator's (seeded by `seed` alone)."""

DISC_KEYS = ("disc_loss", "disc_acc", "disc_acc_expert", "disc_acc_gen", "disc_entropy")
"""Discriminator statistics imitation's `train_disc` returns, averaged per round into metrics.csv."""


class ExpertBatches:
    """Expert transitions in shuffled full batches, re-iterable epoch after epoch.

    The same batches imitation's own `DataLoader(shuffle=True, drop_last=True)` yields, drawn by
    numpy indexing: imitation's loader collates transitions one by one, which took 4.1 of the
    5.9 s of discriminator time in a 40-round CartPole profile. imitation accepts any iterable
    of transition batches as `demonstrations`.

    `state()` / `restore()` carry the order across a resume: the generator's bit state at the start
    of the current epoch (plain JSON data) and how many of that epoch's batches were handed out.
    """

    def __init__(self, trajs: Sequence[Any] | Any, *, batch_size: int, rng: np.random.Generator):
        """`trajs`: trajectories, or imitation `Transitions` already flattened (e.g. subsampled)."""
        from imitation.data.rollout import flatten_trajectories
        from imitation.data.types import Transitions

        flat = trajs if isinstance(trajs, Transitions) else flatten_trajectories(list(trajs))
        self.arrays = {"obs": flat.obs, "acts": flat.acts, "next_obs": flat.next_obs, "dones": flat.dones}
        self.batch_size, self.rng = batch_size, rng
        self._epoch_start = rng.bit_generator.state
        self._position = 0
        self._skip = 0

    def __iter__(self) -> Any:
        n = len(self.arrays["obs"])
        self._epoch_start, self._position = self.rng.bit_generator.state, self._skip
        order = self.rng.permutation(n)
        starts = range(0, n - self.batch_size + 1, self.batch_size)
        try:
            for start in starts[self._skip :]:
                self._skip = 0
                index = order[start : start + self.batch_size]
                self._position += 1
                yield {k: v[index] for k, v in self.arrays.items()}
        except GeneratorExit:  # an epoch abandoned (imitation draws one batch to check the data): the next starts afresh
            self._epoch_start, self._position = self.rng.bit_generator.state, 0
            raise
        self._skip = 0

    def state(self) -> dict[str, Any]:
        return {"rng": json.dumps(self._epoch_start), "position": self._position}

    def restore(self, state: dict[str, Any]) -> None:
        """The next epoch drawn repeats the saved one's order and starts after its handed-out batches."""
        self.rng.bit_generator.state = json.loads(state["rng"])
        self._skip = int(state["position"])


def mean_disc_stats(stats: list[dict[str, float]]) -> dict[str, float]:
    """The mean of each discriminator statistic over a round's batches (DISC_KEYS)."""
    return {k: float(np.nanmean([s[k] for s in stats])) for k in DISC_KEYS}


def build_trainer(cfg: Config, *, venv: Any, gen: Any, reward_net: Any, trajs: Sequence[Any], log_dir: Path,
                  batches: Optional[ExpertBatches] = None, scaler: Any = None) -> Any:
    """imitation's GAIL or AIRL trainer from the config (the generator and reward net built by the caller).

    `scaler`: a `relabel.ReturnScaler` for the rewards PPO trains on (gail.normalize_reward).
    """
    from imitation.util import logger as imit_logger

    from gailctl.rl.discriminator import penalized_trainer_class

    g = cfg.gail
    trainer = penalized_trainer_class(g.algorithm)(
        grad_penalty=g.disc_grad_penalty,
        demonstrations=batches or ExpertBatches(trajs, batch_size=g.demo_batch_size, rng=np.random.default_rng(cfg.seed)),
        demo_batch_size=g.demo_batch_size,
        gen_replay_buffer_capacity=g.gen_replay_buffer_capacity,
        n_disc_updates_per_round=g.n_disc_updates_per_round,
        venv=venv,
        gen_algo=gen,
        reward_net=reward_net,
        disc_opt_kwargs={"lr": g.disc_lr, "weight_decay": g.disc_weight_decay},
        allow_variable_horizon=cfg.env.allow_variable_horizon,
        log_dir=log_dir,
        # imitation's own detailed log (PPO and discriminator internals) as CSV, off stdout.
        custom_logger=imit_logger.configure(log_dir, ["csv"]),
    )
    multi_tensor_updates(trainer._disc_opt)
    if g.batched_rewards:
        from gailctl.rl.relabel import install_batched_rewards

        install_batched_rewards(trainer, scaler=scaler)
    return trainer


def train_discriminator(trainer: Any) -> list[dict[str, float]]:
    """A round's discriminator updates, in training mode (so the input normalisation learns)."""
    from imitation.util import networks

    stats = []
    for _ in range(trainer.n_disc_updates_per_round):
        with networks.training(trainer.reward_train):
            stats.append(trainer.train_disc())
    return stats


def lr_factor(g: Any, *, round_number: int, n_rounds: int) -> float:
    """The learning-rate multiplier for round `round_number` (1-based) of `n_rounds` (1.0 if constant).

    SB3's convention: `progress_remaining = 1 - num_timesteps / total_timesteps`, taken once the
    rollout is collected, when the update runs. A round's updates (PPO and discriminator) run after
    its rollout, so round r of n sees progress_remaining 1 - r/n, counted against the budget the
    run actually trains (whole rounds): the last round runs at exactly `lr_final_fraction`.
    """
    if g.lr_schedule == "constant":
        return 1.0
    progress_remaining = max(0.0, 1.0 - round_number / n_rounds)
    return g.lr_final_fraction + (1.0 - g.lr_final_fraction) * progress_remaining


def set_learning_rates(trainer: Any, g: Any, *, round_number: int, n_rounds: int) -> None:
    """Apply the schedule before round `round_number` (1-based) of `n_rounds` (so resume continues it).

    SB3's own schedules see each `learn()` call as a whole run (imitation calls it once per
    round), so we set a constant schedule per round instead.
    """
    from stable_baselines3.common.utils import get_schedule_fn

    factor = lr_factor(g, round_number=round_number, n_rounds=n_rounds)
    trainer.gen_algo.learning_rate = g.ppo.learning_rate * factor
    trainer.gen_algo.lr_schedule = get_schedule_fn(trainer.gen_algo.learning_rate)
    for group in trainer._disc_opt.param_groups:
        group["lr"] = g.disc_lr * factor


@dataclass(frozen=True)
class RoundDone:
    """One finished round: its number (1-based), its discriminator batches' statistics, and timings."""

    round: int
    disc_stats: list[dict[str, float]]
    gen_s: float
    disc_s: float


def train_rounds(trainer: Any, cfg: Config, *, start_round: int, n_rounds: int,
                 bc_term: Optional[Any] = None) -> Iterator[RoundDone]:
    """The GAIL round loop, for the stage and bench alike: rounds `start_round + 1 .. n_rounds`.

    Each round is what imitation's `AdversarialTrainer.train` does (generator, then discriminator),
    at the scheduled learning rates, then one dump of imitation's log (one progress.csv row a round).
    In the first gail.value_warmup_rounds rounds PPO trains only its value function. With a BC
    term (`Gail.bc_term`), its mean loss over the round goes to imitation's log as gen/bc_loss.
    """
    g = cfg.gail
    policy = trainer.gen_algo.policy
    try:
        for r in range(start_round + 1, n_rounds + 1):
            if g.value_warmup_rounds:
                train_value_only(policy, r <= g.value_warmup_rounds)
            yield _train_round(trainer, cfg, r, n_rounds, bc_term)
    finally:
        if g.value_warmup_rounds:
            train_value_only(policy, False)


def _train_round(trainer: Any, cfg: Config, r: int, n_rounds: int, bc_term: Optional[Any]) -> RoundDone:
    """Round `r` of `n_rounds`: the generator's rollout and PPO update, then the discriminator's."""
    g = cfg.gail
    set_learning_rates(trainer, g, round_number=r, n_rounds=n_rounds)
    started = time.perf_counter()
    try:
        trainer.train_gen(cfg.gail_steps_per_round)
    except ValueError as exc:
        if "different length" in str(exc):
            raise GailctlError(
                f"env.id = {cfg.env.id}: the generator's episodes have different lengths; "
                "use a fixed-horizon env or set env.allow_variable_horizon: true"
            ) from None
        raise
    gen_done = time.perf_counter()
    if bc_term is not None:
        trainer.logger.record("gen/bc_loss", bc_term.take_mean_loss())
    stats = train_discriminator(trainer)
    trainer.logger.dump(r)
    return RoundDone(round=r, disc_stats=stats, gen_s=gen_done - started, disc_s=time.perf_counter() - gen_done)


def generator_normalizer(venv: Any, g: Any) -> Any:
    """The generator's VecNormalize (observations only), as GAIL trains it; also bench's plain PPO's.

    A generator cloned from the demonstrations (gail.bc_init_epochs) keeps the statistics it was
    cloned with (`cloning.normalized_demos`), so its statistics do not update.
    """
    from stable_baselines3.common.vec_env import VecNormalize

    return VecNormalize(venv, training=not g.bc_init_epochs, norm_obs=True, norm_reward=False, gamma=g.ppo.gamma)


def normalize_generator(trainer: Any, g: Any) -> Any:
    """Put the generator's VecNormalize between the env PPO steps and PPO itself.

    It sits above imitation's buffering wrapper and our reward recorder, so the discriminator,
    its replay buffer and the reward labels all see raw observations, like the demonstrations.
    """
    vec = generator_normalizer(trainer.venv_train, g)
    trainer.venv_train = trainer.venv_wrapped = vec
    trainer.gen_algo.set_env(vec)
    return vec


@dataclass(frozen=True)
class Gail:
    """A GAIL (or AIRL) learner ready to train: imitation's trainer and the parts we checkpoint."""

    trainer: Any
    gen: Any
    reward_net: Any
    vec: Any  # the generator's VecNormalize, or None
    batches: ExpertBatches
    scaler: Any  # the generator's reward scaling (relabel.ReturnScaler), or None
    net_kind: dict[str, Any]
    bc_term: Any = None  # the generator's BC term (bc_term.BCTerm, gail.bc_weight), or None


def build_gail(cfg: Config, *, venv: Any, trajs: Sequence[Any], log_dir: Path, checkpoint: Optional[Path] = None,
               state: Optional[dict[str, Any]] = None) -> Gail:
    """The one way gailctl builds a learner (the stage and bench's throughput run): fresh, or from `checkpoint`.

    From a checkpoint everything the next round reads is put back except the global random states
    (the caller restores those last, once nothing else will draw from them): generator, reward net,
    the discriminator's optimizer, observation and reward statistics, the generator replay buffer,
    the expert batch order, and imitation's progress.csv rows up to the checkpoint's round.
    """
    g = cfg.gail
    net_kind = {"algorithm": g.algorithm, "discount_factor": g.ppo.gamma}
    if checkpoint is not None:
        assert state is not None
        gen = load_ppo(checkpoint / "policy.zip", venv, env_id=cfg.env.id, ppo=g.ppo, seed=cfg.seed)
        gen.num_timesteps = int(state["n_env_steps"])
        reward_payload = read_torch_payload(checkpoint / "reward_net.pt")
        reward_net = load_reward_net(checkpoint / "reward_net.pt", venv, payload=reward_payload)
        _set_aside(log_dir / "progress.csv")
    else:
        gen = build_ppo(venv, g.ppo, seed=cfg.seed)
        reward_net = build_reward_net(venv, g.reward_net, **net_kind)
    demos = demo_transitions(trajs, every=g.subsample_every, seed=cfg.seed)  # the GAIL paper's protocol when > 1
    batches = ExpertBatches(demos, batch_size=g.demo_batch_size, rng=np.random.default_rng(cfg.seed))
    scaler = None
    if g.normalize_reward:
        from gailctl.rl.relabel import ReturnScaler

        scaler = ReturnScaler(venv.num_envs, gamma=g.ppo.gamma)
    trainer = build_trainer(cfg, venv=venv, gen=gen, reward_net=reward_net, trajs=trajs, log_dir=log_dir,
                            batches=batches, scaler=scaler)
    vec = normalize_generator(trainer, g) if g.normalize_obs else None
    bc_term = install_bc_term(gen.policy, demos, cfg, vec=vec)
    if checkpoint is not None:
        restore_from_checkpoint(vec, checkpoint, setting="gail.normalize_obs")
        # imitation keeps the discriminator's optimizer private; its state is ours to restore.
        trainer._disc_opt.load_state_dict(reward_payload["disc_optimizer"])
        multi_tensor_updates(trainer._disc_opt)  # the saved groups' flags replaced ours
        if "expert_batches" in state:  # checkpoints before this field started the order afresh
            batches.restore(state["expert_batches"])
        if bc_term is not None and "bc_term_batches" in state:
            bc_term.batches.restore(state["bc_term_batches"])
        if scaler is not None:
            if "reward_scale" not in state:
                raise UsageError(f"{checkpoint}: saved without gail.normalize_reward; resume with the run's own config")
            scaler.restore(state["reward_scale"])
        if (checkpoint / REPLAY_BUFFER_FILE).is_file():
            restore_replay_buffer(trainer, read_torch_payload(checkpoint / REPLAY_BUFFER_FILE),
                                  source=checkpoint / REPLAY_BUFFER_FILE)
        continue_csv_log(trainer.logger, n_rows=int(state["round"]))
    return Gail(trainer=trainer, gen=gen, reward_net=reward_net, vec=vec, batches=batches, scaler=scaler,
                net_kind=net_kind, bc_term=bc_term)


def install_bc_term(policy: Any, demos: Any, cfg: Config, *, vec: Optional[Any]) -> Optional[Any]:
    """The generator's BC term (gail.bc_weight > 0) on `policy`, from the run's kept transitions; else None.

    Also bench's plain PPO gets it, so the throughput ratio compares generators that do the same work.
    """
    g = cfg.gail
    if g.bc_weight <= 0:
        return None
    from gailctl.rl.bc_term import BCTerm

    batches = ExpertBatches(demos, batch_size=min(g.ppo.batch_size, len(demos)),
                            rng=np.random.default_rng([cfg.seed, BC_TERM_STREAM]))
    return BCTerm(policy, batches, weight=g.bc_weight, vec=vec)


def _set_aside(progress_csv: Path) -> None:
    """Keep imitation's log from the earlier invocation where its writer will not truncate it."""
    previous = progress_csv.with_name("progress.csv.previous")
    if progress_csv.is_file() and not previous.exists():  # an existing .previous is from a resume that died early
        progress_csv.replace(previous)
