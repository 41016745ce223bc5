"""Which tasks have an upright test, told from the env id alone.

The config refuses `record.min_upright_share` on a task without one before any env is made (and
without importing gymnasium); `gailctl.rl.upright` holds the test itself, read from the simulator,
and the unit tests check that both agree on every shipped task.
"""

from __future__ import annotations

import re

UPRIGHT_TASKS = ("Hopper", "Walker2d", "Ant", "Humanoid")
"""MuJoCo locomotion tasks with healthy conditions (gymnasium's `is_healthy`), hence an upright share."""

_NAME = re.compile(r"^(?:.*/)?(?P<name>[A-Za-z0-9_]+)-v\d+$")


def has_upright_test(env_id: str) -> bool:
    """True for Hopper, Walker2d, Ant and Humanoid ids (`seals/Ant-v1`, `Hopper-v4`), false for any other."""
    match = _NAME.match(env_id)
    return match is not None and match.group("name") in UPRIGHT_TASKS
