"""bench's throughput measurement compares like with like: GAIL's generator and plain PPO."""

from __future__ import annotations

from pathlib import Path

import pytest

from gailctl.core.config_load import load_config
from gailctl.rl.gail.trainer import generator_normalizer
from gailctl.rl.env.make import make_venv

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
    from gailctl.experiments import throughput

    seen: list[list[str]] = []

    def loaded(path: Path, overrides: list[str]) -> None:
        seen.append(overrides)
        raise RuntimeError("stop here")

    monkeypatch.setattr(throughput, "load_config", loaded)
    with pytest.raises(RuntimeError, match="stop here"):
        throughput.measure_throughput(ROOT / "configs/walker2d.yaml", ["gail.value_warmup_rounds=10"])
    assert seen[0][-1] == "gail.value_warmup_rounds=0"


def test_a_cloned_generator_is_measured_from_the_same_clone_on_both_sides(monkeypatch: pytest.MonkeyPatch) -> None:
    """With gail.bc_init_epochs plain PPO and GAIL both start from the stage's clone: same weights, same statistics."""
    import numpy as np
    import torch

    from gailctl.experiments import throughput

    starts: list[tuple] = []
    original = throughput._plain_ppo

    def plain_ppo(cfg, kept, *, like):  # noqa: ANN001, ANN202
        ppo = original(cfg, kept, like=like)

        def weights(policy):  # noqa: ANN001, ANN202  (copies: both train on afterwards)
            return {k: v.clone() for k, v in policy.state_dict().items()}

        starts.append((weights(like.gen.policy), weights(ppo.policy), like.vec.obs_rms, ppo.get_env().obs_rms))
        return ppo

    monkeypatch.setattr(throughput, "_plain_ppo", plain_ppo)
    monkeypatch.setattr(throughput, "THROUGHPUT_STEPS", 1)  # the 5-round minimum
    result = throughput.measure_throughput(ROOT / "configs/mountaincar.yaml",
                                      ["env.n_envs=2", "gail.ppo.n_steps=16", "gail.ppo.batch_size=16",
                                       "gail.normalize_obs=true", "gail.bc_init_epochs=2"], repeats=1)
    assert result["env_steps"] == 5 * 32
    (gen, ppo, gen_rms, ppo_rms), = starts
    assert gen.keys() == ppo.keys()
    assert all(torch.equal(gen[k], ppo[k]) for k in gen)
    assert ppo_rms is not gen_rms and ppo_rms.count == gen_rms.count > 1
    np.testing.assert_array_equal(ppo_rms.mean, gen_rms.mean)


def test_ppo_and_gail_rounds_take_turns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Round by round, so a drift in the machine's speed slows both sides alike; one learn() per PPO round."""
    from gailctl.experiments import throughput
    from gailctl.rl.gail.learner import GailLearner

    order: list[str] = []
    plain, train_round = throughput._plain_ppo, GailLearner.train_round

    def plain_ppo(cfg, kept, *, like):  # noqa: ANN001, ANN202
        ppo = plain(cfg, kept, like=like)
        learn = ppo.learn

        def one_round(total_timesteps, **kwargs):  # noqa: ANN001, ANN003, ANN202
            order.append(f"ppo {total_timesteps}")
            return learn(total_timesteps, **kwargs)

        ppo.learn = one_round
        return ppo

    def one_gail_round(self, n_rounds):  # noqa: ANN001, ANN202
        order.append("gail")
        return train_round(self, n_rounds)

    monkeypatch.setattr(throughput, "_plain_ppo", plain_ppo)
    monkeypatch.setattr(GailLearner, "train_round", one_gail_round)
    monkeypatch.setattr(throughput, "THROUGHPUT_STEPS", 1)
    result = throughput.measure_throughput(ROOT / "configs/cartpole.yaml",
                                      ["env.n_envs=2", "gail.ppo.n_steps=16", "gail.ppo.batch_size=16"], repeats=2)
    assert order == ["ppo 32", "gail"] * 10
    assert result["ppo_s"] > 0 and result["gail_generator_s"] > 0 and result["gail_discriminator_s"] > 0
