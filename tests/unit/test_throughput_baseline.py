"""bench's throughput measurement compares like with like: GAIL's generator and plain PPO."""

from __future__ import annotations

from pathlib import Path

import pytest

from gailctl.core.config_load import load_config
from gailctl.rl.adversarial import generator_normalizer
from gailctl.rl.envs import make_venv

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("epochs", "updates"), [(0, True), (20, False)])
def test_statistics_update_unless_the_generator_is_cloned(epochs: int, updates: bool) -> None:
    cfg = load_config(ROOT / "configs/mountaincar.yaml", ["env.n_envs=2", "gail.normalize_obs=true",
                                                         f"gail.bc_init_epochs={epochs}"])
    vec = generator_normalizer(make_venv(cfg.env, seed=0), cfg.gail)
    vec.reset()
    for _ in range(5):
        vec.step([vec.action_space.sample()] * 2)
    assert vec.training is updates
    # reset and 5 steps of 2 envs: 12 observations counted when the statistics update
    assert vec.obs_rms.count == (pytest.approx(12, abs=1e-3) if updates else pytest.approx(1e-4))
    assert not vec.norm_reward and vec.gamma == cfg.gail.ppo.gamma


def test_throughput_measures_steady_state_rounds_without_a_value_warmup(monkeypatch: pytest.MonkeyPatch) -> None:
    """Warm-up rounds skip the policy's gradients: measured, they would flatter GAIL against PPO."""
    from gailctl.experiments import bench

    seen: list[list[str]] = []

    def loaded(path: Path, overrides: list[str]) -> None:
        seen.append(overrides)
        raise RuntimeError("stop here")

    monkeypatch.setattr(bench, "load_config", loaded)
    with pytest.raises(RuntimeError, match="stop here"):
        bench.measure_throughput(ROOT / "configs/walker2d.yaml", ["gail.value_warmup_rounds=10"])
    assert seen[0][-1] == "gail.value_warmup_rounds=0"
