"""imitation's trainer as `GailLearner` builds it, from a whole config and trajectories (for tests that swap its parts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def build_trainer_for(cfg: Any, *, venv: Any, gen: Any, reward_net: Any, trajs: Any, log_dir: Path) -> Any:
    """`trainer.build_trainer` on `trajs` kept as gail.subsample_every says, batched in the learner's order."""
    import numpy as np

    from gailctl.rl.gail.batches import ExpertBatches
    from gailctl.rl.gail.trainer import build_trainer
    from gailctl.rl.subsample import demo_transitions

    demos = demo_transitions(trajs, every=cfg.gail.subsample_every, seed=cfg.seed)
    batches = ExpertBatches(demos, batch_size=cfg.gail.demo_batch_size, rng=np.random.default_rng(cfg.seed))
    return build_trainer(cfg.gail, allow_variable_horizon=cfg.env.allow_variable_horizon, venv=venv, gen=gen,
                         reward_net=reward_net, batches=batches, log_dir=log_dir)
