"""`gailctl.rl.compat`: the one version check in front of every private touch of stable-baselines3 and imitation."""

from __future__ import annotations

from importlib import metadata

import pytest

from gailctl.core.errors import GailctlError
from gailctl.rl import compat


def test_the_installed_releases_are_the_tested_ones():
    compat.check_versions.cache_clear()
    compat.check_versions()  # the project's pins and compat.TESTED agree
    assert {d: metadata.version(d) for d in compat.TESTED} == compat.TESTED


def test_an_untested_release_is_refused_with_the_install_that_works(monkeypatch: pytest.MonkeyPatch):
    real = metadata.version
    monkeypatch.setattr(metadata, "version", lambda dist: "1.1.0" if dist == "imitation" else real(dist))
    compat.check_versions.cache_clear()
    try:
        with pytest.raises(GailctlError, match=r"imitation 1\.1\.0 is installed.*pip install 'imitation==1\.0\.1'"):
            compat.check_versions()
    finally:
        compat.check_versions.cache_clear()


def test_n_updates_round_trips_on_a_real_ppo():
    from stable_baselines3 import PPO

    from gailctl.core.config import EnvConfig
    from gailctl.rl.env.make import make_venv

    venv = make_venv(EnvConfig(id="seals/CartPole-v0", n_envs=1), seed=0)
    model = PPO("MlpPolicy", venv, n_steps=16, batch_size=16, n_epochs=2, policy_kwargs={"net_arch": [8]}, device="cpu")
    model.learn(16)
    assert compat.n_updates(model) == 2
    compat.set_n_updates(model, 7)
    assert compat.n_updates(model) == 7
    last_obs, starts = compat.rollout_end(model)
    assert last_obs.shape == (1, 4) and starts.shape == (1,)
    venv.close()
