"""gail.policy_average_halflife: the moving average of the generator's weights that gailctl evaluates
and ships, while PPO trains its own (`gailctl.rl.gail.averaging`, `GailLearner.policy`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gailctl.core.config import BCConfig, EnvConfig, GailConfig, PPOConfig
from gailctl.core.errors import UsageError
from gailctl.rl.gail.averaging import AVERAGE_FILE, PolicyAverage, decay


def test_a_rounds_weights_count_half_after_the_halflife() -> None:
    import torch

    assert decay(10) ** 10 == pytest.approx(0.5)
    avg = PolicyAverage(4)
    avg.update({"w": torch.zeros(3), "n": torch.tensor(1)})
    assert torch.equal(avg.state["w"], torch.zeros(3))  # starts at the first weights, not pulled towards 0
    for _ in range(4):
        avg.update({"w": torch.ones(3), "n": torch.tensor(5)})
    assert avg.state["w"] == pytest.approx(torch.full((3,), 0.5))  # the zeros still weigh half
    assert int(avg.state["n"]) == 5 and avg.n_updates == 5  # a non-float entry follows the latest


def test_the_average_is_swapped_in_and_the_trained_weights_come_back_in_place() -> None:
    import torch

    net = torch.nn.Linear(2, 2)
    opt = torch.optim.Adam(net.parameters())
    own = {k: v.clone() for k, v in net.state_dict().items()}
    avg = PolicyAverage(2)
    with avg.swapped_in(net):  # nothing averaged yet: the net's own weights
        assert all(torch.equal(net.state_dict()[k], v) for k, v in own.items())
    avg.update({k: torch.full_like(v, 3.0) for k, v in own.items()})
    with avg.swapped_in(net):
        assert torch.equal(net.weight.detach(), torch.full((2, 2), 3.0))
    assert all(torch.equal(net.state_dict()[k], v) for k, v in own.items())
    assert opt.param_groups[0]["params"][0] is net.weight  # the optimizer still trains the same tensors


def test_the_checkpoint_payload_reads_back_tensors_only(tmp_path: Path) -> None:
    import torch

    from gailctl.core.torch_files import read_torch_payload, torch_save

    avg = PolicyAverage(3)
    avg.update({"w": torch.arange(4.0)})
    avg.update({"w": torch.zeros(4)})
    torch_save(avg.payload(), tmp_path / AVERAGE_FILE)
    back = PolicyAverage.from_payload(read_torch_payload(tmp_path / AVERAGE_FILE), halflife_rounds=3, source="x")
    assert back.n_updates == 2 and torch.equal(back.state["w"], avg.state["w"])
    with pytest.raises(UsageError, match="not a gailctl policy average"):
        PolicyAverage.from_payload({"format": "other"}, halflife_rounds=3, source="x")


def _demos():
    from imitation.data.rollout import flatten_trajectories
    from imitation.data.types import Trajectory

    rng = np.random.default_rng(7)
    return flatten_trajectories([Trajectory(obs=rng.normal(size=(11, 4)).astype(np.float32), acts=rng.integers(0, 2, size=10),
                                            infos=None, terminal=True) for _ in range(3)])


def _learner(tmp: Path, halflife: int):
    from gailctl.rl.env.make import make_venv
    from gailctl.rl.gail.learner import GailLearner

    g = GailConfig(demo_batch_size=8, gen_replay_buffer_capacity=40, normalize_obs=True, policy_average_halflife=halflife,
                   ppo=PPOConfig(n_steps=16, batch_size=16, net_arch=(8,)))
    env = EnvConfig(id="seals/CartPole-v0", n_envs=2)
    venv = make_venv(env, seed=0)
    return g, env, venv, GailLearner.build(g, env=env, bc=BCConfig(), seed=0, venv=venv, demos=_demos(), log_dir=tmp)


def _weights(model) -> dict:
    return {k: v.detach().clone() for k, v in model.policy.state_dict().items()}


def test_the_learner_ships_the_average_of_its_rounds_raw_observation_weights(tmp_path: Path) -> None:
    import torch

    g, env, venv, learner = _learner(tmp_path / "log", halflife=2)
    rounds = []  # each round's last iterate as it acts on raw observations (statistics folded in)

    def seen(_done) -> None:
        with learner.last_iterate() as model:
            rounds.append(_weights(model))

    learner.learn(3, callback=seen)
    keep = decay(2)
    expected = {k: (rounds[0][k] * keep + rounds[1][k] * (1 - keep)) * keep + rounds[2][k] * (1 - keep) for k in rounds[0]}
    trained = _weights(learner.model)
    with learner.policy() as model:
        shipped = _weights(model)
    assert all(torch.allclose(shipped[k], expected[k], atol=1e-6) for k in expected)
    assert not torch.allclose(shipped["action_net.weight"], rounds[-1]["action_net.weight"])  # not the last iterate
    assert all(torch.equal(learner.model.policy.state_dict()[k], v) for k, v in trained.items())  # PPO's own, back

    # A checkpoint holds the average; a learner loaded from it continues it.
    from gailctl.rl.gail.learner import GailLearner

    folder = tmp_path / "ckpt"
    folder.mkdir()
    state = learner.save(folder)
    again = GailLearner.load(folder, state, g, env=env, seed=0, venv=venv, demos=_demos(), log_dir=tmp_path / "log2")
    assert again.average.n_updates == 3
    assert all(torch.equal(again.average.state[k], learner.average.state[k]) for k in expected)

    # Resuming with averaging on from a checkpoint saved without it would restart the average silently: refused.
    (folder / AVERAGE_FILE).unlink()
    with pytest.raises(UsageError, match="policy_average_halflife"):
        GailLearner.load(folder, state, g, env=env, seed=0, venv=venv, demos=_demos(), log_dir=tmp_path / "log3")


def test_without_averaging_the_learner_ships_its_last_iterate(tmp_path: Path) -> None:
    import torch

    _, _, _, learner = _learner(tmp_path, halflife=0)
    learner.learn(1)
    assert learner.average is None
    with learner.last_iterate() as model:
        last = _weights(model)
    with learner.policy() as model:
        assert all(torch.equal(model.policy.state_dict()[k], v) for k, v in last.items())
