"""`gailctl gail`: imitation's GAIL (or AIRL) on saved demonstrations, with per-round metrics.

We drive imitation's `AdversarialTrainer` round by round through its public `train_gen` /
`train_disc` (what `AdversarialTrainer.train` does) so that each round's discriminator
statistics are kept, the generator's true return is measured on separate eval envs, and
checkpoints land on round boundaries.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import numpy as np

from gailctl.core.checkpoints import latest_checkpoint, read_state, restore_rng, truncate_metrics_after, write_checkpoint
from gailctl.core.config import Config
from gailctl.rl.envs import EVAL_SEED_OFFSET, describe_space, make_venv, warn_variable_horizon
from gailctl.core.errors import GailctlError, Interrupted, UsageError
from gailctl.rl.evaluation import evaluate
from gailctl.report.inspect_runs import gail_curve_png
from gailctl.core.metrics import MetricsWriter, read_metrics
from gailctl.rl.normalize import VECNORMALIZE_FILE, raw_obs_weights, restore_from_checkpoint, vecnormalize_payload
from gailctl.rl.policies import (
    build_ppo,
    build_reward_net,
    load_ppo,
    load_reward_net,
    read_torch_payload,
    reward_net_payload,
    save_torch_atomic,
    torch_save,
)
from gailctl.core.signals import graceful_stop, stop_mid_rollout
from gailctl.rl.trainer_state import REPLAY_BUFFER_FILE, continue_csv_log, replay_buffer_payload, restore_replay_buffer
from gailctl.stages import resume_hint, run_clock_start, setup_torch
from gailctl.stages.expert import save_zip
from gailctl.rl.subsample import demo_transitions
from gailctl.core.ui import console, progress_bar

DISC_KEYS = ("disc_loss", "disc_acc", "disc_acc_expert", "disc_acc_gen", "disc_entropy")
COLUMNS = [
    "round",
    "n_env_steps",
    "wall_s",
    "train_wall_s",
    *DISC_KEYS,
    "return_mean",
    "return_std",
    "return_min",
    "episode_len_mean",
    "normalized_score",
]


def load_demos(demos_dir: Path, *, n_demos: int | None) -> list[Any]:
    """imitation's loader (Arrow data), keeping observations, actions, rewards and terminals only.

    imitation stores each step's `infos` as jsonpickle text and decodes it on access;
    jsonpickle can build arbitrary objects, so a crafted folder could run code there. GAIL does
    not need infos: we drop them before anything reads them (the decoding is lazy).
    """
    import dataclasses

    from imitation.data import serialize

    try:
        seq = serialize.load(demos_dir)
        n = len(seq)
        trajs = [dataclasses.replace(seq[i], infos=None) for i in range(min(n, n_demos or n))]
    except Exception as exc:  # datasets/pyarrow raise many types for a damaged folder
        raise UsageError(f"--demos {demos_dir}: cannot load demonstrations ({type(exc).__name__}: {str(exc)[:200]})") from None
    if n == 0:
        raise UsageError(f"--demos {demos_dir}: holds no trajectories")
    if n_demos is not None and n_demos > n:
        raise UsageError(f"gail.n_demos = {n_demos}: only {n} trajectories in {demos_dir}")
    return trajs


def check_demos_fit(trajs: Sequence[Any], venv: Any, cfg: Config, demos_dir: Path, *,
                    batch_size: int | None = None, batch_key: str = "gail.demo_batch_size",
                    need_fixed_horizon: bool = True, n_transitions: int | None = None) -> None:
    """Refuse demonstrations this env or trainer cannot use, before any training starts.

    `n_transitions`: how many transitions training gets (fewer than the trajectories hold when
    `gail.subsample_every` > 1); the batch size must fit those.
    """
    obs_shape = tuple(np.asarray(trajs[0].obs).shape[1:])
    env_shape = tuple(venv.observation_space.shape)
    if obs_shape != env_shape:
        raise UsageError(
            f"--demos {demos_dir}: observations of shape {obs_shape} do not fit env {cfg.env.id} "
            f"(observation space {describe_space(venv.observation_space)})"
        )
    space = venv.action_space
    bad = next((a for t in trajs for a in np.asarray(t.acts) if not space.contains(np.asarray(a, dtype=space.dtype)) or
                np.asarray(a).shape != space.shape), None)
    if bad is not None:
        raise UsageError(
            f"--demos {demos_dir}: action {np.asarray(bad).tolist()} does not fit env {cfg.env.id} "
            f"(action space {describe_space(space)})"
        )
    lengths = sorted({len(t.acts) for t in trajs})
    if len(lengths) > 1 and need_fixed_horizon and not cfg.env.allow_variable_horizon:
        raise UsageError(
            f"--demos {demos_dir}: episodes of different lengths ({lengths[0]} to {lengths[-1]} steps): "
            f"GAIL on {cfg.env.id} would learn from when episodes end; use a fixed-horizon env "
            "(e.g. seals/CartPole-v0) or set env.allow_variable_horizon: true"
        )
    kept = n_transitions is not None and n_transitions != sum(len(t.acts) for t in trajs)
    n_transitions = sum(len(t.acts) for t in trajs) if n_transitions is None else n_transitions
    batch_size = cfg.gail.demo_batch_size if batch_size is None else batch_size
    if batch_size > n_transitions:
        raise UsageError(
            f"{batch_key} = {batch_size}: larger than the {n_transitions} "
            f"expert transitions in {demos_dir}"
            + (f" (1 in every {cfg.gail.subsample_every} kept: gail.subsample_every)" if kept else "")
        )


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


def _mean_stats(stats: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.nanmean([s[k] for s in stats])) for k in DISC_KEYS}


def build_trainer(cfg: Config, *, venv: Any, gen: Any, reward_net: Any, trajs: Sequence[Any], log_dir: Path,
                  batches: Optional[ExpertBatches] = None) -> Any:
    """imitation's GAIL or AIRL trainer from the config (the generator and reward net built by the caller)."""
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
    if g.batched_rewards:
        from gailctl.rl.relabel import install_batched_rewards

        install_batched_rewards(trainer)
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


def train_rounds(trainer: Any, cfg: Config, *, start_round: int, n_rounds: int) -> Iterator[RoundDone]:
    """The GAIL round loop, for the stage and bench alike: rounds `start_round + 1 .. n_rounds`.

    Each round is what imitation's `AdversarialTrainer.train` does (generator, then discriminator),
    at the scheduled learning rates, then one dump of imitation's log (one progress.csv row a round).
    """
    g = cfg.gail
    for r in range(start_round + 1, n_rounds + 1):
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
        stats = train_discriminator(trainer)
        trainer.logger.dump(r)
        yield RoundDone(round=r, disc_stats=stats, gen_s=gen_done - started, disc_s=time.perf_counter() - gen_done)


def normalize_generator(trainer: Any, g: Any) -> Any:
    """Put VecNormalize (observations only) between the env PPO steps and PPO itself.

    It sits above imitation's buffering wrapper and our reward recorder, so the discriminator,
    its replay buffer and the reward labels all see raw observations, like the demonstrations.
    """
    from stable_baselines3.common.vec_env import VecNormalize

    vec = VecNormalize(trainer.venv_train, norm_obs=True, norm_reward=False, gamma=g.ppo.gamma)
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
    net_kind: dict[str, Any]


def build_gail(cfg: Config, *, venv: Any, trajs: Sequence[Any], log_dir: Path, checkpoint: Optional[Path] = None,
               state: Optional[dict[str, Any]] = None) -> Gail:
    """The one way gailctl builds a learner (the stage and bench's throughput run): fresh, or from `checkpoint`.

    From a checkpoint everything the next round reads is put back except the global random states
    (the caller restores those last, once nothing else will draw from them): generator, reward net,
    the discriminator's optimizer, observation statistics, the generator replay buffer, the expert
    batch order, and imitation's progress.csv rows up to the checkpoint's round.
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
    trainer = build_trainer(cfg, venv=venv, gen=gen, reward_net=reward_net, trajs=trajs, log_dir=log_dir, batches=batches)
    vec = normalize_generator(trainer, g) if g.normalize_obs else None
    if checkpoint is not None:
        restore_from_checkpoint(vec, checkpoint, setting="gail.normalize_obs")
        # imitation keeps the discriminator's optimizer private; its state is ours to restore.
        trainer._disc_opt.load_state_dict(reward_payload["disc_optimizer"])
        if "expert_batches" in state:  # checkpoints before this field started the order afresh
            batches.restore(state["expert_batches"])
        if (checkpoint / REPLAY_BUFFER_FILE).is_file():
            restore_replay_buffer(trainer, read_torch_payload(checkpoint / REPLAY_BUFFER_FILE),
                                  source=checkpoint / REPLAY_BUFFER_FILE)
        continue_csv_log(trainer.logger, n_rows=int(state["round"]))
    return Gail(trainer=trainer, gen=gen, reward_net=reward_net, vec=vec, batches=batches, net_kind=net_kind)


def _set_aside(progress_csv: Path) -> None:
    """Keep imitation's log from the earlier invocation where its writer will not truncate it."""
    previous = progress_csv.with_name("progress.csv.previous")
    if progress_csv.is_file() and not previous.exists():  # an existing .previous is from a resume that died early
        progress_csv.replace(previous)


def budget_line(cfg: Config) -> tuple[str, Optional[str]]:
    """What the run will train, said before it starts, and a warning if the budget was cut to whole rounds.

    gail.total_timesteps below one round is refused by the config (exit 2), so there is at least one.
    """
    g, per_round = cfg.gail, cfg.gail_steps_per_round
    n_rounds = g.total_timesteps // per_round
    line = f"{g.algorithm}: {n_rounds * per_round:,} env steps = {n_rounds} round{'' if n_rounds == 1 else 's'} of {per_round:,}"
    warning = None
    if n_rounds * per_round != g.total_timesteps:
        warning = (f"gail.total_timesteps = {g.total_timesteps:,} is not a whole number of rounds "
                   f"(gail.ppo.n_steps x env.n_envs = {per_round:,}): training {n_rounds * per_round:,} env steps")
    return line, warning


def run(cfg: Config, run_dir: Path, *, demos_dir: Path, resume: bool = False) -> dict[str, Any]:
    setup_torch()
    g = cfg.gail
    trajs = load_demos(demos_dir, n_demos=g.n_demos)
    checkpoint = latest_checkpoint(run_dir) if resume else None
    if resume and checkpoint is None:  # execute refuses this first; a checkpoint deleted since is refused here
        raise UsageError(f"--resume {run_dir}: no checkpoint to continue from")
    state = read_state(checkpoint) if checkpoint else {"round": 0, "n_env_steps": 0, "wall_s": 0.0}
    start_round = int(state["round"])
    # Resumed envs start fresh episodes from a seed of their own (env states are not checkpointed).
    venv = make_venv(cfg.env, seed=cfg.seed + int(state["n_env_steps"]))
    n_kept = len(demo_transitions(trajs, every=g.subsample_every, seed=cfg.seed))
    check_demos_fit(trajs, venv, cfg, demos_dir, n_transitions=n_kept)
    if (warning := warn_variable_horizon(cfg.env)) is not None:
        console.print(f"[yellow]warning:[/] {warning}")
    eval_venv = make_venv(cfg.env, seed=cfg.seed + EVAL_SEED_OFFSET + int(state["n_env_steps"]),
                          n_envs=min(g.eval_episodes, cfg.env.n_envs))

    steps_per_round = cfg.gail_steps_per_round
    n_rounds = g.total_timesteps // steps_per_round
    eval_every_rounds = max(1, math.ceil(g.eval_every / steps_per_round))
    ckpt_every_rounds = max(1, math.ceil(g.checkpoint_every / steps_per_round))

    learner = build_gail(cfg, venv=venv, trajs=trajs, log_dir=run_dir / "imitation", checkpoint=checkpoint, state=state)
    trainer, gen, reward_net, vec, net_kind = learner.trainer, learner.gen, learner.reward_net, learner.vec, learner.net_kind
    line, cut = budget_line(cfg)  # said once everything loaded, before the first round
    if cut is not None:
        console.print(f"[yellow]warning:[/] {cut}")
    console.print(line)
    purge_step = None
    if checkpoint:
        restore_rng(state["rng"])
        dropped = truncate_metrics_after(run_dir, key="round", last=start_round)
        purge_step = int(state["n_env_steps"]) + 1  # TensorBoard hides the events written after the checkpoint
        console.print(f"resuming {run_dir.name} from {checkpoint.name} (round {start_round}; {dropped} later metric rows dropped)")
    t0 = run_clock_start(run_dir)  # one clock over every invocation of the run, as summary.json's wall_s
    eval_s = [float(state.get("eval_s", 0.0))]  # time spent evaluating, excluded from train_wall_s

    def checkpoint_now(round_done: int) -> None:
        def fill(tmp: Path) -> None:
            gen.save(tmp / "policy.zip")  # unfolded when normalising: --resume trains on from it
            if vec is not None:
                torch_save(vecnormalize_payload(vec), tmp / VECNORMALIZE_FILE)
            payload = reward_net_payload(reward_net, g.reward_net, env_id=cfg.env.id, **net_kind,
                                         extra={"disc_optimizer": trainer._disc_opt.state_dict()})
            torch_save(payload, tmp / "reward_net.pt")
            torch_save(replay_buffer_payload(trainer), tmp / REPLAY_BUFFER_FILE)

        write_checkpoint(run_dir / "checkpoints" / f"round_{round_done:06d}", fill,
                         {"round": round_done, "n_env_steps": int(gen.num_timesteps), "wall_s": time.monotonic() - t0,
                          "eval_s": eval_s[0], "expert_batches": learner.batches.state()})

    def stopped_mid_rollout(start_steps: int) -> Interrupted:
        """A stop during a round's rollout: nothing has learned since the last round ended, so
        checkpoint that round (if not yet) and leave; the partial rollout is discarded. (Only the
        generator's observation statistics, with gail.normalize_obs, have seen its steps.)"""
        done = start_steps // steps_per_round
        gen.num_timesteps = start_steps
        if done == 0:
            return Interrupted("stopped during round 1's rollout, before any round finished; nothing to resume")
        if not (run_dir / "checkpoints" / f"round_{done:06d}").exists():
            checkpoint_now(done)
        return Interrupted(f"{resume_hint('gail', run_dir, start_steps)} (round {done + 1}'s partial rollout was discarded)")

    trainer.gen_callback = stop_mid_rollout(trainer.gen_callback, on_stop=stopped_mid_rollout)

    def eval_row() -> dict[str, Any]:
        started = time.monotonic()
        with raw_obs_weights(gen, vec):  # the policy as policy.zip ships it, on raw eval envs
            score = evaluate(gen, eval_venv, n_episodes=g.eval_episodes, deterministic=g.eval_deterministic)
        eval_s[0] += time.monotonic() - started
        return score.as_row(cfg.references)

    empty_eval = {k: "" for k in COLUMNS[COLUMNS.index("return_mean") :]}
    last_eval: dict[str, Any] = {}
    with graceful_stop() as stop, MetricsWriter(run_dir, columns=COLUMNS, purge_step=purge_step) as writer, progress_bar("gail rounds", n_rounds) as bar:
        bar.update(start_round)
        if start_round == 0:
            last_eval = eval_row()
            wall_s = round(time.monotonic() - t0, 3)  # setup included: the clock summary.json reads too
            writer.write({"round": 0, "n_env_steps": 0, "wall_s": wall_s, "train_wall_s": round(wall_s - eval_s[0], 3),
                          **{k: "" for k in DISC_KEYS}, **last_eval})
        for done in train_rounds(trainer, cfg, start_round=start_round, n_rounds=n_rounds):
            r, stats = done.round, done.disc_stats
            row: dict[str, Any] = {"round": r, "n_env_steps": int(gen.num_timesteps), **_mean_stats(stats)}
            if r % eval_every_rounds == 0 or r == n_rounds:
                last_eval = eval_row()
                row.update(last_eval)
            else:
                row.update(empty_eval)
            row["wall_s"] = round(time.monotonic() - t0, 3)
            row["train_wall_s"] = round(row["wall_s"] - eval_s[0], 3)
            writer.write(row)
            if r % ckpt_every_rounds == 0 or r == n_rounds or stop.requested:
                checkpoint_now(r)
            if stop.requested:
                raise Interrupted(resume_hint("gail", run_dir, int(gen.num_timesteps)))
            latest = f"return {float(last_eval['return_mean']):.1f}  " if last_eval else ""
            bar.update(r, latest=f"{latest}disc acc {row['disc_acc']:.2f}")
    if not last_eval:  # resumed after the last round's checkpoint: the final evaluation is on disk
        last_eval = read_metrics(run_dir)[-1]
    save_torch_atomic(run_dir / "reward_net.pt", reward_net_payload(reward_net, g.reward_net, env_id=cfg.env.id, **net_kind))
    with raw_obs_weights(gen, vec):
        save_zip(gen, run_dir / "policy.zip", raw_obs=vec is not None)
        final_scores = {
            mode: evaluate(gen, eval_venv, n_episodes=g.final_eval_episodes, deterministic=det).as_row(cfg.references)
            for mode, det in (("deterministic", True), ("stochastic", False))
        }
    curves = gail_curve_png(run_dir)  # never raises: a picture must not fail a finished training
    return {
        "algorithm": g.algorithm,
        "demos": str(demos_dir),
        "n_demo_trajectories": len(trajs),
        "subsample_every": g.subsample_every,
        "n_demo_transitions": n_kept,
        "n_rounds": n_rounds,
        "steps_per_round": steps_per_round,
        "n_env_steps": int(gen.num_timesteps),
        "final": {k: float(last_eval[k]) for k in ("return_mean", "return_std", "return_min", "normalized_score")},
        "eval_episodes": g.eval_episodes,
        "eval_deterministic": g.eval_deterministic,
        "final_eval": {"episodes": g.final_eval_episodes, **final_scores},
        "artifacts": {"policy": "policy.zip", "reward_net": "reward_net.pt", "curves": curves.name if curves else None},
    }
