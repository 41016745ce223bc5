"""The MuJoCo PPO keys (activation_fn, log_std_init, ortho_init, split net_arch): config -> policy -> zip -> safe load."""

from __future__ import annotations

import numpy as np
import pytest

from gailctl.core.config import NetArch, PPOConfig
from gailctl.core.config_load import config_from_dict
from gailctl.core.errors import ConfigError

torch = pytest.importorskip("torch")
from stable_baselines3 import PPO  # noqa: E402

from gailctl.core.config import EnvConfig  # noqa: E402
from gailctl.rl.env.make import make_venv  # noqa: E402
from gailctl.rl.policies import build_ppo, load_ppo  # noqa: E402

# rl-zoo's hyperparams/ppo.yml for the MuJoCo tasks, in gailctl's keys (tiny layers).
MUJOCO_STYLE = {"n_steps": 16, "batch_size": 16, "activation_fn": "relu", "log_std_init": -2.0, "ortho_init": False,
                "net_arch": {"pi": [8, 6], "vf": [5]}}


def layers(model: PPO) -> tuple[list[int], list[int], set[str]]:
    ext = model.policy.mlp_extractor
    pi = [m.out_features for m in ext.policy_net if isinstance(m, torch.nn.Linear)]
    vf = [m.out_features for m in ext.value_net if isinstance(m, torch.nn.Linear)]
    acts = {type(m).__name__ for m in [*ext.policy_net, *ext.value_net] if not isinstance(m, torch.nn.Linear)}
    return pi, vf, acts


def test_config_accepts_the_keys_in_both_net_arch_forms():
    cfg = config_from_dict({"expert": {"ppo": MUJOCO_STYLE}, "gail": {"ppo": {"net_arch": [32, 32], "activation_fn": "tanh"}}},
                           source="c.yaml")
    assert cfg.expert.ppo.net_arch == NetArch(pi=(8, 6), vf=(5,))
    assert (cfg.expert.ppo.activation_fn, cfg.expert.ppo.log_std_init, cfg.expert.ppo.ortho_init) == ("relu", -2.0, False)
    assert cfg.gail.ppo.net_arch == (32, 32)
    assert PPOConfig().activation_fn == "tanh" and PPOConfig().log_std_init == 0.0 and PPOConfig().ortho_init is True


@pytest.mark.parametrize("ppo, fragment", [
    ({"activation_fn": "gelu"}, "c.yaml: expert.ppo.activation_fn = gelu: input should be 'tanh' or 'relu'"),
    ({"net_arch": {"pi": [8]}}, "c.yaml: expert.ppo.net_arch.vf: missing (a required key)"),
    ({"net_arch": {"pi": [8], "vf": [8], "qf": [8]}}, "c.yaml: expert.ppo.net_arch.qf: unknown key; expected one of: pi, vf"),
    ({"net_arch": {"pi": [0], "vf": [8]}}, "c.yaml: expert.ppo.net_arch.pi.0 = 0: input should be greater than 0"),
    ({"net_arch": 64}, "c.yaml: expert.ppo.net_arch = 64: input should be a valid tuple"),
    ({"ortho_init": "maybe"}, "c.yaml: expert.ppo.ortho_init = maybe:"),
    ({"log_std_init": "low"}, "c.yaml: expert.ppo.log_std_init = low:"),
])
def test_bad_values_name_the_key(ppo, fragment):
    with pytest.raises(ConfigError) as info:
        config_from_dict({"expert": {"ppo": ppo}}, source="c.yaml")
    assert str(info.value).startswith(fragment), str(info.value)


def test_build_ppo_applies_the_keys(pendulum_venv):
    model = build_ppo(pendulum_venv, PPOConfig(**MUJOCO_STYLE), seed=0)
    assert layers(model) == ([8, 6], [5], {"ReLU"})
    assert torch.allclose(model.policy.log_std, torch.full((1,), -2.0))
    assert model.policy.ortho_init is False
    default = build_ppo(pendulum_venv, PPOConfig(n_steps=16, batch_size=16, net_arch=(8,)), seed=0)
    assert layers(default) == ([8], [8], {"Tanh"}) and default.policy.ortho_init is True
    assert torch.allclose(default.policy.log_std, torch.zeros(1))


def test_ortho_init_off_keeps_pytorch_default_init(pendulum_venv):
    """Orthogonal init makes each hidden weight matrix's rows orthonormal times gain sqrt(2); PyTorch's does not."""
    def gram_error(model):
        w = model.policy.mlp_extractor.policy_net[0].weight.detach()  # (8, 3): rows orthogonal when ortho_init
        gram = w @ w.T
        return float((gram - torch.diag(torch.diag(gram))).abs().max())

    on = build_ppo(pendulum_venv, PPOConfig(n_steps=16, batch_size=16, net_arch=(3,)), seed=0)
    off = build_ppo(pendulum_venv, PPOConfig(n_steps=16, batch_size=16, net_arch=(3,), ortho_init=False), seed=0)
    assert gram_error(on) < 1e-5 < gram_error(off)


def test_zip_round_trip_safe_load_and_plain_load_act_identically(tmp_path, pendulum_venv):
    cfg = PPOConfig(**MUJOCO_STYLE)
    model = build_ppo(pendulum_venv, cfg, seed=0)
    with torch.no_grad():  # move every weight off its initial value, so a rebuild from init alone cannot pass
        for p in model.policy.parameters():
            p.add_(0.1 * torch.randn_like(p))
    model.save(tmp_path / "model.zip")
    obs = np.random.default_rng(0).uniform(-1, 1, size=(64, 3)).astype(np.float32)
    want, _ = model.predict(obs, deterministic=True)

    # Safe loader, once with the config that built it and once with none (all inferred from the zip).
    for ppo in (cfg, None):
        safe = load_ppo(tmp_path / "model.zip", pendulum_venv, env_id="Pendulum-v1", ppo=ppo)
        assert layers(safe) == ([8, 6], [5], {"ReLU"})
        np.testing.assert_array_equal(safe.predict(obs, deterministic=True)[0], want)
        assert torch.equal(safe.policy.log_std, model.policy.log_std)
        dist = safe.policy.get_distribution(safe.policy.obs_to_tensor(obs)[0]).distribution
        ref = model.policy.get_distribution(model.policy.obs_to_tensor(obs)[0]).distribution
        assert torch.equal(dist.mean, ref.mean) and torch.equal(dist.stddev, ref.stddev)

    plain = PPO.load(tmp_path / "model.zip", device="cpu")  # SB3's own loader still opens it (trusted file, test only)
    np.testing.assert_array_equal(plain.predict(obs, deterministic=True)[0], want)
    assert layers(plain) == ([8, 6], [5], {"ReLU"})


def test_gail_generator_and_its_checkpoint_follow_gail_ppo(tmp_path, gail_learner):
    """The generator is built from gail.ppo's keys, and a resume rebuilds it from its checkpoint zip exactly."""
    from pathlib import Path

    from gailctl.core.config_load import load_config
    from gailctl.rl.demos import load_demos

    root = Path(__file__).resolve().parents[2]
    cfg = load_config(root / "configs/cartpole.yaml", ["gail.ppo.activation_fn=relu", "gail.ppo.ortho_init=false",
                                                       "gail.ppo.net_arch={pi: [16], vf: [8, 8]}"])
    venv = make_venv(cfg.env, seed=0)
    learner = gail_learner(cfg, load_demos(root / "experts/cartpole/demos", n_demos=1), tmp_path, venv=venv)
    assert layers(learner.gen) == ([16], [8, 8], {"ReLU"}) and learner.gen.policy.ortho_init is False
    learner.gen.save(tmp_path / "policy.zip")
    again = load_ppo(tmp_path / "policy.zip", venv, env_id=cfg.env.id, ppo=cfg.gail.ppo)
    assert layers(again) == ([16], [8, 8], {"ReLU"})
    obs = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)
    np.testing.assert_array_equal(again.predict(obs, deterministic=True)[0], learner.gen.predict(obs, deterministic=True)[0])
    venv.close()


def test_target_kl_ends_a_rollouts_epochs_early(pendulum_venv):
    """`target_kl` reaches SB3's PPO: with a tiny trust region a rollout trains one epoch of 8, without it all 8."""
    with pytest.raises(ConfigError, match=r"expert\.ppo\.target_kl = 0"):
        config_from_dict({"expert": {"ppo": {"target_kl": 0}}}, source="c.yaml")
    assert PPOConfig().target_kl is None
    epochs = {}
    for target_kl in (None, 1e-9):
        model = build_ppo(pendulum_venv, PPOConfig(n_steps=64, batch_size=16, n_epochs=8, net_arch=(8,),
                                                   target_kl=target_kl), seed=0)
        model.learn(total_timesteps=64)
        epochs[target_kl] = model._n_updates  # SB3 counts the epochs it ran
    assert epochs == {None: 8, 1e-9: 1}
