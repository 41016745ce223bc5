"""`gailctl bc`: behavioural cloning on the same demonstrations, the baseline GAIL is judged against."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from gailctl.config import Config, PPOConfig
from gailctl.envs import EVAL_SEED_OFFSET, make_venv
from gailctl.evaluation import evaluate
from gailctl.metrics import MetricsWriter
from gailctl.policies import build_ppo
from gailctl.stages import setup_torch
from gailctl.stages.expert import save_zip
from gailctl.stages.gail import check_demos_fit, load_demos
from gailctl.ui import progress_bar

COLUMNS = ["epoch", "n_env_steps", "wall_s", "bc_loss", "return_mean", "return_std", "return_min", "episode_len_mean", "normalized_score"]


def run(cfg: Config, run_dir: Path, *, demos_dir: Path) -> dict[str, Any]:
    """Train imitation's BC on a fresh PPO MlpPolicy, so the result is an ordinary SB3 zip."""
    from imitation.algorithms import bc
    from imitation.data.rollout import flatten_trajectories
    from imitation.util import logger as imit_logger

    setup_torch()
    b = cfg.bc
    trajs = load_demos(demos_dir, n_demos=b.n_demos or cfg.gail.n_demos)
    venv = make_venv(cfg.env, seed=cfg.seed)
    check_demos_fit(trajs, venv, cfg, demos_dir, batch_size=b.batch_size, batch_key="bc.batch_size",
                    need_fixed_horizon=False)  # episode ends leak nothing to a supervised learner
    eval_venv = make_venv(cfg.env, seed=cfg.seed + EVAL_SEED_OFFSET, n_envs=min(b.eval_episodes, cfg.env.n_envs))
    # A PPO shell gives the policy SB3's MlpPolicy layout and, later, a zip eval can load.
    model = build_ppo(venv, PPOConfig(net_arch=b.net_arch), seed=cfg.seed)
    trainer = bc.BC(
        observation_space=venv.observation_space,
        action_space=venv.action_space,
        rng=np.random.default_rng(cfg.seed),
        policy=model.policy,
        demonstrations=flatten_trajectories(trajs),
        batch_size=b.batch_size,
        optimizer_kwargs={"lr": b.learning_rate},
        ent_weight=b.ent_weight,
        l2_weight=b.l2_weight,
        device="cpu",
        custom_logger=imit_logger.configure(run_dir / "imitation", ["csv"]),
    )
    t0 = time.monotonic()
    losses: list[float] = []
    with MetricsWriter(run_dir, columns=COLUMNS) as writer, progress_bar("bc epochs", b.n_epochs) as bar:
        epoch = [0]

        def on_epoch_end() -> None:
            epoch[0] += 1
            loss = trainer.logger.default_logger.name_to_value.get("bc/loss", float("nan"))
            losses.append(float(loss))
            bar.update(epoch[0])

        with warnings.catch_warnings():
            # imitation 1.0.1 logs its BC statistics with `float(tensor)` on tensors that still
            # require grad, and torch warns about it on every run; the values logged are right.
            warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad=True to a scalar",
                                    category=UserWarning)
            trainer.train(n_epochs=b.n_epochs, on_epoch_end=on_epoch_end, progress_bar=False, log_interval=10**9)
        score = evaluate(model, eval_venv, n_episodes=b.eval_episodes, deterministic=b.eval_deterministic)
        row = {"epoch": b.n_epochs, "n_env_steps": 0, "wall_s": round(time.monotonic() - t0, 3),
               "bc_loss": losses[-1] if losses else float("nan"), **score.as_row(cfg.references)}
        writer.write(row)
        bar.update(b.n_epochs, latest=f"return {score.return_mean:.1f}")
    save_zip(model, run_dir / "policy.zip")
    return {
        "demos": str(demos_dir),
        "n_demo_trajectories": len(trajs),
        "n_env_steps": 0,
        "final": {k: row[k] for k in ("return_mean", "return_std", "return_min", "normalized_score")},
        "eval_episodes": b.eval_episodes,
        "eval_deterministic": b.eval_deterministic,
        "artifacts": {"policy": "policy.zip"},
    }
