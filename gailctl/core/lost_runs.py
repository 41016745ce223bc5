"""Runs whose process died without a word: telling them apart, saying so, and recording a restart.

A run's `summary.json` says `running` while its process writes it, and that process holds the
run's `run.lock`. A process killed with SIGKILL (a Ray worker killed, its node lost, the OOM
killer) cannot say anything more: its summary still says `running`, but the OS has freed the
lock. That pair is a lost run. Whoever notices (the experiment that ran it, or a resume) writes
what it reached into the summary (`lost`, with status `failed`, or `interrupted` when its
experiment stopped it), and a run that goes on after a death nobody asked for records it in
`restarts` (`gailctl.core.summaries.Restart`).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Optional

from gailctl.core.errors import GailctlError
from gailctl.core.runs import lock_is_free, now_iso, read_summary, write_summary


def is_lost(summary: dict[str, Any], run_dir: Path) -> bool:
    """The run's process died while running: its summary says `running` and nobody holds its lock."""
    return summary.get("status") == "running" and bool(lock_is_free(run_dir))


def was_lost(summary: dict[str, Any], run_dir: Path) -> bool:
    """Lost now, or marked lost by whoever noticed earlier (and not run since)."""
    return is_lost(summary, run_dir) or bool(summary.get("lost"))


def died_unasked(summary: dict[str, Any], run_dir: Path) -> bool:
    """Its process died without anyone asking it to stop (lost now, or marked lost and `failed`):
    going on with it is a restart. A run its experiment stopped (Ctrl-C; marked `interrupted`) is
    only resumed."""
    return is_lost(summary, run_dir) or (bool(summary.get("lost")) and summary.get("status") == "failed")


def last_n_env_steps(run_dir: Path) -> Optional[int]:
    """The env steps of the run's last complete metrics row (None without one)."""
    last = None
    try:
        with open(Path(run_dir) / "metrics.csv", newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                value = row.get("n_env_steps")
                if value and None not in row.values():  # a row cut by the kill is incomplete
                    last = int(float(value))
    except (OSError, ValueError):
        pass
    return last


def lost_facts(run_dir: Path) -> dict[str, Any]:
    """How far a lost run got: now, its last metrics row's env steps, its last complete checkpoint."""
    from gailctl.core.checkpoints import latest_checkpoint

    checkpoint = latest_checkpoint(run_dir)
    return {"at": now_iso(), "n_env_steps": last_n_env_steps(run_dir), "checkpoint": None if checkpoint is None else checkpoint.name}


def mark_lost(run_dir: Path, *, status: str, why: str) -> bool:
    """Say in a lost run's summary that its process died: `status` (failed, interrupted), `why`, and
    how far it got. False (and nothing written) when the run is not lost (it finished, or runs)."""
    summary = read_summary(run_dir)
    if not is_lost(summary, run_dir):
        return False
    facts = lost_facts(run_dir)
    reached = f" at {facts['n_env_steps']:,} env steps" if facts["n_env_steps"] is not None else ""
    write_summary(run_dir, {**summary, "status": status, "error": f"{why}{reached}", "lost": facts})
    return True


def restart_entry(run_dir: Path, previous: dict[str, Any], *, checkpoint: Optional[Path]) -> dict[str, Any]:
    """The `restarts` item of a run that goes on from `checkpoint` (None: from the start) after its
    process died; `previous` is the lost run's summary."""
    lost = previous.get("lost") or {}
    reached = lost.get("n_env_steps", last_n_env_steps(run_dir))
    entry: dict[str, Any] = {"at": now_iso(), "lost_at_n_env_steps": reached,
                             "from_checkpoint": None if checkpoint is None else checkpoint.name, "from_n_env_steps": 0}
    if checkpoint is not None:
        from gailctl.core.checkpoints import read_state

        try:
            entry["from_n_env_steps"] = int(read_state(checkpoint)["n_env_steps"])
        except (GailctlError, KeyError, TypeError, ValueError):  # the stage's own load will say what is wrong
            entry["from_n_env_steps"] = None
    return entry
