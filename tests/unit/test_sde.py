"""gSDE experts (rl-zoo's Pendulum PPO): refused on discrete actions, loaded faithfully, sampled as trained.

Tiny models (net_arch=[8]); the two trained ones see 256 Pendulum steps, a second or two each.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("stable_baselines3")
from stable_baselines3 import PPO  # noqa: E402
from stable_baselines3.common.vec_env import VecNormalize  # noqa: E402

from gailctl.core.config import EnvConfig, PPOConfig  # noqa: E402
from gailctl.rl.env.make import make_venv  # noqa: E402
from gailctl.core.errors import UsageError  # noqa: E402
from gailctl.rl.evaluation import SDENoise, evaluate  # noqa: E402
from gailctl.rl.policies import build_ppo, load_ppo  # noqa: E402
from gailctl.rl.env.normalize import raw_obs_weights  # noqa: E402
from gailctl.rl.policies import save_zip  # noqa: E402

PENDULUM = "Pendulum-v1"


def tiny_sde_ppo(venv, **policy_kwargs) -> PPO:
    policy_kwargs.setdefault("net_arch", [8])
    return PPO("MlpPolicy", venv, use_sde=True, sde_sample_freq=4, n_steps=64, batch_size=64, n_epochs=2,
               policy_kwargs=policy_kwargs, device="cpu", seed=1, verbose=0)


@pytest.fixture(scope="module")
def sde_zip(pendulum_venv, tmp_path_factory) -> tuple[PPO, Path]:
    """A gSDE PPO trained a little (so log_std has moved from its initial value), saved by SB3 itself."""
    model = tiny_sde_ppo(pendulum_venv).learn(256)
    path = tmp_path_factory.mktemp("sde") / "model.zip"
    model.save(path)
    return model, path


def obs_batch(n: int = 64) -> np.ndarray:
    """Pendulum observations: (cos, sin, angular velocity)."""
    rng = np.random.default_rng(0)
    theta, speed = rng.uniform(-np.pi, np.pi, n), rng.uniform(-8, 8, n)
    return np.stack([np.cos(theta), np.sin(theta), speed], axis=1).astype(np.float32)


def test_use_sde_on_discrete_actions_is_refused():
    venv = make_venv(EnvConfig(id="CartPole-v1", n_envs=1), seed=0)
    with pytest.raises(UsageError) as info:
        build_ppo(venv, PPOConfig(use_sde=True, net_arch=(8,)), seed=0)
    message = str(info.value)
    assert "ppo.use_sde" in message and "Discrete(2)" in message and "\n" not in message


def test_gsde_zip_loads_with_same_deterministic_actions(sde_zip, pendulum_venv):
    original, path = sde_zip
    loaded = load_ppo(path, pendulum_venv, env_id=PENDULUM)
    assert loaded.use_sde and loaded.sde_sample_freq == 4  # from the zip: no config was given
    assert loaded.policy.state_dict()["log_std"].shape == (8, 1)
    obs = obs_batch()
    want, _ = original.predict(obs, deterministic=True)
    got, _ = loaded.predict(obs, deterministic=True)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


def test_loaded_gsde_noise_uses_the_loaded_log_std(sde_zip, pendulum_venv):
    """SB3 draws the exploration matrix when it builds the policy (log_std = 0); loading must redraw it."""
    original, path = sde_zip
    loaded = load_ppo(path, pendulum_venv, env_id=PENDULUM)
    learned_std = torch.exp(original.policy.log_std.detach())
    assert not torch.allclose(learned_std, torch.ones_like(learned_std))  # training moved it
    assert torch.allclose(loaded.policy.action_dist.weights_dist.scale, learned_std)


def test_gsde_policy_options_are_kept(pendulum_venv, tmp_path):
    model = tiny_sde_ppo(pendulum_venv, full_std=False, use_expln=True, activation_fn=torch.nn.ReLU)
    model.save(tmp_path / "m.zip")
    loaded = load_ppo(tmp_path / "m.zip", pendulum_venv, env_id=PENDULUM)
    dist = loaded.policy.action_dist
    assert dist.use_expln and not dist.full_std
    obs = obs_batch()
    np.testing.assert_allclose(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0], atol=1e-6)


def test_config_without_sde_still_loads_a_gsde_zip(sde_zip, pendulum_venv):
    """The weights decide the policy class: a resumed or reused config cannot break loading."""
    _, path = sde_zip
    loaded = load_ppo(path, pendulum_venv, env_id=PENDULUM, ppo=PPOConfig(net_arch=(8,)))
    assert loaded.use_sde and loaded.sde_sample_freq == -1


def test_gsde_zip_refused_for_discrete_env(sde_zip):
    _, path = sde_zip
    venv = make_venv(EnvConfig(id="CartPole-v1", n_envs=1), seed=0)
    with pytest.raises(UsageError, match="does not match env"):
        load_ppo(path, venv, env_id="CartPole-v1")


def test_folded_vecnormalize_gsde_model_loads_and_acts_on_raw_obs(pendulum_venv, tmp_path):
    vec = VecNormalize(make_venv(EnvConfig(id=PENDULUM, n_envs=2), seed=0), gamma=0.9)
    model = tiny_sde_ppo(vec).learn(256)
    vec.training = False  # freeze the statistics while comparing
    with raw_obs_weights(model, vec):
        save_zip(model, tmp_path / "folded.zip")
    PPO.load(tmp_path / "folded.zip", device="cpu")  # a plain SB3 zip
    loaded = load_ppo(tmp_path / "folded.zip", pendulum_venv, env_id=PENDULUM)
    raw = obs_batch()
    want, _ = model.predict(vec.normalize_obs(raw), deterministic=True)  # the trained, unfolded weights are back
    got, _ = loaded.predict(raw, deterministic=True)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


def test_stochastic_gsde_redraws_noise_per_episode_and_restores_it(sde_zip, pendulum_venv):
    original, path = sde_zip
    model = load_ppo(path, pendulum_venv, env_id=PENDULUM)
    model.sde_sample_freq = -1  # redraw at episode starts only
    before = model.policy.action_dist.exploration_mat
    obs = obs_batch(2)
    with SDENoise.around(model, deterministic=False) as actor:
        assert isinstance(actor, SDENoise)
        actor.predict(obs, episode_start=np.array([True, True]))
        first = model.policy.action_dist.exploration_matrices.clone()
        actor.predict(obs, episode_start=np.array([False, False]))
        assert torch.equal(model.policy.action_dist.exploration_matrices, first)  # same episode, same noise
        actor.predict(obs, episode_start=np.array([False, True]))
        assert not torch.equal(model.policy.action_dist.exploration_matrices, first)
    assert model.policy.action_dist.exploration_mat is before
    with SDENoise.around(model, deterministic=True) as actor:
        assert actor is model
    score = evaluate(model, pendulum_venv, n_episodes=2, deterministic=False)
    assert score.returns.shape == (2,) and np.all(np.isfinite(score.returns))
    assert model.policy.action_dist.exploration_mat is before
