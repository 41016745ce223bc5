"""gail.subsample_every: which transitions are kept, and that gail, bc and bench get exactly those."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gailctl.core.config_load import config_from_dict, load_config
from gailctl.core.demo_sources import resolve_demos
from gailctl.core.errors import ConfigError, UsageError
from gailctl.rl.subsample import demo_transitions, kept_indices, subsample_offsets, subsample_rng

ROOT = Path(__file__).resolve().parents[2]
CARTPOLE_DEMOS = ROOT / "experts/cartpole/demos"


def traj(length: int, *, tag: int, obs_dim: int = 3):
    """A trajectory whose observation at step t is (tag, t, t): each transition says where it came from."""
    from imitation.data.types import Trajectory

    steps = np.arange(length + 1, dtype=np.float32)
    obs = np.stack([np.full(length + 1, tag, np.float32), steps, steps], axis=1)[:, :obs_dim]
    return Trajectory(obs=obs, acts=np.arange(length) % 2, infos=None, terminal=True)


# --- which indices ---------------------------------------------------------------------


def test_kept_indices_step_from_each_trajectorys_offset():
    assert kept_indices([10, 7], every=3, offsets=[0, 2]).tolist() == [0, 3, 6, 9, 10 + 2, 10 + 5]
    assert kept_indices([5, 5], every=1, offsets=[0, 0]).tolist() == list(range(10))
    assert kept_indices([4], every=20, offsets=[3]).tolist() == [3]
    assert kept_indices([4], every=20, offsets=[4]).tolist() == []  # an offset past a short trajectory keeps nothing


def test_offsets_are_uniform_in_range_and_drawn_by_the_seed():
    offsets = subsample_offsets(2000, every=20, rng=subsample_rng(0))
    assert offsets.min() == 0 and offsets.max() == 19
    assert abs(offsets.mean() - 9.5) < 0.5  # uniform over 0..19
    assert np.array_equal(offsets, subsample_offsets(2000, every=20, rng=subsample_rng(0)))
    assert not np.array_equal(offsets, subsample_offsets(2000, every=20, rng=subsample_rng(1)))
    assert subsample_offsets(5, every=1, rng=subsample_rng(0)).tolist() == [0] * 5


def test_every_20_of_four_1000_step_trajectories_keeps_200_true_transitions():
    """The GAIL paper's protocol: 4 trajectories of 1000 steps -> 50 each; next_obs is the true next step."""
    trajs = [traj(1000, tag=i) for i in range(4)]
    kept = demo_transitions(trajs, every=20, seed=7)
    assert len(kept) == 200
    offsets = subsample_offsets(4, every=20, rng=subsample_rng(7))
    for i in range(4):
        mine = kept.obs[:, 0] == i
        steps = kept.obs[mine, 1].astype(int)
        assert steps.tolist() == list(range(int(offsets[i]), 1000, 20))
        np.testing.assert_array_equal(kept.next_obs[mine, 1], steps + 1)  # the step after, not the next kept one
        np.testing.assert_array_equal(kept.acts[mine], steps % 2)
    assert len({int(o) for o in offsets}) > 1  # trajectories start at their own offsets


def test_every_1_keeps_everything_in_order():
    from imitation.data.rollout import flatten_trajectories

    trajs = [traj(13, tag=0), traj(9, tag=1)]
    kept, flat = demo_transitions(trajs, every=1, seed=3), flatten_trajectories(trajs)
    for name in ("obs", "acts", "next_obs", "dones"):
        np.testing.assert_array_equal(getattr(kept, name), getattr(flat, name))


def test_subsampled_pieces_keep_their_dones():
    trajs = [traj(10, tag=0)]
    kept = demo_transitions(trajs, every=3, seed=0)
    last = kept.obs[:, 1] == 9
    assert kept.dones[last].tolist() == [True] * int(last.sum()) and not kept.dones[~last].any()


# --- the config key --------------------------------------------------------------------


def test_config_default_is_all_and_bad_values_name_the_key():
    assert config_from_dict({}, source="c.yaml").gail.subsample_every == 1
    assert config_from_dict({"gail": {"subsample_every": 20}}, source="c.yaml").gail.subsample_every == 20
    for bad in (0, -3, True, 2.5, "x"):
        with pytest.raises(ConfigError, match=r"^c\.yaml: gail\.subsample_every = "):
            config_from_dict({"gail": {"subsample_every": bad}}, source="c.yaml")


# --- what gail, bc and bench receive ---------------------------------------------------


def cartpole_cfg(**gail):
    return load_config(ROOT / "configs/cartpole.yaml", [f"gail.{k}={v}" for k, v in gail.items()])


def expected_obs(trajs, *, every: int, seed: int) -> np.ndarray:
    offsets = subsample_offsets(len(trajs), every=every, rng=subsample_rng(seed))
    return np.concatenate([np.asarray(t.obs)[o : len(t.acts) : every] for t, o in zip(trajs, offsets)])


def test_gail_learner_batches_hold_only_the_kept_transitions(tmp_path, gail_learner):
    from gailctl.rl.env.make import make_venv
    from gailctl.rl.demos import load_demos

    cfg = cartpole_cfg(subsample_every=20, n_demos=4, demo_batch_size=25)
    trajs = load_demos(CARTPOLE_DEMOS, n_demos=4)
    venv = make_venv(cfg.env, seed=0)
    learner = gail_learner(cfg, trajs, tmp_path, venv=venv)
    want = expected_obs(trajs, every=20, seed=cfg.seed)
    assert len(want) == 100  # 4 x 500 steps, 1 in 20
    np.testing.assert_array_equal(learner.batches.arrays["obs"], want)
    # What imitation's trainer draws from: every batch is made of kept transitions only.
    seen = np.concatenate([np.asarray(learner.trainer._next_expert_batch()["obs"]) for _ in range(8)])
    assert len(seen) == 200 and {tuple(r) for r in seen} == {tuple(r) for r in want}  # two epochs of 4 batches of 25
    venv.close()


def test_gail_refuses_a_batch_larger_than_the_kept_transitions(tmp_path):
    from gailctl.rl.env.make import make_venv
    from gailctl.rl.demos import check_demos_fit, load_demos

    cfg = cartpole_cfg(subsample_every=20, n_demos=4)  # demo_batch_size 500 > 100 kept
    trajs = load_demos(CARTPOLE_DEMOS, n_demos=4)
    venv = make_venv(cfg.env, seed=0)
    with pytest.raises(UsageError, match=r"gail\.demo_batch_size = 500: larger than the 100 expert transitions .*"
                                         r"1 in every 20 kept: gail\.subsample_every"):
        check_demos_fit(trajs, venv, cfg, CARTPOLE_DEMOS, n_transitions=len(demo_transitions(trajs, every=20, seed=0)))
    venv.close()


class _Stop(Exception):
    pass


def test_bc_is_given_only_the_kept_transitions(tmp_path, monkeypatch):
    import imitation.algorithms.bc as imitation_bc

    from gailctl.stages import bc as bc_stage
    from gailctl.rl.demos import load_demos

    received = {}

    def fake_bc(**kwargs):
        received.update(kwargs)
        raise _Stop

    monkeypatch.setattr(imitation_bc, "BC", fake_bc)
    cfg = cartpole_cfg(subsample_every=10, n_demos=2)
    cfg = cfg.model_copy(update={"bc": cfg.bc.model_copy(update={"batch_size": 32})})
    with pytest.raises(_Stop):
        bc_stage.run(cfg, tmp_path, demos=resolve_demos(CARTPOLE_DEMOS, flag="--demos"))
    demos = received["demonstrations"]
    trajs = load_demos(CARTPOLE_DEMOS, n_demos=2)
    assert len(demos) == 100  # 2 x 500 steps, 1 in 10
    np.testing.assert_array_equal(demos.obs, expected_obs(trajs, every=10, seed=cfg.seed))


def test_bench_trials_carry_subsample_every(tmp_path):
    """Each bench trial is a gail or bc run of the config as planned: the key reaches both."""
    from gailctl.experiments.bench import BenchPlan
    from gailctl.experiments.plans import plan_sweep

    config = tmp_path / "paper.yaml"
    config.write_text((ROOT / "configs/cartpole.yaml").read_text().replace("  n_demos: 4\n", "  n_demos: 4\n  subsample_every: 20\n", 1)
                      .replace("../experts/", f"{ROOT}/experts/"))
    for overrides, want in (((), 20), (("gail.subsample_every=5",), 5)):
        plan = BenchPlan(configs=(config,), seeds="0-1", n_demos=(4,), quick=True, with_bc=True, overrides=overrides)
        for stage in ("gail", "bc"):
            sweep = plan_sweep(stage=stage, config_path=config, seeds=plan.seeds, overrides=plan.budget_overrides(config),
                               grid=plan.grid(config))
            assert [c.gail.subsample_every for c in sweep.configs] == [want, want]
