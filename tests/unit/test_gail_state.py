"""What a GAIL checkpoint carries beyond the nets: expert-batch order, the generator replay buffer
(`gailctl.rl.compat`), imitation's progress.csv (`ContinuedCSV`). Each restore must give back exactly what an uninterrupted run would see."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from gailctl.core.config import Config, EnvConfig, GailConfig, PPOConfig
from gailctl.rl.compat import replay_buffer_payload, restore_replay_buffer
from gailctl.rl.gail.batches import ExpertBatches
from gailctl.rl.gail.trainer import ContinuedCSV, build_trainer, imitation_logger


def trajs(n: int = 3, length: int = 10):
    from imitation.data.types import Trajectory

    rng = np.random.default_rng(7)
    return [Trajectory(obs=rng.normal(size=(length + 1, 4)).astype(np.float32), acts=rng.integers(0, 2, size=length),
                       infos=None, terminal=True) for _ in range(n)]


def as_imitation_uses_it(batches: ExpertBatches):
    """imitation 1.0.1: `endless_iter` draws one batch to check the iterable, then cycles it lazily."""
    from imitation.util.util import endless_iter

    return endless_iter(batches)


def key(batch) -> bytes:
    return batch["obs"].tobytes()


@pytest.mark.parametrize("consumed", [0, 1, 2, 3, 4, 7])  # 3 batches an epoch: mid-epoch, at its end, later epochs
def test_expert_batches_resume_mid_epoch_in_the_same_order(consumed: int) -> None:
    data = trajs()
    full = ExpertBatches(data, batch_size=8, rng=np.random.default_rng(0))
    expected = [key(b) for b in itertools.islice(as_imitation_uses_it(full), consumed + 6)]

    first = ExpertBatches(data, batch_size=8, rng=np.random.default_rng(0))
    it = as_imitation_uses_it(first)
    seen = [key(next(it)) for _ in range(consumed)]
    state = first.state()
    assert isinstance(state["rng"], str)  # plain JSON, no pickled generator

    resumed = ExpertBatches(data, batch_size=8, rng=np.random.default_rng(0))
    it2 = as_imitation_uses_it(resumed)  # the trainer is built (and draws) before the restore
    resumed.restore(state)
    seen += [key(next(it2)) for _ in range(6)]
    assert seen == expected


@pytest.fixture(scope="module")
def cfg() -> Config:
    return Config(env=EnvConfig(id="seals/CartPole-v0", n_envs=2),
                  gail=GailConfig(demo_batch_size=8, gen_replay_buffer_capacity=40,
                                  ppo=PPOConfig(n_steps=16, batch_size=16, net_arch=(8,))))


def trainer(cfg: Config, tmp: Path):
    from gailctl.rl.env.make import make_venv
    from gailctl.rl.policies import build_ppo, build_reward_net

    from imitation.data.rollout import flatten_trajectories

    venv = make_venv(cfg.env, seed=0)
    batches = ExpertBatches(flatten_trajectories(trajs()), batch_size=cfg.gail.demo_batch_size, rng=np.random.default_rng(0))
    return build_trainer(cfg.gail, allow_variable_horizon=False, venv=venv, gen=build_ppo(venv, cfg.gail.ppo, seed=0),
                         reward_net=build_reward_net(venv, cfg.gail.reward_net), batches=batches, log_dir=tmp)


def test_replay_buffer_round_trip_samples_the_same(cfg: Config, tmp_path: Path) -> None:
    """Fails if imitation renames or reshapes the trainer's private replay buffer."""
    import torch

    from imitation.data import types

    a = trainer(cfg, tmp_path / "a")
    a.train_gen(cfg.gail_steps_per_round)  # fills the buffer through imitation's own path
    a.train_gen(cfg.gail_steps_per_round)  # wraps around the 40-sample capacity
    assert a._gen_replay_buffer.size() == 40
    path = tmp_path / "buf.pt"
    torch.save(replay_buffer_payload(a), path)
    payload = torch.load(path, weights_only=True)

    b = trainer(cfg, tmp_path / "b")
    assert b._gen_replay_buffer.size() == 0
    restore_replay_buffer(b, payload, source=path)
    assert b._gen_replay_buffer.size() == 40
    np.random.seed(3)
    sa = a._gen_replay_buffer.sample(16)
    np.random.seed(3)
    sb = b._gen_replay_buffer.sample(16)
    assert isinstance(sb, types.Transitions)
    for field in ("obs", "acts", "next_obs", "dones"):
        np.testing.assert_array_equal(getattr(sa, field), getattr(sb, field))
    a._gen_replay_buffer.store(sb)  # what the next round does with a restored buffer: must not fail
    b._gen_replay_buffer.store(sb)


def test_imitation_progress_csv_continues_after_resume(tmp_path: Path) -> None:
    log = imitation_logger(tmp_path)
    for r in range(1, 4):
        log.record("a", r)
        log.dump(r)
    log.close()
    log = imitation_logger(tmp_path, keep_rows=2)  # resume from round 2: row 3 came after the checkpoint
    log.record("a", 30)
    log.record("b", 1)  # a new column later on: earlier rows are padded, as SB3 does
    log.dump(3)
    log.close()
    lines = (tmp_path / "progress.csv").read_text().splitlines()
    assert lines == ["a,b", "1,", "2,", "30,1"]


def test_a_fresh_imitation_log_starts_empty_even_if_a_file_is_there(tmp_path: Path) -> None:
    (tmp_path / "progress.csv").write_text("a\n1\n")
    writer = ContinuedCSV(tmp_path / "progress.csv")
    writer.write({"b": 2}, {})
    writer.close()
    assert (tmp_path / "progress.csv").read_text().splitlines() == ["b", "2"]
