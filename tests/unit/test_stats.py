"""IQM, probability of improvement and performance profiles with bootstrap intervals: small cases
worked by hand, and the same numbers as the `rliable` library (Agarwal et al. 2021)."""

from __future__ import annotations

import numpy as np
import pytest

from gailctl.report import stats

# Scores of a small bench: 4 tasks x 5 seeds, two methods (columns are tasks, as rliable takes them).
GAIL = np.array([[0.99, 0.86, 1.00, 1.01], [1.02, 0.95, 1.00, 0.99], [1.01, 0.96, 1.00, 0.97],
                 [0.99, 0.96, 1.00, 1.06], [0.95, 0.44, 1.00, 1.04]])
BC = np.array([[0.99, 0.09, 0.99, 0.95], [0.97, 0.02, 1.00, 1.04], [1.00, 0.17, 0.92, 1.04],
               [0.99, -0.01, 0.85, 0.95], [1.00, -0.08, 1.00, 0.96]])


def by_task(matrix: np.ndarray) -> list[list[float]]:
    return [list(matrix[:, t]) for t in range(matrix.shape[1])]


def test_iqm_is_the_mean_of_the_middle_half():
    assert stats.iqm(range(1, 9)) == pytest.approx(4.5)  # 3, 4, 5, 6
    assert stats.iqm([100.0, 1, 2, 3, 4, 5, 6, -50]) == pytest.approx(3.5)  # outliers drop out
    assert stats.iqm([0.1, 0.2, 0.3, 0.4, 10.0]) == pytest.approx(0.3)  # 5 runs: one cut at each end
    assert stats.iqm([0.7, 0.9, 0.8]) == pytest.approx(0.8)  # 3 runs: int(0.75) = 0 cut, the plain mean
    assert stats.aggregate_iqm([[1, 2, 3, 4], [5, 6, 7, 8]]) == pytest.approx(4.5)  # tasks pooled


def test_probability_of_improvement_counts_wins_and_half_the_ties():
    assert stats.probability_of_improvement([[3, 4, 5]], [[0, 1, 2]]) == 1.0  # disjoint, above
    assert stats.probability_of_improvement([[0, 1, 2]], [[3, 4, 5]]) == 0.0
    assert stats.probability_of_improvement([[1, 2, 3]], [[1, 2, 3]]) == 0.5  # identical samples
    assert stats.probability_of_improvement([[1.0, 1.0]], [[1.0, 1.0]]) == 0.5  # all ties
    # 2 > 1 and 2 = 2 against (1, 2); 0 loses both: (1 + 0.5 + 0 + 0) / 4
    assert stats.probability_of_improvement([[2, 0]], [[1, 2]]) == pytest.approx(0.375)
    assert stats.probability_of_improvement([[3, 4], [0, 1]], [[0, 1], [3, 4]]) == 0.5  # averaged over tasks
    with pytest.raises(ValueError):
        stats.probability_of_improvement([[1]], [[1], [2]])


def test_intervals_hold_the_point_estimate_and_repeat_under_the_seed():
    scores = by_task(GAIL)
    one = stats.iqm_interval(scores, rng=np.random.default_rng(stats.SEED))
    assert one == stats.iqm_interval(scores, rng=np.random.default_rng(stats.SEED))
    assert one != stats.iqm_interval(scores, rng=np.random.default_rng(stats.SEED + 1))
    assert one.low <= one.point <= one.high and one.low < one.high
    assert one.text() == f"{one.point:.2f} [{one.low:.2f}, {one.high:.2f}]"
    poi = stats.improvement_interval(scores, by_task(BC), rng=np.random.default_rng(stats.SEED))
    assert poi.low <= poi.point <= poi.high <= 1.0
    same = stats.iqm_interval([[0.5, 0.5, 0.5]], rng=np.random.default_rng(0))
    assert (same.point, same.low, same.high) == (0.5, 0.5, 0.5)  # no spread, no width
    profile, low, high = stats.profile_interval(scores, [0.0, 0.9, 1.0, 1.1], rng=np.random.default_rng(0))
    # runs strictly above each tau, of 20: all; all but 0.86 and 0.44; 1.02, 1.01, 1.01, 1.06, 1.04; none
    assert list(profile) == [1.0, 18 / 20, 5 / 20, 0.0]
    assert np.all(low <= profile) and np.all(profile <= high)


def test_ragged_tasks_resample_each_task_on_its_own_runs():
    """A task with 3 runs and one with 2: every resample keeps 3 + 2 runs, the first task's values
    from the first task only."""
    est = stats.iqm_interval([[0.0, 0.0, 0.0], [1.0, 1.0]], rng=np.random.default_rng(0), reps=200)
    # 0, 0, 0, 1, 1 with one run cut at each end: 1/3 in every resample (a pooled bootstrap would vary)
    assert (est.point, est.low, est.high) == pytest.approx((1 / 3, 1 / 3, 1 / 3))


@pytest.fixture(scope="module")
def rliable():
    """rliable's library and metrics. rliable pins arch < 8, and arch 7 calls pandas' private
    `deprecate_kwarg` with the pre-pandas-3 arguments (old, new name) on two plotting methods it
    never runs here; this lets it import beside pandas 3."""
    pytest.importorskip("rliable")
    import inspect

    pandas_decorators = pytest.importorskip("pandas.util._decorators")
    original = pandas_decorators.deprecate_kwarg

    def accepting_old_calls(*args, **kwargs):
        if args and isinstance(args[0], str):
            return original(FutureWarning, *args, **kwargs)
        return original(*args, **kwargs)

    if next(iter(inspect.signature(original).parameters)) == "klass":  # pandas 3; pandas 2 takes arch's call as is
        pandas_decorators.deprecate_kwarg = accepting_old_calls
    try:
        from rliable import library, metrics
    finally:
        pandas_decorators.deprecate_kwarg = original
    return library, metrics


def test_the_same_numbers_as_rliable(rliable):
    library, metrics = rliable
    reps = 2000
    assert stats.aggregate_iqm(by_task(GAIL)) == pytest.approx(metrics.aggregate_iqm(GAIL), abs=1e-12)
    assert stats.iqm(GAIL[:, 1]) == pytest.approx(metrics.aggregate_iqm(GAIL[:, 1:2]), abs=1e-12)
    assert stats.probability_of_improvement(by_task(GAIL), by_task(BC)) == pytest.approx(
        metrics.probability_of_improvement(GAIL, BC), abs=1e-12)

    points, intervals = library.get_interval_estimates(
        {"gail": GAIL, "bc": BC}, lambda x: np.array([metrics.aggregate_iqm(x)]), reps=reps,
        random_state=np.random.RandomState(0))  # rliable's seeding, not ours: the intervals agree within noise
    for name, matrix in (("gail", GAIL), ("bc", BC)):
        ours = stats.iqm_interval(by_task(matrix), rng=np.random.default_rng(stats.SEED), reps=reps)
        assert ours.point == pytest.approx(points[name][0], abs=1e-12)
        assert (ours.low, ours.high) == pytest.approx((intervals[name][0][0], intervals[name][1][0]), abs=0.02)

    points, intervals = library.get_interval_estimates(
        {"gail,bc": (GAIL, BC)}, metrics.probability_of_improvement, reps=reps, random_state=np.random.RandomState(0))
    ours = stats.improvement_interval(by_task(GAIL), by_task(BC), rng=np.random.default_rng(stats.SEED), reps=reps)
    assert ours.point == pytest.approx(points["gail,bc"], abs=1e-12)
    assert (ours.low, ours.high) == pytest.approx(tuple(np.ravel(intervals["gail,bc"])), abs=0.03)

    taus = np.linspace(-0.1, 1.1, 25)
    profiles, bands = library.create_performance_profile({"gail": GAIL}, taus, reps=reps)
    profile, low, high = stats.profile_interval(by_task(GAIL), taus, rng=np.random.default_rng(stats.SEED), reps=reps)
    assert profile == pytest.approx(profiles["gail"], abs=1e-12)
    assert low == pytest.approx(bands["gail"][0], abs=0.06) and high == pytest.approx(bands["gail"][1], abs=0.06)


def test_the_statistics_need_numpy_only():
    """The report's arithmetic loads no torch, scipy or pandas (a bench report is made without them)."""
    import subprocess
    import sys

    code = ("import sys, gailctl.report.stats, gailctl.report.bench_stats; "
            "print(sorted(m for m in ('torch', 'scipy', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_steady_policy_stays_as_often_as_its_episodes_allow():
    rng = np.random.default_rng(0)
    chance = lambda scores, k, n: stats.steady_stay_chance(scores, episodes_per_eval=k, n_evals=n, threshold=0.95,
                                                           rng=rng, reps=20_000)
    assert chance([1.0, 0.97], 5, 10) == 1.0 and chance([0.94], 5, 10) == 0.0
    # Episodes at 0.9 and 1.0 in equal shares: one episode per evaluation passes half the time, two
    # pass unless both are 0.9 (3/4); ten or three evaluations in a row, the powers.
    assert chance([0.9, 1.0], 1, 3) == pytest.approx(0.5 ** 3, abs=0.01)
    assert chance([0.9, 1.0], 2, 3) == pytest.approx(0.75 ** 3, abs=0.01)
    assert chance([0.9, 1.0], 2, 10) == pytest.approx(0.75 ** 10, abs=0.01)
    with pytest.raises(ValueError):
        chance([], 5, 10)
