"""`gailctl gail`: imitation's GAIL (or AIRL) on saved demonstrations, with per-round metrics.

We drive imitation's `AdversarialTrainer` round by round through its public `train_gen` /
`train_disc` (what `AdversarialTrainer.train` does) so that each round's discriminator
statistics are kept, the generator's true return is measured on separate eval envs, and
checkpoints land on round boundaries. The learner itself (imitation's trainer, the expert
batches, the round loop) is built by `gailctl.rl.adversarial`; this module owns the run: its
metrics rows, evaluations, checkpoints, resume and summary.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Optional

from gailctl.core.checkpoints import latest_checkpoint, read_state, restore_rng, truncate_metrics_after, write_checkpoint
from gailctl.core.config import Config
from gailctl.core.errors import Interrupted, UsageError
from gailctl.core.execution import resume_hint, run_clock_start
from gailctl.core.metrics import MetricsWriter, read_metrics
from gailctl.core.signals import graceful_stop, stop_mid_rollout
from gailctl.core.torch_files import save_torch_atomic, torch_save
from gailctl.core.ui import console, progress_bar
from gailctl.doctor.live import LiveDoctor
from gailctl.report.curves import gail_curve_png
from gailctl.rl.adversarial import DISC_KEYS, build_gail, mean_disc_stats, train_rounds
from gailctl.rl.cloning import clone_into_generator
from gailctl.rl.demos import check_demos_fit, load_demos
from gailctl.rl.envs import EVAL_SEED_OFFSET, make_venv, warn_variable_horizon
from gailctl.rl.evaluation import evaluate
from gailctl.rl.normalize import VECNORMALIZE_FILE, raw_obs_weights, vecnormalize_payload
from gailctl.rl.policies import reward_net_payload, save_zip
from gailctl.rl.subsample import demo_transitions
from gailctl.rl.torch_setup import setup_torch
from gailctl.rl.trainer_state import REPLAY_BUFFER_FILE, replay_buffer_payload

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
    kept = demo_transitions(trajs, every=g.subsample_every, seed=cfg.seed)
    n_kept = len(kept)
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
    if checkpoint is None and g.bc_init_epochs:  # a resumed generator was cloned (or not) when the run began
        bc_init_loss = clone_into_generator(gen, kept, vec=vec, bc=cfg.bc, epochs=g.bc_init_epochs,
                                            seed=cfg.seed, log_dir=run_dir / "imitation" / "bc_init")
        console.print(f"generator cloned from the demonstrations: {g.bc_init_epochs} BC epochs, last loss {bc_init_loss:.3f}")
    if start_round < g.value_warmup_rounds:
        console.print(f"rounds {start_round + 1}-{min(g.value_warmup_rounds, n_rounds)}: "
                      "PPO trains only its value function (gail.value_warmup_rounds)")
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
    doctor = LiveDoctor.for_gail(run_dir, cfg, trajs=trajs, demos_dir=demos_dir, n_kept=n_kept, start_round=start_round, echo=console.print)
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
                          "eval_s": eval_s[0], "expert_batches": learner.batches.state(),
                          **({"bc_term_batches": learner.bc_term.batches.state()} if learner.bc_term is not None else {}),
                          **({"reward_scale": learner.scaler.state()} if learner.scaler is not None else {})})

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
    with graceful_stop() as stop, MetricsWriter(run_dir, columns=COLUMNS, purge_step=purge_step) as writer, progress_bar(f"{g.algorithm} rounds", n_rounds) as bar:
        bar.update(start_round)
        if start_round == 0:
            last_eval = eval_row()
            wall_s = round(time.monotonic() - t0, 3)  # setup included: the clock summary.json reads too
            writer.write({"round": 0, "n_env_steps": 0, "wall_s": wall_s, "train_wall_s": round(wall_s - eval_s[0], 3),
                          **{k: "" for k in DISC_KEYS}, **last_eval})
            doctor.observe({"round": 0, "n_env_steps": 0, **last_eval})
        for done in train_rounds(trainer, cfg, start_round=start_round, n_rounds=n_rounds, bc_term=learner.bc_term):
            r, stats = done.round, done.disc_stats
            row: dict[str, Any] = {"round": r, "n_env_steps": int(gen.num_timesteps), **mean_disc_stats(stats)}
            if r % eval_every_rounds == 0 or r == n_rounds:
                last_eval = eval_row()
                row.update(last_eval)
            else:
                row.update(empty_eval)
            row["wall_s"] = round(time.monotonic() - t0, 3)
            row["train_wall_s"] = round(row["wall_s"] - eval_s[0], 3)
            writer.write(row)
            doctor.observe(row)
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
        "demo_stats": doctor.demos.to_json(),
        "bc_init_epochs": g.bc_init_epochs,
        "value_warmup_rounds": g.value_warmup_rounds,
        "bc_weight": g.bc_weight,
        "n_rounds": n_rounds,
        "steps_per_round": steps_per_round,
        "n_env_steps": int(gen.num_timesteps),
        "final": {k: float(last_eval[k]) for k in ("return_mean", "return_std", "return_min", "normalized_score")},
        "eval_episodes": g.eval_episodes,
        "eval_deterministic": g.eval_deterministic,
        "final_eval": {"episodes": g.final_eval_episodes, **final_scores},
        "artifacts": {"policy": "policy.zip", "reward_net": "reward_net.pt", "curves": curves.name if curves else None},
    }
