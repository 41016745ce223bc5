"""gailctl.rl.env.normalize: a folded policy on raw observations acts as the trained one on normalised ones.

Tiny policies only (ActorCriticPolicy built from spaces, no env, no training).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("stable_baselines3")
from gymnasium import spaces  # noqa: E402
from stable_baselines3.common.policies import ActorCriticPolicy  # noqa: E402
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize  # noqa: E402

from gailctl.rl.env.normalize import (  # noqa: E402
    VECNORMALIZE_FORMAT,
    first_layers,
    fold_obs_normalization,
    restore_vecnormalize,
    vecnormalize_payload,
)
from gailctl.core.torch_files import read_torch_payload, torch_save  # noqa: E402

OBS = spaces.Box(-np.inf, np.inf, shape=(5,), dtype=np.float32)
CLIP = 10.0  # VecNormalize's default clip_obs
EPS = 1e-8


def policy(action_space, **kwargs) -> ActorCriticPolicy:
    torch.manual_seed(0)
    kwargs.setdefault("net_arch", [8, 8])
    return ActorCriticPolicy(kwargs.pop("observation_space", OBS), action_space, lambda _: 1e-3, **kwargs)


def stats(shape=(5,), seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Means far from 0 and variances from 1e-2 to 1e2: folding must not rely on either being trivial."""
    rng = np.random.default_rng(seed)
    return rng.normal(0, 20, size=shape), 10.0 ** rng.uniform(-2, 2, size=shape)


def raw_batch(mean: np.ndarray, var: np.ndarray, n: int = 256) -> np.ndarray:
    """Raw observations within the clip range: |(x - mean) / sigma| < 10 for every entry."""
    rng = np.random.default_rng(2)
    z = rng.uniform(-0.99 * CLIP, 0.99 * CLIP, size=(n, *mean.shape))
    return (mean + z * np.sqrt(var + EPS)).astype(np.float32)


def outputs(pol: ActorCriticPolicy, obs: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """(distribution parameters: mean action or logits, value) for a batch of observations."""
    with torch.no_grad():
        x = torch.as_tensor(obs, dtype=torch.float32)
        dist = pol.get_distribution(x).distribution
        head = dist.logits if hasattr(dist, "logits") else dist.mean
        return head, pol.predict_values(x)


def normalised(obs: np.ndarray, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """What VecNormalize feeds the policy during training."""
    return np.clip((obs - mean) / np.sqrt(var + EPS), -CLIP, CLIP).astype(np.float32)


CASES = [
    pytest.param(spaces.Box(-2, 2, shape=(2,)), {}, id="continuous"),
    pytest.param(spaces.Discrete(3), {}, id="discrete"),
    pytest.param(spaces.Box(-2, 2, shape=(2,)), {"net_arch": dict(pi=[6], vf=[4, 4]), "activation_fn": torch.nn.ReLU}, id="pi-vf-differ"),
    pytest.param(spaces.Box(-2, 2, shape=(2,)), {"use_sde": True}, id="gsde"),
    pytest.param(spaces.Discrete(3), {"net_arch": []}, id="no-hidden-layers"),
]


@pytest.mark.parametrize("action_space, kwargs", CASES)
def test_folded_policy_on_raw_obs_matches_trained_policy_on_normalised_obs(action_space, kwargs):
    trained = policy(action_space, **kwargs)
    mean, var = stats()
    folded = policy(action_space, **kwargs)
    folded.load_state_dict(fold_obs_normalization(trained.state_dict(), mean, var, EPS))
    raw = raw_batch(mean, var)
    want_head, want_value = outputs(trained, normalised(raw, mean, var))
    got_head, got_value = outputs(folded, raw)
    assert torch.allclose(got_head, want_head, atol=1e-4, rtol=1e-4)
    assert torch.allclose(got_value, want_value, atol=1e-4, rtol=1e-4)


def test_multidimensional_box_is_folded_in_flatten_order():
    space = spaces.Box(-np.inf, np.inf, shape=(2, 3), dtype=np.float32)
    trained = policy(spaces.Discrete(2), observation_space=space)
    mean, var = stats(shape=(2, 3))
    folded = policy(spaces.Discrete(2), observation_space=space)
    folded.load_state_dict(fold_obs_normalization(trained.state_dict(), mean, var, EPS))
    raw = raw_batch(mean, var, n=32)
    assert torch.allclose(outputs(folded, raw)[0], outputs(trained, normalised(raw, mean, var))[0], atol=1e-4, rtol=1e-4)


def test_clipping_is_the_one_difference():
    """Beyond clip_obs standard deviations the folded policy extrapolates; documented, not hidden."""
    trained = policy(spaces.Discrete(3))
    mean, var = np.zeros(5), np.ones(5)
    folded = policy(spaces.Discrete(3))
    folded.load_state_dict(fold_obs_normalization(trained.state_dict(), mean, var, EPS))
    far = np.full((1, 5), 50.0, dtype=np.float32)
    assert not torch.allclose(outputs(folded, far)[1], outputs(trained, normalised(far, mean, var))[1])


def test_fold_leaves_its_input_alone_and_touches_only_first_layers():
    trained = policy(spaces.Box(-1, 1, shape=(2,)))
    before = {k: v.clone() for k, v in trained.state_dict().items()}
    mean, var = stats()
    folded = fold_obs_normalization(trained.state_dict(), mean, var, EPS)
    assert all(torch.equal(before[k], v) for k, v in trained.state_dict().items())
    changed = {k for k in folded if not torch.equal(folded[k], before[k])}
    assert changed == {f"mlp_extractor.{b}_net.0.{p}" for b in ("policy", "value") for p in ("weight", "bias")}
    assert all(folded[k].dtype == before[k].dtype for k in folded)


def test_gsde_without_hidden_layers_is_refused():
    state = policy(spaces.Box(-1, 1, shape=(2,)), use_sde=True, net_arch=[]).state_dict()
    with pytest.raises(ValueError, match="gSDE"):
        first_layers(state)
    assert first_layers(policy(spaces.Box(-1, 1, shape=(2,)), net_arch=[]).state_dict()) == ["action_net", "value_net"]


def test_statistics_of_another_size_are_refused():
    state = policy(spaces.Discrete(2)).state_dict()
    with pytest.raises(ValueError, match="inputs"):
        fold_obs_normalization(state, np.zeros(4), np.ones(4), EPS)


# --- VecNormalize statistics as tensors ------------------------------------------------


def vecnormalize(**kwargs) -> VecNormalize:
    import gymnasium as gym

    return VecNormalize(DummyVecEnv([lambda: gym.make("Pendulum-v1")]), gamma=0.9, **kwargs)


def test_statistics_survive_a_weights_only_round_trip(tmp_path: Path):
    vec = vecnormalize()
    vec.obs_rms.mean, vec.obs_rms.var, vec.obs_rms.count = np.array([1.0, -2.0, 3.0]), np.array([0.5, 2.0, 9.0]), 123.0
    vec.ret_rms.mean, vec.ret_rms.var, vec.ret_rms.count = np.float64(4.0), np.float64(16.0), 77.0
    torch_save(vecnormalize_payload(vec), tmp_path / "vecnormalize.pt")
    payload = read_torch_payload(tmp_path / "vecnormalize.pt")  # weights_only=True
    assert payload["format"] == VECNORMALIZE_FORMAT and payload["gamma"] == pytest.approx(0.9)
    fresh = vecnormalize()
    restore_vecnormalize(fresh, payload)
    np.testing.assert_array_equal(fresh.obs_rms.mean, vec.obs_rms.mean)
    np.testing.assert_array_equal(fresh.obs_rms.var, vec.obs_rms.var)
    assert fresh.obs_rms.count == 123.0 and fresh.ret_rms.count == 77.0
    assert float(fresh.ret_rms.var) == 16.0 and fresh.obs_rms.mean.dtype == np.float64


def test_statistics_saved_with_other_settings_are_refused():
    saved = vecnormalize_payload(vecnormalize(norm_obs=False))
    assert saved["obs_rms"] is None
    with pytest.raises(ValueError, match="norm_obs"):
        restore_vecnormalize(vecnormalize(), saved)
    with pytest.raises(ValueError, match="format"):
        restore_vecnormalize(vecnormalize(), {"format": "something else"})
