"""`gail.bc_init_std`: a cloned generator's action spread is set once BC is done, its means untouched."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from gailctl.core.config_load import load_config
from gailctl.core.errors import ConfigError, UsageError

ROOT = Path(__file__).resolve().parents[2]
TINY = ["env.n_envs=2", "gail.ppo.n_steps=64", "gail.ppo.batch_size=64", "gail.n_demos=2", "gail.bc_init_epochs=3",
        "gail.subsample_every=1", "gail.demo_batch_size=64", "gail.ppo.use_sde=false",
        "bc.batch_size=64"]


def _learner(tmp_path: Path, gail_learner, overrides: list[str]):
    from gailctl.rl.demos import load_demos
    from gailctl.rl.torch_setup import setup_torch

    setup_torch()
    cfg = load_config(ROOT / "configs/pendulum.yaml", [*TINY, *overrides])
    trajs = load_demos(ROOT / "experts/pendulum/demos", n_demos=cfg.gail.n_demos)
    return gail_learner(cfg, trajs, tmp_path / "log")


def test_the_clone_keeps_its_means_and_gets_the_configured_spread(tmp_path: Path, gail_learner) -> None:
    import torch as th

    kept = _learner(tmp_path / "a", gail_learner, [])
    spread = _learner(tmp_path / "b", gail_learner, ["gail.bc_init_std=0.3"])
    assert not np.allclose(kept.gen.policy.log_std.detach().numpy(), math.log(0.3))
    np.testing.assert_allclose(spread.gen.policy.log_std.detach().numpy(), math.log(0.3), rtol=1e-6)
    obs = th.as_tensor(np.random.default_rng(0).normal(size=(16, 3)), dtype=th.float32)
    with th.no_grad():  # the same seed and data: the same cloned means
        np.testing.assert_allclose(spread.gen.policy.get_distribution(obs).distribution.mean.numpy(),
                                   kept.gen.policy.get_distribution(obs).distribution.mean.numpy(), rtol=1e-5)


def test_a_spread_without_a_clone_or_with_gsde_is_refused() -> None:
    with pytest.raises(ConfigError, match="gail.bc_init_std = 0.3: needs gail.bc_init_epochs > 0"):
        load_config(ROOT / "configs/pendulum.yaml", ["gail.bc_init_std=0.3", "gail.bc_init_epochs=0"])
    with pytest.raises(ConfigError, match="gail.bc_init_std"):
        load_config(ROOT / "configs/pendulum.yaml", ["gail.bc_init_std=0.3", "gail.bc_init_epochs=5", "gail.ppo.use_sde=true"])


def test_discrete_actions_have_no_spread_to_set() -> None:
    from gailctl.core.config import EnvConfig, PPOConfig
    from gailctl.rl.cloning import set_action_std
    from gailctl.rl.env.make import make_venv
    from gailctl.rl.policies import build_ppo

    venv = make_venv(EnvConfig(id="seals/CartPole-v0", n_envs=1), seed=0)
    with pytest.raises(UsageError, match="gail.bc_init_std = 0.5: needs continuous"):
        set_action_std(build_ppo(venv, PPOConfig(), seed=0).policy, 0.5)
