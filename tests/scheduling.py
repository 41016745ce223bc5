"""How README's test command (`pytest -n auto`) splits the suite over pytest-xdist's workers.

Each test file is one unit of work, so a module-scoped fixture (a trained run, a built wheel or
site) is made once, on one worker. The files that start a Ray cluster form a single unit and run
one after another: two clusters at once on a 2-core machine starve each other's trials, and
some of these tests time how fast Ray restarts a killed trial.
"""

from __future__ import annotations

from typing import Any

# Every test file that starts Ray (embedded, or a head in its own namespaces).
RAY_FILES = frozenset({
    "tests/cli/test_tune.py",
    "tests/e2e/test_bench.py",
    "tests/e2e/test_ray_cluster.py",
    "tests/e2e/test_ray_node_loss.py",
    "tests/e2e/test_sweep.py",
    "tests/e2e/test_sweep_faults.py",
    "tests/e2e/test_sweep_tracking.py",
})


def unit_of(nodeid: str) -> str:
    """The unit of work a test belongs to: "ray" for the Ray files, else its file."""
    path = nodeid.split("::", 1)[0]
    return "ray" if path in RAY_FILES else path


def make_scheduler(config: Any, log: Any) -> Any:
    """xdist's scheduling by scope, the scope being `unit_of` the test."""
    from xdist.scheduler import LoadScopeScheduling

    class ByUnit(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid)

    return ByUnit(config, log)
