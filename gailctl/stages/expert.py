"""`gailctl expert`: train a PPO expert with periodic evaluation and checkpoints."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Optional

from gailctl.core.checkpoints import capture_rng, latest_checkpoint, read_state, restore_rng, truncate_metrics_after, write_checkpoint
from gailctl.core.config import Config
from gailctl.core.errors import Interrupted, UsageError
from gailctl.core.execution import resume_hint, run_clock_start
from gailctl.core.metrics import MetricsWriter, read_metrics
from gailctl.core.signals import graceful_stop
from gailctl.core.ui import console, progress_bar
from gailctl.rl.envs import EVAL_SEED_OFFSET, make_venv
from gailctl.rl.evaluation import evaluate
from gailctl.rl.normalize import (
    first_layers,
    raw_obs_weights,
    restore_from_checkpoint,
    restore_trained_policy,
    restore_vecnormalize,
    save_policy_checkpoint,
    vecnormalize_payload,
)
from gailctl.rl.policies import build_ppo, load_ppo, save_zip
from gailctl.rl.torch_setup import setup_torch

COLUMNS = ["n_env_steps", "wall_s", "return_mean", "return_std", "return_min", "episode_len_mean", "normalized_score"]


def next_multiple(n: int, every: int) -> int:
    """The first multiple of `every` strictly after `n`: where the next eval/checkpoint falls."""
    return (n // every + 1) * every


def normalization_note(*, obs: bool, reward: bool) -> str:
    """What the summary says about a policy trained behind VecNormalize."""
    parts = [f"trained behind VecNormalize ({', '.join(k for k, on in (('observations', obs), ('rewards', reward)) if on)})"]
    if obs:
        parts.append("the observation statistics are folded into the first layers of every zip (model.zip, best_model.zip "
                     "and the checkpoints' model.zip), which take raw observations; checkpoints also keep the trained "
                     "weights (policy_trained.pt) and vecnormalize.pt for --resume")
    return "; ".join(parts)


def wrap_normalize(venv: Any, cfg: Config) -> Any:
    """The training venv behind SB3's VecNormalize, as `expert.normalize_obs`/`normalize_reward` ask."""
    from gymnasium import spaces
    from stable_baselines3.common.vec_env import VecNormalize

    ecfg = cfg.expert
    if ecfg.normalize_obs and not isinstance(venv.observation_space, spaces.Box):
        raise UsageError(f"expert.normalize_obs = true: env {cfg.env.id} has observations "
                         f"{type(venv.observation_space).__name__}, not a Box; set expert.normalize_obs: false")
    return VecNormalize(venv, norm_obs=ecfg.normalize_obs, norm_reward=ecfg.normalize_reward, gamma=ecfg.ppo.gamma)


def budget_lines(cfg: Config) -> list[str]:
    """What the expert will train, said before it starts: the budget in whole rollouts.

    SB3 only stops between rollouts, so the effective budget is `expert.total_timesteps` rounded
    up to a whole number of rollouts (the config refuses budgets under one rollout); a budget
    that needs rounding gets a warning that names the key.
    """
    ecfg = cfg.expert
    rollout, n_rollouts, n_steps = cfg.expert_steps_per_rollout, cfg.expert_n_rollouts, cfg.expert_budget
    lines = [f"expert: {n_steps:,} env steps = {n_rollouts:,} rollout{'s' if n_rollouts != 1 else ''} of {rollout:,} "
             f"({cfg.expert_env.n_envs} envs x {ecfg.ppo.n_steps} steps)"]
    if n_steps != ecfg.total_timesteps:
        lines.append(f"[yellow]warning:[/] expert.total_timesteps = {ecfg.total_timesteps} is not a whole number of "
                     f"rollouts of {rollout:,}: rounded up to {n_steps:,} (PPO stops only between rollouts)")
    return lines


def best_note(n_env_steps: int) -> Optional[str]:
    """A hint when best_model.zip is the untrained policy (no later evaluation beat the first)."""
    if n_env_steps == 0:
        return "the untrained policy scored best: best_model.zip is the initial policy, no later evaluation beat it"
    return None


def run(cfg: Config, run_dir: Path, *, resume: bool = False) -> dict[str, Any]:
    """Train PPO to the budget in whole rollouts, evaluating and checkpointing on rollout boundaries.

    Evaluations and checkpoints happen where SB3 calls `_on_rollout_start`, i.e. after `train()`
    ran on the previous rollout: the row at N env steps scores the policy trained on N steps, and
    a checkpoint at N holds everything the next rollout starts from. A stop request ends the
    current rollout early, discards it (no update was made from it), rewinds the normalisation
    statistics and random states to the last boundary and checkpoints there, so a resumed run
    makes the same updates at the same step counts as an uninterrupted one.
    """
    from stable_baselines3.common.callbacks import BaseCallback

    setup_torch()
    ecfg = cfg.expert
    budget, rollout = cfg.expert_budget, cfg.expert_steps_per_rollout
    checkpoint = latest_checkpoint(run_dir) if resume else None
    state = read_state(checkpoint) if checkpoint else {"n_env_steps": 0, "wall_s": 0.0}
    start = int(state["n_env_steps"])
    # Resumed envs start fresh episodes from a seed of their own (env states are not checkpointed).
    venv = make_venv(cfg.expert_env, seed=cfg.seed + start)
    normalizing = ecfg.normalize_obs or ecfg.normalize_reward
    vec = wrap_normalize(venv, cfg) if normalizing else None
    if vec is not None:
        venv = vec
    eval_venv = make_venv(cfg.env, seed=cfg.seed + EVAL_SEED_OFFSET + start, n_envs=min(ecfg.eval_episodes, cfg.expert_env.n_envs))
    for line in budget_lines(cfg):
        console.print(line)
    if checkpoint:
        model = load_ppo(checkpoint / "model.zip", venv, env_id=cfg.env.id, ppo=ecfg.ppo, seed=cfg.seed)
        restore_from_checkpoint(vec, checkpoint, setting="expert.normalize_obs and expert.normalize_reward")
        restore_trained_policy(model, checkpoint)
        model.num_timesteps = start
        # SB3 counts its gradient epochs in `_n_updates` (logged as train/n_updates) and offers no setter.
        model._n_updates = int(state.get("n_updates", 0))
        restore_rng(state["rng"])
        dropped = truncate_metrics_after(run_dir, key="n_env_steps", last=start)
        console.print(f"resuming {run_dir.name} from {checkpoint.name} ({start} env steps; {dropped} later metric rows dropped)")
        if start % rollout and start < budget:  # only an older gailctl checkpointed mid-rollout
            end = start + -(-(budget - start) // rollout) * rollout
            console.print(f"[yellow]warning:[/] {checkpoint.name} is not on a rollout boundary (written by an older "
                          f"gailctl): whole rollouts from it end at {end:,} env steps, not {budget:,}")
    else:
        if resume:
            truncate_metrics_after(run_dir, key="n_env_steps", last=-1)
        model = build_ppo(venv, ecfg.ppo, seed=cfg.seed)
    if ecfg.normalize_obs:
        try:  # refuse now a policy that cannot be folded, not after training it
            first_layers(model.policy.state_dict())
        except ValueError as exc:
            raise UsageError(f"expert.normalize_obs = true: {exc}") from None
    prior = [r for r in read_metrics(run_dir)] if resume else []
    best = max(({"return_mean": float(r["return_mean"]), "n_env_steps": int(r["n_env_steps"])} for r in prior),
               key=lambda b: b["return_mean"], default={"return_mean": -math.inf, "n_env_steps": 0})
    last: dict[str, Any] = dict(prior[-1]) if prior else {}
    t0 = run_clock_start(run_dir)  # one clock over every invocation, as summary.json's wall_s
    next_eval = [next_multiple(start, ecfg.eval_every)]
    next_ckpt = [next_multiple(start, ecfg.checkpoint_every)]

    behind_vecnormalize = vec is not None  # saved zips take raw observations all the same (raw_obs_weights)

    def evaluate_now(writer: MetricsWriter, n_steps: int) -> dict[str, Any]:
        # The folded policy on raw eval envs: the score is that of the zip we would save, in true returns.
        with raw_obs_weights(model, vec):
            score = evaluate(model, eval_venv, n_episodes=ecfg.eval_episodes, deterministic=ecfg.eval_deterministic)
            row = {"n_env_steps": n_steps, "wall_s": round(time.monotonic() - t0, 3), **score.as_row(cfg.references)}
            writer.write(row)
            if row["return_mean"] > best["return_mean"]:
                best.update(return_mean=row["return_mean"], n_env_steps=n_steps)
                save_zip(model, run_dir / "best_model.zip", raw_obs=behind_vecnormalize)
        return row

    def checkpoint_now(n_steps: int) -> None:
        write_checkpoint(
            run_dir / "checkpoints" / f"step_{n_steps:09d}",
            lambda tmp: save_policy_checkpoint(model, vec, tmp, zip_name="model.zip"),
            {"n_env_steps": n_steps, "wall_s": time.monotonic() - t0, "n_updates": int(model._n_updates)},
        )

    def at_boundary(writer: MetricsWriter, n: int, *, final: bool) -> None:
        """Evaluate and checkpoint as due at a rollout boundary (always both at the end of the budget)."""
        if n >= next_eval[0] or (final and int(last.get("n_env_steps", -1)) != n):
            next_eval[0] = next_multiple(n, ecfg.eval_every)
            last.update(evaluate_now(writer, n))
        if n >= next_ckpt[0] or final:
            next_ckpt[0] = next_multiple(n, ecfg.checkpoint_every)
            checkpoint_now(n)

    class RolloutBoundaries(BaseCallback):
        def __init__(self, writer: MetricsWriter, bar: Any, stop: Any):
            super().__init__()
            self.writer, self.bar, self.stop = writer, bar, stop
            self.boundary = start
            self.snapshot: dict[str, Any] = {}
            self.cut = False  # a rollout ended early by a stop request: SB3 skips its update

        def _on_rollout_start(self) -> None:  # after train() on the previous rollout
            n = self.num_timesteps
            if n > start:
                self.bar.update(n, latest=f"return {float(last['return_mean']):.1f}" if last else None)
                at_boundary(self.writer, n, final=False)
            self.boundary, self.cut = n, True
            self.snapshot = {"rng": capture_rng(), "vecnormalize": vecnormalize_payload(vec) if vec is not None else None}

        def _on_step(self) -> bool:
            return not self.stop.requested

        def _on_rollout_end(self) -> None:  # not called for a rollout cut short
            self.cut = False
            self.bar.update(self.num_timesteps)

        def rewind(self) -> int:
            """Back to the last boundary: the partial rollout's statistics and random draws undone."""
            restore_rng(self.snapshot["rng"])
            if vec is not None:
                restore_vecnormalize(vec, self.snapshot["vecnormalize"])
            model.num_timesteps = self.boundary
            return self.boundary

    with graceful_stop() as stop, MetricsWriter(run_dir, columns=COLUMNS) as writer, progress_bar("expert", budget) as bar:
        bar.update(start)
        if checkpoint is None:
            last.update(evaluate_now(writer, 0))
        callback = RolloutBoundaries(writer, bar, stop)
        if start < budget:
            model.learn(total_timesteps=budget - start, callback=callback, reset_num_timesteps=False)
        if stop.requested and callback.cut:  # (a stop during the last update just lets the run finish)
            n = callback.rewind()
            if not (run_dir / "checkpoints" / f"step_{n:09d}" / "state.pt").is_file():
                checkpoint_now(n)
            raise Interrupted(resume_hint("expert", run_dir, n))
        at_boundary(writer, model.num_timesteps, final=True)
        bar.update(model.num_timesteps, latest=f"return {float(last['return_mean']):.1f}")
    with raw_obs_weights(model, vec):
        save_zip(model, run_dir / "model.zip", raw_obs=behind_vecnormalize)
    best_summary: dict[str, Any] = {"return_mean": best["return_mean"], "n_env_steps": best["n_env_steps"]}
    if best_note(best["n_env_steps"]):
        best_summary["note"] = best_note(best["n_env_steps"])
    summary: dict[str, Any] = {
        "n_env_steps": int(model.num_timesteps),
        "n_rollouts": int(model.num_timesteps) // rollout,
        "steps_per_rollout": rollout,
        "n_updates": int(model._n_updates),
        "final": {k: float(last[k]) for k in COLUMNS[2:]},
        "best": best_summary,
        "eval_episodes": ecfg.eval_episodes,
        "eval_deterministic": ecfg.eval_deterministic,
        "artifacts": {"model": "model.zip", "best_model": "best_model.zip"},
    }
    if vec is not None:
        summary["normalization"] = {"obs": ecfg.normalize_obs, "reward": ecfg.normalize_reward,
                                    "note": normalization_note(obs=ecfg.normalize_obs, reward=ecfg.normalize_reward)}
    return summary
