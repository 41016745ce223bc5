"""Fixtures shared by the test files: the repository's paths and a GAIL learner built as the gail stage builds it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pendulum_venv() -> Any:
    """Two Pendulum-v1 envs (continuous actions), shared by a test module."""
    from gailctl.core.config import EnvConfig
    from gailctl.rl.env.make import make_venv

    venv = make_venv(EnvConfig(id="Pendulum-v1", n_envs=2), seed=0)
    yield venv
    venv.close()


@pytest.fixture
def gail_learner() -> Callable[..., Any]:
    """`make(cfg, trajs, log_dir, venv=None)`: a fresh `GailLearner` from `cfg`, its demonstrations kept as
    gail.subsample_every says (what `gailctl gail` trains)."""

    def make(cfg: Any, trajs: Any, log_dir: Path, venv: Optional[Any] = None) -> Any:
        from gailctl.rl.env.make import make_venv
        from gailctl.rl.gail.learner import GailLearner
        from gailctl.rl.subsample import demo_transitions

        demos = demo_transitions(trajs, every=cfg.gail.subsample_every, seed=cfg.seed)
        return GailLearner.build(cfg.gail, env=cfg.env, bc=cfg.bc, seed=cfg.seed,
                                 venv=venv if venv is not None else make_venv(cfg.env, seed=cfg.seed), demos=demos,
                                 log_dir=log_dir)

    return make


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`-n` without a `--dist` mode of one's own: whole files to a worker, the Ray files together (tests/scheduling.py)."""
    if config.getvalue("dist") != "load":
        return None
    from tests.scheduling import make_scheduler

    return make_scheduler(config, log)
