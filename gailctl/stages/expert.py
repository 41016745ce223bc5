"""`gailctl expert`: train a PPO expert with periodic evaluation and checkpoints."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from gailctl.checkpoints import latest_checkpoint, read_state, restore_rng, truncate_metrics_after, write_checkpoint
from gailctl.config import Config
from gailctl.envs import EVAL_SEED_OFFSET, make_venv
from gailctl.errors import Interrupted, UsageError
from gailctl.evaluation import evaluate
from gailctl.metrics import MetricsWriter, read_metrics
from gailctl.normalize import VECNORMALIZE_FILE, first_layers, raw_obs_weights, restore_from_checkpoint, vecnormalize_payload
from gailctl.policies import build_ppo, load_ppo, torch_save
from gailctl.runs import atomic_path
from gailctl.signals import graceful_stop
from gailctl.stages import resume_hint, run_clock_start, setup_torch
from gailctl.ui import console, progress_bar

COLUMNS = ["n_env_steps", "wall_s", "return_mean", "return_std", "return_min", "episode_len_mean", "normalized_score"]


def save_zip(model: Any, path: Path, *, raw_obs: bool = False) -> None:
    """SB3 zip written under a temporary name and renamed: never half a file.

    `raw_obs`: the model was trained behind VecNormalize, yet these weights take raw observations
    (statistics folded in by `raw_obs_weights`, or rewards only normalised). The zip then carries
    a marker saying so: SB3's own data still says "trained behind VecNormalize", and `gailctl
    record` would otherwise ask for the statistics.
    """
    with atomic_path(path) as tmp:
        model.save(tmp)
        if raw_obs:
            from gailctl.vecnorm_stats import mark_folded

            mark_folded(tmp)


def next_multiple(n: int, every: int) -> int:
    """The first multiple of `every` strictly after `n`: where the next eval/checkpoint falls."""
    return (n // every + 1) * every


def normalization_note(*, obs: bool, reward: bool) -> str:
    """What the summary says about a policy trained behind VecNormalize."""
    parts = [f"trained behind VecNormalize ({', '.join(k for k, on in (('observations', obs), ('rewards', reward)) if on)})"]
    if obs:
        parts.append("the observation statistics are folded into the first layers of model.zip and best_model.zip, "
                     "which take raw observations; checkpoints keep the unfolded model plus vecnormalize.pt for --resume")
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


def run(cfg: Config, run_dir: Path, *, resume: bool = False) -> dict[str, Any]:
    from stable_baselines3.common.callbacks import BaseCallback

    setup_torch()
    ecfg = cfg.expert
    checkpoint = latest_checkpoint(run_dir) if resume else None
    state = read_state(checkpoint) if checkpoint else {"n_env_steps": 0, "wall_s": 0.0}
    start = int(state["n_env_steps"])
    # Resumed envs start fresh episodes from a seed of their own (env states are not checkpointed).
    venv = make_venv(cfg.env, seed=cfg.seed + start)
    normalizing = ecfg.normalize_obs or ecfg.normalize_reward
    vec = wrap_normalize(venv, cfg) if normalizing else None
    if vec is not None:
        venv = vec
    eval_venv = make_venv(cfg.env, seed=cfg.seed + EVAL_SEED_OFFSET + start, n_envs=min(ecfg.eval_episodes, cfg.env.n_envs))
    if checkpoint:
        model = load_ppo(checkpoint / "model.zip", venv, env_id=cfg.env.id, ppo=ecfg.ppo, seed=cfg.seed)
        restore_from_checkpoint(vec, checkpoint, setting="expert.normalize_obs and expert.normalize_reward")
        model.num_timesteps = start
        restore_rng(state["rng"])
        dropped = truncate_metrics_after(run_dir, key="n_env_steps", last=start)
        console.print(f"resuming {run_dir.name} from {checkpoint.name} ({start} env steps; {dropped} later metric rows dropped)")
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

    def fill_checkpoint(tmp: Path) -> None:
        model.save(tmp / "model.zip")  # unfolded: --resume trains on from it
        if vec is not None:
            torch_save(vecnormalize_payload(vec), tmp / VECNORMALIZE_FILE)

    def checkpoint_now(n_steps: int) -> None:
        write_checkpoint(
            run_dir / "checkpoints" / f"step_{n_steps:09d}",
            fill_checkpoint,
            {"n_env_steps": n_steps, "wall_s": time.monotonic() - t0},
        )

    class EvalAndCheckpoint(BaseCallback):
        def __init__(self, writer: MetricsWriter, bar: Any, stop: Any):
            super().__init__()
            self.writer, self.bar, self.stop = writer, bar, stop
            self.next_eval = next_multiple(start, ecfg.eval_every)
            self.next_ckpt = next_multiple(start, ecfg.checkpoint_every)

        def _on_step(self) -> bool:
            n = self.num_timesteps
            if n >= self.next_eval:
                self.next_eval = next_multiple(n, ecfg.eval_every)
                last.update(evaluate_now(self.writer, n))
                self.bar.update(n, latest=f"return {float(last['return_mean']):.1f}")
            if n >= self.next_ckpt:
                self.next_ckpt = next_multiple(n, ecfg.checkpoint_every)
                checkpoint_now(n)
            return not self.stop.requested

        def _on_rollout_end(self) -> None:
            self.bar.update(self.num_timesteps)

    with graceful_stop() as stop, MetricsWriter(run_dir, columns=COLUMNS) as writer, progress_bar("expert", ecfg.total_timesteps) as bar:
        bar.update(start)
        if start == 0:
            last.update(evaluate_now(writer, 0))
        if start < ecfg.total_timesteps:
            model.learn(total_timesteps=ecfg.total_timesteps - start, callback=EvalAndCheckpoint(writer, bar, stop),
                        reset_num_timesteps=False)
        if stop.requested:
            checkpoint_now(model.num_timesteps)
            raise Interrupted(resume_hint("expert", run_dir, model.num_timesteps))
        if int(last.get("n_env_steps", -1)) != model.num_timesteps:
            last.update(evaluate_now(writer, model.num_timesteps))
        bar.update(model.num_timesteps, latest=f"return {float(last['return_mean']):.1f}")
    checkpoint_now(model.num_timesteps)
    with raw_obs_weights(model, vec):
        save_zip(model, run_dir / "model.zip", raw_obs=behind_vecnormalize)
    summary: dict[str, Any] = {
        "n_env_steps": int(model.num_timesteps),
        "final": {k: float(last[k]) for k in COLUMNS[2:]},
        "best": {"return_mean": best["return_mean"], "n_env_steps": best["n_env_steps"]},
        "eval_episodes": ecfg.eval_episodes,
        "eval_deterministic": ecfg.eval_deterministic,
        "artifacts": {"model": "model.zip", "best_model": "best_model.zip"},
    }
    if vec is not None:
        summary["normalization"] = {"obs": ecfg.normalize_obs, "reward": ecfg.normalize_reward, 
                                  "note": normalization_note(obs=ecfg.normalize_obs, reward=ecfg.normalize_reward)}
    return summary
