"""Optimizers update all their tensors per op (`foreach`): the same numbers as torch's CPU default, for every optimizer gailctl builds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gailctl.core.config import BCConfig, Config, EnvConfig, GailConfig, PPOConfig  # noqa: E402
from gailctl.rl.torch_setup import multi_tensor_updates  # noqa: E402


def _net() -> "torch.nn.Module":
    torch.manual_seed(3)
    return torch.nn.Sequential(torch.nn.Linear(11, 64), torch.nn.Tanh(), torch.nn.Linear(64, 64), torch.nn.Tanh(),
                               torch.nn.Linear(64, 3))


@pytest.mark.parametrize("weight_decay", [0.0, 1e-4])
def test_foreach_adam_gives_the_per_tensor_loops_numbers_bit_for_bit(weight_decay: float) -> None:
    nets = [_net(), _net()]
    per_tensor = torch.optim.Adam(nets[0].parameters(), lr=3e-4, eps=1e-5, weight_decay=weight_decay, foreach=False)
    foreach = multi_tensor_updates(torch.optim.Adam(nets[1].parameters(), lr=3e-4, eps=1e-5, weight_decay=weight_decay))
    assert per_tensor.param_groups[0]["foreach"] is False and foreach.param_groups[0]["foreach"] is True
    rng = np.random.default_rng(0)
    for step in range(30):
        x = torch.as_tensor(rng.normal(size=(64, 11)), dtype=torch.float32)
        y = torch.as_tensor(rng.normal(size=(64, 3)), dtype=torch.float32)
        # Halfway, the first layer stops taking gradients, as PPO's value warm-up freezes the policy.
        for net in nets:
            net[0].requires_grad_(step < 15)
        for net, opt in zip(nets, (per_tensor, foreach)):
            opt.zero_grad()
            torch.nn.functional.mse_loss(net(x), y).backward()
            opt.step()
    for a, b in zip(nets[0].parameters(), nets[1].parameters()):
        assert torch.equal(a, b)
    for a, b in zip(per_tensor.state.values(), foreach.state.values()):
        assert all(torch.equal(a[k], b[k]) for k in ("step", "exp_avg", "exp_avg_sq"))


def _updates_per_op(optimizer) -> bool:
    return all(group["foreach"] is True for group in optimizer.param_groups)


def test_every_optimizer_gailctl_builds_or_loads_updates_per_op(tmp_path: Path) -> None:
    from stable_baselines3 import PPO

    from gailctl.rl.compat import disc_optimizer
    from gailctl.rl.gail.learner import GailLearner
    from gailctl.rl.cloning import bc_trainer
    from gailctl.rl.env.make import make_venv
    from gailctl.rl.policies import build_ppo, load_ppo
    from tests.unit.test_gail_state import trajs

    cfg = Config(env=EnvConfig(id="seals/CartPole-v0", n_envs=2),
                 gail=GailConfig(demo_batch_size=8, ppo=PPOConfig(n_steps=16, batch_size=16, net_arch=(8,))))
    venv = make_venv(cfg.env, seed=0)
    gen = build_ppo(venv, cfg.gail.ppo, seed=0)
    assert _updates_per_op(gen.policy.optimizer)

    plain = PPO("MlpPolicy", venv, n_steps=16, batch_size=16, policy_kwargs={"net_arch": [8]}, device="cpu", seed=1)
    assert plain.policy.optimizer.param_groups[0]["foreach"] is None  # SB3's own: torch's CPU default, per tensor
    plain.save(tmp_path / "plain.zip")
    assert _updates_per_op(load_ppo(tmp_path / "plain.zip", venv, env_id=cfg.env.id).policy.optimizer)

    from imitation.data.rollout import flatten_trajectories

    learner = GailLearner.build(cfg.gail, env=cfg.env, bc=cfg.bc, seed=0, venv=venv, demos=flatten_trajectories(trajs()),
                                log_dir=tmp_path / "gail")
    assert _updates_per_op(disc_optimizer(learner.trainer))

    bc = bc_trainer(gen.policy, flatten_trajectories(trajs()), BCConfig(batch_size=8), seed=0, log_dir=tmp_path / "bc")
    assert _updates_per_op(bc.optimizer)
    venv.close()
