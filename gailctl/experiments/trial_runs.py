"""Which run folder each trial of an experiment writes, so that a trial started again goes on there.

An experiment (sweep, bench, tune) keeps `trial-runs.jsonl` in its folder: one JSON line per
start of a trial's run (`key`, `run_dir`, `pid`, `host`, `at`), appended by the Ray worker as
soon as the run folder exists. A trial that starts again (Ray retrying it after its worker died,
or the experiment's `--resume`) finds its key there and
- a finished run: takes its result, nothing runs again;
- an unfinished run of a stage with checkpoints (expert, gail) that wrote one, stopped or lost:
  goes on from its last checkpoint in the same folder (`execute(..., resume_dir=...)`), so each
  round is in its metrics once;
- anything else (bc, no checkpoint yet, a run that failed on its own): starts again in a new run
  folder; a lost one left behind is marked `failed`, saying where the trial went on.

The driver, once Tune has returned, marks each trial's run that its dead worker left saying
`running` (`account_lost`): `interrupted` when the experiment stopped it, else `failed`.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from gailctl.core.errors import UsageError
from gailctl.core.execution import RESUMABLE_STAGES
from gailctl.core.lost_runs import died_unasked, is_lost, mark_lost, restart_entry, was_lost
from gailctl.core.runs import lock_is_free, now_iso, read_summary

RUNS_FILE = "trial-runs.jsonl"
LOCK_WAIT_S = 60.0
"""How long a trial started again waits for the lost process's lock (a dying worker, a lost node's
process that has not yet exited) before it refuses to write the same folder."""


def record_run(runs_file: Path, key: str, run_dir: Path) -> None:
    """Append one start of trial `key` in `run_dir` (one write: lines of several workers do not mix)."""
    line = json.dumps({"key": key, "run_dir": str(run_dir), "pid": os.getpid(), "host": socket.gethostname(), "at": now_iso()})
    fd = os.open(runs_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def recorded_runs(runs_file: Path) -> dict[str, Path]:
    """Each trial key's latest run folder; a torn last line (a killed writer) is skipped."""
    found: dict[str, Path] = {}
    try:
        lines = Path(runs_file).read_text(encoding="utf-8").splitlines()
    except OSError:
        return found
    for line in lines:
        try:
            entry = json.loads(line)
            found[str(entry["key"])] = Path(entry["run_dir"])
        except (ValueError, KeyError, TypeError):
            continue
    return found


@dataclass(frozen=True)
class Continuation:
    """What a trial started again does with its earlier run folder."""

    how: str
    """`finished` (take its result), `resume` (go on in it from its last checkpoint), `new` (a new folder)."""
    run_dir: Path
    summary: dict[str, Any]
    restarts: tuple[dict[str, Any], ...] = ()
    """For `new` after a lost run: the restart the new run's summary starts with."""


def continuation(run_dir: Path, *, stage: str, wait_s: float = LOCK_WAIT_S) -> Continuation:
    """Decide how trial's earlier run `run_dir` goes on (see the module's docstring).

    Raises:
        UsageError: a process still holds the run's lock after `wait_s` (an earlier attempt lives on).
    """
    from gailctl.core.checkpoints import latest_checkpoint

    summary = read_summary(run_dir)
    if summary.get("status") == "finished":
        return Continuation("finished", run_dir, summary)
    deadline = time.monotonic() + wait_s
    while lock_is_free(run_dir) is False and summary.get("status") == "running":
        if time.monotonic() > deadline:
            holder = (Path(run_dir) / "run.lock").read_text(encoding="utf-8").strip() or "another process"
            raise UsageError(f"{run_dir}: still in use by {holder} {wait_s:.0f} s after its trial was started again; "
                             "an earlier attempt of this trial lives on: stop it, then resume the experiment")
        time.sleep(0.5)
        summary = read_summary(run_dir)
    if summary.get("status") == "finished":  # the earlier attempt finished while we waited
        return Continuation("finished", run_dir, summary)
    lost = was_lost(summary, run_dir)
    if stage in RESUMABLE_STAGES and latest_checkpoint(run_dir) is not None and (lost or summary.get("status") == "interrupted"):
        return Continuation("resume", run_dir, summary)
    if not died_unasked(summary, run_dir):  # failed on its own, or stopped before its first checkpoint: it stays as it ended
        return Continuation("new", run_dir, summary)
    entry = {**restart_entry(run_dir, summary, checkpoint=None), "lost_run": Path(run_dir).name}
    mark_lost(run_dir, status="failed", why="its process died before its first checkpoint; the trial started again "
              "from the beginning in a new run folder")
    return Continuation("new", run_dir, summary, restarts=(entry,))


def restart_columns(summary: dict[str, Any]) -> dict[str, Any]:
    """A run's restarts as result columns: how many, and the env steps each went on from (`3840;7680`)."""
    restarts = summary.get("restarts") or []
    return {"restarts": len(restarts),
            "restarted_from": ";".join(str(r.get("from_n_env_steps", 0)) for r in restarts) or None}


def account_lost(trials: Sequence[dict[str, Any]], results: list[dict[str, Any]], runs_file: Optional[Path], *,
                 why_failed: str = "its worker died and Ray gave up on the trial",
                 why_stopped: str = "stopped with the experiment before it finished") -> None:
    """After Tune: each unfinished trial's result names its run folder, and a run its dead worker left
    saying `running` says `interrupted` (the experiment stopped it) or `failed` (Ray gave up on it).

    `trials[i]` is the payload item of `results[i]` (its `key`); results are updated in place.
    """
    runs = recorded_runs(runs_file) if runs_file is not None else {}
    for item, result in zip(trials, results):
        run_dir = runs.get(str(item.get("key")))
        if run_dir is None or result.get("status") == "finished":
            continue
        if not result.get("run_dir"):
            result["run_dir"] = str(run_dir)
        summary = _settled_summary(run_dir)
        if is_lost(summary, run_dir):
            mark_lost(run_dir, status="interrupted" if result.get("status") == "interrupted" else "failed",
                      why=why_stopped if result.get("status") == "interrupted" else why_failed)
            summary = read_summary(run_dir)
        result.update(restart_columns(summary))


def _settled_summary(run_dir: Path, *, wait_s: float = 10.0) -> dict[str, Any]:
    """The run's summary once its process has let go of its lock (a killed actor exits within moments)."""
    deadline = time.monotonic() + wait_s
    summary = read_summary(run_dir)
    while summary.get("status") == "running" and lock_is_free(run_dir) is False and time.monotonic() < deadline:
        time.sleep(0.5)
        summary = read_summary(run_dir)
    return summary


def settle_all(runs_file: Path, *, status: str, why: str) -> int:
    """Every recorded run its dead worker left saying `running` says `status`; how many did."""
    return sum(mark_lost(run_dir, status=status, why=why)
               for run_dir in dict.fromkeys(recorded_runs(runs_file).values()) if _settled_summary(run_dir).get("status") == "running")
