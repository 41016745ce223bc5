"""`gailctl bc`: behavioural cloning on the same demonstrations, the baseline GAIL is judged against."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from gailctl.core.config import Config, PPOConfig
from gailctl.core.metrics import MetricsWriter
from gailctl.core.ui import progress_bar
from gailctl.rl.cloning import EpochLoss, bc_trainer, demo_normalizer, normalized_demos, quiet_bc_logger
from gailctl.rl.demos import check_demos_fit, load_demos
from gailctl.rl.envs import EVAL_SEED_OFFSET, make_venv
from gailctl.rl.evaluation import evaluate
from gailctl.rl.normalize import raw_obs_weights
from gailctl.rl.policies import build_ppo, save_zip
from gailctl.rl.subsample import demo_transitions
from gailctl.rl.torch_setup import setup_torch

COLUMNS = ["epoch", "n_env_steps", "wall_s", "bc_loss", "return_mean", "return_std", "return_min", "episode_len_mean", "normalized_score"]
NO_EVAL = {k: float("nan") for k in COLUMNS[4:]}
"""The evaluation columns of the epochs that end without one (only the last epoch is evaluated)."""


def run(cfg: Config, run_dir: Path, *, demos_dir: Path) -> dict[str, Any]:
    """Train imitation's BC on a fresh PPO MlpPolicy, so the result is an ordinary SB3 zip.

    With bc.normalize_obs the policy learns on demonstrations normalised by their own statistics;
    it is evaluated and saved with those folded into its first layers, so it takes raw observations.
    """
    setup_torch()
    b = cfg.bc
    trajs = load_demos(demos_dir, n_demos=b.n_demos or cfg.gail.n_demos)
    venv = make_venv(cfg.env, seed=cfg.seed)
    # gail.subsample_every: BC learns from exactly the transitions GAIL gets (the paper's baseline).
    demos = demo_transitions(trajs, every=cfg.gail.subsample_every, seed=cfg.seed)
    check_demos_fit(trajs, venv, cfg, demos_dir, batch_size=b.batch_size, batch_key="bc.batch_size",
                    need_fixed_horizon=False, n_transitions=len(demos))  # episode ends leak nothing to a supervised learner
    eval_venv = make_venv(cfg.env, seed=cfg.seed + EVAL_SEED_OFFSET, n_envs=min(b.eval_episodes, cfg.env.n_envs))
    # A PPO shell gives the policy SB3's MlpPolicy layout and, later, a zip eval can load.
    model = build_ppo(venv, PPOConfig(net_arch=b.net_arch), seed=cfg.seed)
    vec = demo_normalizer(venv) if b.normalize_obs else None
    trainer = bc_trainer(model.policy, normalized_demos(demos, vec), b, seed=cfg.seed, log_dir=run_dir / "imitation")
    epoch_loss = EpochLoss(trainer.loss_calculator)
    trainer.loss_calculator = epoch_loss
    t0 = time.monotonic()
    with MetricsWriter(run_dir, columns=COLUMNS, step_key="epoch") as writer, progress_bar("bc epochs", b.n_epochs) as bar:
        epoch = [0]
        last_loss = [float("nan")]

        def on_epoch_end() -> None:
            epoch[0] += 1
            last_loss[0] = epoch_loss.take()
            if epoch[0] < b.n_epochs:  # the last epoch's row waits for its evaluation
                writer.write({"epoch": epoch[0], "n_env_steps": 0, "wall_s": round(time.monotonic() - t0, 3),
                              "bc_loss": last_loss[0], **NO_EVAL})
            bar.update(epoch[0], latest=f"loss {last_loss[0]:.3f}")

        with quiet_bc_logger():
            trainer.train(n_epochs=b.n_epochs, on_epoch_end=on_epoch_end, progress_bar=False, log_interval=10**9)
        with raw_obs_weights(model, vec):
            score = evaluate(model, eval_venv, n_episodes=b.eval_episodes, deterministic=b.eval_deterministic)
        row = {"epoch": b.n_epochs, "n_env_steps": 0, "wall_s": round(time.monotonic() - t0, 3),
               "bc_loss": last_loss[0], **score.as_row(cfg.references)}
        writer.write(row)
        bar.update(b.n_epochs, latest=f"return {score.return_mean:.1f}")
    with raw_obs_weights(model, vec):  # built on the raw env, so SB3's data needs no "folded" marker
        save_zip(model, run_dir / "policy.zip")
    return {
        "demos": str(demos_dir),
        "n_demo_trajectories": len(trajs),
        "subsample_every": cfg.gail.subsample_every,
        "n_demo_transitions": len(demos),
        "normalize_obs": b.normalize_obs,
        "n_env_steps": 0,
        "final": {k: row[k] for k in ("return_mean", "return_std", "return_min", "normalized_score")},
        "bc_loss": row["bc_loss"],
        "eval_episodes": b.eval_episodes,
        "eval_deterministic": b.eval_deterministic,
        "artifacts": {"policy": "policy.zip"},
    }
