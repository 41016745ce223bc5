"""How busy the rest of the machine was while this process measured something.

A speed measured "alone" is only alone if nothing else ran: `other_load` compares the CPU time
the whole machine spent (Linux `/proc/stat`, all cores) with this process's own (`os.times`)
over the same interval. The difference is what other processes took, in CPU-seconds and in
cores kept busy on average. Where `/proc/stat` is absent, it says so (None) rather than guess.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

PROC_STAT = Path("/proc/stat")
BUSY_FIELDS = (0, 1, 2, 5, 6, 7)
"""/proc/stat's `cpu` line: user, nice, system, (idle, iowait skipped), irq, softirq, steal (guest is inside user)."""
ALONE_CORES = 0.05
"""Other processes' mean load, in cores, under which a measurement counts as made alone."""


@dataclass(frozen=True)
class CpuSample:
    wall: float
    """time.monotonic() when taken."""
    machine_busy_s: Optional[float]
    """CPU-seconds every core of the machine has spent busy since boot; None without /proc/stat."""
    own_s: float
    """CPU-seconds this process (all its threads, and children it waited for) has used."""


def _machine_busy_s(stat: Path) -> Optional[float]:
    try:
        first = stat.read_text(encoding="ascii").splitlines()[0].split()
    except (OSError, IndexError, UnicodeDecodeError):
        return None
    if not first or first[0] != "cpu":
        return None
    try:
        ticks = sum(int(first[1 + i]) for i in BUSY_FIELDS)
    except (ValueError, IndexError):
        return None
    return ticks / os.sysconf("SC_CLK_TCK")


def sample(stat: Path = PROC_STAT) -> CpuSample:
    t = os.times()
    return CpuSample(wall=time.monotonic(), machine_busy_s=_machine_busy_s(stat),
                     own_s=t.user + t.system + t.children_user + t.children_system)


def other_load(before: CpuSample, after: CpuSample) -> dict[str, Any]:
    """Other processes' CPU time between two samples: `other_cpu_s`, `other_cores` (their mean load),
    `wall_s`, and `alone` (True under ALONE_CORES); the two figures are None where the machine's
    time could not be read."""
    wall_s = max(after.wall - before.wall, 1e-9)
    if before.machine_busy_s is None or after.machine_busy_s is None:
        return {"wall_s": round(wall_s, 3), "other_cpu_s": None, "other_cores": None, "alone": None}
    other = max(0.0, (after.machine_busy_s - before.machine_busy_s) - (after.own_s - before.own_s))
    cores = other / wall_s
    return {"wall_s": round(wall_s, 3), "other_cpu_s": round(other, 2), "other_cores": round(cores, 3),
            "alone": cores < ALONE_CORES}
