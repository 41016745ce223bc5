"""Model selection: which row each criterion picks, the held-out action error and state MMD, the summary's gap,
and the run loop's kept files across a resume (a scripted learner, no training)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gymnasium import spaces

from gailctl.core.checkpoints import latest_checkpoint, read_state
from gailctl.core.metrics import read_metrics
from gailctl.core.run_loop import EveryUnits, LoopPlan, Resumed, RunLoop
from gailctl.core.selection import KeepBest, pick
from gailctl.core.summaries import Scores
from gailctl.rl.heldout import action_error, heldout_demos
from gailctl.rl.selection import BY_REWARD, REWARD_FREE, selected


def test_pick_takes_the_first_best_and_skips_rows_without_a_value() -> None:
    rows = [{"return_mean": "1", "e": ""}, {"return_mean": "3", "e": "0.5"}, {"return_mean": "3", "e": "0.2"},
            {"return_mean": "2", "e": "nan"}, {"return_mean": "", "e": "0.1"}]
    assert pick(rows, KeepBest("a.zip"))["e"] == "0.5"  # a later equal return is no news
    assert pick(rows, KeepBest("b.zip", column="e", higher_is_better=False))["return_mean"] == ""
    assert pick(rows[:1], KeepBest("b.zip", column="e", higher_is_better=False)) is None


def test_action_error_is_squared_distance_after_clipping_or_disagreement() -> None:
    box = spaces.Box(-1.0, 1.0, shape=(2,))
    ours = np.array([[0.0, 0.0], [3.0, 0.0]])  # 3.0 is clipped to 1.0, as the env receives it
    theirs = np.array([[1.0, 1.0], [1.0, 0.5]])
    assert action_error(ours, theirs, box) == pytest.approx((2.0 + 0.25) / 2)
    assert action_error(np.array([0, 1, 1, 2]), np.array([0, 1, 0, 0]), spaces.Discrete(3)) == 0.5


def test_heldout_demos_are_the_trajectories_after_the_training_ones() -> None:
    from imitation.data.types import Trajectory

    def traj(n: int, start: float) -> Trajectory:
        return Trajectory(obs=np.arange(n + 1, dtype=np.float32)[:, None] + start, acts=np.zeros(n, dtype=np.int64),
                          infos=None, terminal=True)

    every = [traj(3, 0), traj(4, 100), traj(5, 200)]
    held = heldout_demos(every, n_train=1, cap=6)
    assert held.heldout and held.n_trajectories == 2 and held.n_transitions == 6  # capped, not subsampled
    assert held.obs[:, 0].tolist() == [100, 101, 102, 103, 200, 201]
    fallback = heldout_demos(every, n_train=3)
    assert not fallback.heldout and fallback.n_transitions == 12 and "not held out" in fallback.note


def test_state_mmd_is_zero_for_the_same_states_and_grows_with_the_shift() -> None:
    from gailctl.rl.state_distance import StateReference

    rng = np.random.default_rng(0)
    demo = rng.normal(size=(3000, 5))
    demo[:, 4] = 2.0  # a constant feature (a fixed target, a pinned joint) neither divides by zero nor dominates
    ref = StateReference.of(demo)
    assert ref.mmd2(demo) == pytest.approx(0.0, abs=1e-9)
    shifts = [0.0, 0.25, 1.0, 4.0]
    mmds = [ref.mmd2(rng.normal(size=(1000, 5)) + np.array([s, 0, 0, 0, 2.0])) for s in shifts]
    assert mmds[0] < 0.01 and all(a < b for a, b in zip(mmds, mmds[1:]))
    assert ref.mmd2(np.full((10, 5), 1e3)) == pytest.approx(1.0 + ref.kxx, rel=1e-6)  # nothing in common: kxx + kyy
    # The same states in a different unit (x1000) score the same: the demonstrations' spread sets the scale.
    scaled = StateReference.of(demo * 1000.0)
    probe = rng.normal(size=(500, 5)) + np.array([1.0, 0, 0, 0, 0])
    probe[:, 4] = 2.0
    assert scaled.mmd2(probe * 1000.0) == pytest.approx(ref.mmd2(probe), rel=1e-6)


def test_heldout_states_are_built_once_from_the_heldout_observations() -> None:
    from gailctl.rl.heldout import HeldOutDemos

    obs = np.random.default_rng(1).normal(size=(50, 3))
    held = HeldOutDemos(obs=obs, acts=np.zeros(50), heldout=True, n_trajectories=1)
    assert held.states is held.states and held.states.mmd2(obs) == pytest.approx(0.0, abs=1e-9)


def test_selected_gap_is_selection_minus_rescored() -> None:
    row = {"round": "3", "n_env_steps": "300", "return_mean": "90", "normalized_score": "0.9", "heldout_state_mmd": "0.2"}
    rescored = Scores(return_mean=70.0, normalized_score=0.7)
    by_reward = selected("env_reward", row, rescored, n_episodes=50)
    assert by_reward.gap == pytest.approx(0.2) and by_reward.gap_is_normalized and by_reward.uses_env_reward
    assert (by_reward.round, by_reward.n_env_steps, by_reward.selection_value) == (3, 300, 90.0)
    free = selected("heldout_demos", {**row, "normalized_score": ""}, Scores(return_mean=70.0), n_episodes=50)
    assert free.gap == pytest.approx(20.0) and not free.gap_is_normalized and free.selection_value == 0.2
    assert not free.uses_env_reward and free.file == REWARD_FREE.file


class Scripted:
    """A learner whose 'policy' is its unit number; evaluations read a script."""

    def __init__(self, units_done: int = 0):
        self.units_done = units_done

    @property
    def n_env_steps(self) -> int:
        return 100 * self.units_done

    def save(self, folder: Path) -> dict[str, Any]:
        return {"round": self.units_done, "n_env_steps": self.n_env_steps}

    def snapshot(self) -> None:
        return None

    def rewind(self, snapshot: Any) -> None:
        pass

    def learn(self, loop: RunLoop, n_units: int) -> None:
        while self.units_done < n_units:
            self.units_done += 1
            loop.unit_done(self.units_done, self.n_env_steps)


SCRIPT = {0: (1.0, 0.9), 1: (5.0, 0.4), 2: (3.0, 0.3), 3: (4.0, 0.6), 4: (2.0, 0.5), 5: (9.0, 0.1), 6: (0.0, 0.9)}
"""unit -> (return, held-out state MMD)."""


def _loop(run_dir: Path, learner: Scripted, n_units: int, resumed: Any = None) -> RunLoop:
    plan = LoopPlan(stage="gail", unit="round", n_units=n_units, columns=("round", "n_env_steps", "wall_s", "return_mean",
                                                                          "heldout_state_mmd"),
                    unit_column="round", eval_every=EveryUnits(1), checkpoint_every=EveryUnits(2))

    def evaluate() -> dict[str, Any]:
        ret, err = SCRIPT[learner.units_done]
        return {"return_mean": ret, "heldout_state_mmd": err}

    def keep(path: Path) -> None:
        path.write_text(str(learner.units_done))

    return RunLoop(run_dir, plan, learner, evaluate=evaluate, resumed=resumed, keep_best=keep, keep=(BY_REWARD, REWARD_FREE))


def test_resume_knows_the_picks_and_puts_back_the_checkpoints_files(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text("{}")
    learner = Scripted()
    with _loop(tmp_path, learner, 4) as loop:
        loop.run(lambda: learner.learn(loop, 4))
    assert {f: int(r["round"]) for f, r in loop.picks.items()} == {BY_REWARD.file: 1, REWARD_FREE.file: 2}
    # A run killed after its last checkpoint: a later round's row and kept files, which the resume trains again.
    with open(tmp_path / "metrics.csv", "a", encoding="utf-8") as fh:
        fh.write("5,500,1.0,99.0,0.01\n")
    for keep in (BY_REWARD, REWARD_FREE):
        (tmp_path / keep.file).write_text("5")
    checkpoint = latest_checkpoint(tmp_path)
    assert checkpoint.name == "round_000004"
    resumed_learner = Scripted(units_done=4)
    with _loop(tmp_path, resumed_learner, 4, Resumed(checkpoint, read_state(checkpoint))) as again:
        assert {f: int(r["round"]) for f, r in again.picks.items()} == {BY_REWARD.file: 1, REWARD_FREE.file: 2}
        assert (tmp_path / BY_REWARD.file).read_text() == "1" and (tmp_path / REWARD_FREE.file).read_text() == "2"
    # Going on to round 6: round 5 (return 9, MMD 0.1) becomes both picks, round 6 neither.
    with _loop(tmp_path, resumed_learner, 6, Resumed(checkpoint, read_state(checkpoint))) as more:
        more.run(lambda: resumed_learner.learn(more, 6))
    assert {f: int(r["round"]) for f, r in more.picks.items()} == {BY_REWARD.file: 5, REWARD_FREE.file: 5}
    assert (tmp_path / BY_REWARD.file).read_text() == "5" and more.best == {"return_mean": 9.0, "n_env_steps": 500}
    assert [int(r["round"]) for r in read_metrics(tmp_path)] == list(range(7))
    assert math.isfinite(float(read_metrics(tmp_path)[-1]["heldout_state_mmd"]))
