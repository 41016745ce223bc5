"""`gailctl expert`: train a PPO expert with periodic evaluation and checkpoints."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from gailctl.config import Config
from gailctl.envs import EVAL_SEED_OFFSET, make_venv
from gailctl.evaluation import evaluate
from gailctl.metrics import MetricsWriter
from gailctl.policies import build_ppo
from gailctl.runs import atomic_path
from gailctl.stages import setup_torch
from gailctl.ui import progress_bar

COLUMNS = ["n_env_steps", "wall_s", "return_mean", "return_std", "return_min", "episode_len_mean", "normalized_score"]


def save_zip(model: Any, path: Path) -> None:
    """SB3 zip written under a temporary name and renamed: never half a file."""
    with atomic_path(path) as tmp:
        model.save(tmp)


def run(cfg: Config, run_dir: Path) -> dict[str, Any]:
    from stable_baselines3.common.callbacks import BaseCallback

    setup_torch()
    ecfg = cfg.expert
    venv = make_venv(cfg.env, seed=cfg.seed)
    eval_venv = make_venv(cfg.env, seed=cfg.seed + EVAL_SEED_OFFSET, n_envs=min(ecfg.eval_episodes, cfg.env.n_envs))
    model = build_ppo(venv, ecfg.ppo, seed=cfg.seed)
    t0 = time.monotonic()
    best = {"return_mean": -math.inf, "n_env_steps": 0}
    last: dict[str, Any] = {}

    def evaluate_now(writer: MetricsWriter, n_steps: int) -> dict[str, Any]:
        score = evaluate(model, eval_venv, n_episodes=ecfg.eval_episodes, deterministic=ecfg.eval_deterministic)
        row = {"n_env_steps": n_steps, "wall_s": round(time.monotonic() - t0, 3), **score.as_row(cfg.references)}
        writer.write(row)
        if row["return_mean"] > best["return_mean"]:
            best.update(return_mean=row["return_mean"], n_env_steps=n_steps)
            save_zip(model, run_dir / "best_model.zip")
        return row

    class EvalAndCheckpoint(BaseCallback):
        def __init__(self, writer: MetricsWriter, bar: Any):
            super().__init__()
            self.writer, self.bar = writer, bar
            self.next_eval = ecfg.eval_every
            self.next_ckpt = ecfg.checkpoint_every

        def _on_step(self) -> bool:
            n = self.num_timesteps
            if n >= self.next_eval:
                self.next_eval += ecfg.eval_every
                last.update(evaluate_now(self.writer, n))
                self.bar.update(n, latest=f"return {last['return_mean']:.1f}")
            if n >= self.next_ckpt:
                self.next_ckpt += ecfg.checkpoint_every
                save_zip(model, run_dir / "checkpoints" / f"step_{n:09d}.zip")
            return True

        def _on_rollout_end(self) -> None:
            self.bar.update(self.num_timesteps)

    with MetricsWriter(run_dir, columns=COLUMNS) as writer, progress_bar("expert", ecfg.total_timesteps) as bar:
        last.update(evaluate_now(writer, 0))
        try:
            model.learn(total_timesteps=ecfg.total_timesteps, callback=EvalAndCheckpoint(writer, bar))
        except KeyboardInterrupt:
            save_zip(model, run_dir / "checkpoints" / f"step_{model.num_timesteps:09d}.zip")
            raise
        if last.get("n_env_steps") != model.num_timesteps:
            last.update(evaluate_now(writer, model.num_timesteps))
        bar.update(model.num_timesteps, latest=f"return {last['return_mean']:.1f}")
    save_zip(model, run_dir / "model.zip")
    return {
        "n_env_steps": int(model.num_timesteps),
        "final": {k: last[k] for k in COLUMNS[2:]},
        "best": {"return_mean": best["return_mean"], "n_env_steps": best["n_env_steps"]},
        "eval_episodes": ecfg.eval_episodes,
        "eval_deterministic": ecfg.eval_deterministic,
        "artifacts": {"model": "model.zip", "best_model": "best_model.zip"},
    }
