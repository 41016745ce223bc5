"""`--track` on sweep, tune and bench: each trial's finished run sent to MLflow or W&B as a run of its own.

The driver sends them once the trials have run, from their run folders (`core.tracking.send_run`),
so Ray workers need no tracker and no credentials, and a tracker never slows or fails a trial. The
runs of one experiment go together: MLflow's experiment and W&B's group are the experiment
folder's name; tags name the trial (`gailctl.trial`, its label, the method, the seed). A sent run's
summary.json records it, so a resumed experiment sends only what it has not sent yet (the trials
finished since, and any an earlier invocation without `--track`, stopped, or refused by the tracker
left unsent); a finished experiment resumed with `--track` sends its unsent trials and runs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from gailctl.core.errors import GailctlError


@dataclass(frozen=True)
class TrialRun:
    """One finished run of an experiment's trial, as the tracker names it."""

    run_dir: Path
    trial: str
    """The trial's number in the experiment's tables (a tune trial: Optuna's trial number)."""
    label: str
    """What the experiment's progress lines call it (`seed=0, gail.disc_lr=0.001`)."""


def listed_runs(trial_list: dict[str, Any]) -> list[TrialRun]:
    """A sweep's or bench's finished trials (`trial_list.TRIALS_FILE`), numbered as the payload numbers them."""
    runs = []
    for i, (label, result) in enumerate(zip(trial_list["labels"], trial_list["results"])):
        if result and result.get("status") == "finished" and result.get("run_dir"):
            runs.append(TrialRun(Path(result["run_dir"]), trial=str(i), label=label))
    return runs


def journal_runs(journal: dict[int, dict[str, Any]]) -> list[TrialRun]:
    """A tune study's run folders (every seed of every trial in `tune_search.JOURNAL`); `send_trials`
    sends those that finished."""
    runs, seen = [], set()
    for number, entry in sorted(journal.items()):
        for run_dir in entry.get("run_dirs") or []:
            if run_dir and run_dir not in seen:  # a resumed trial lists the runs it continued
                seen.add(run_dir)
                runs.append(TrialRun(Path(run_dir), trial=str(number), label=f"trial {number}"))
    return runs


def unsent(runs: Iterable[TrialRun], tracker: Optional[str]) -> int:
    """How many of `runs` finished and were not sent to `tracker` yet (0 without a tracker)."""
    if tracker is None:
        return 0
    from gailctl.core.runs import read_summary
    from gailctl.core.tracking import TRACKED_KEY

    n = 0
    for run in runs:
        try:
            summary = read_summary(run.run_dir)
        except GailctlError:
            continue
        n += summary.get("status") == "finished" and tracker not in (summary.get(TRACKED_KEY) or {})
    return n


def trial_tags(run: TrialRun, summary: dict[str, Any], *, kind: str, experiment: str) -> dict[str, str]:
    """What names a trial's run within its experiment."""
    tags = {"gailctl.experiment": experiment, "gailctl.experiment_kind": kind, "gailctl.trial": run.trial,
            "gailctl.trial_label": run.label, "gailctl.method": str(summary.get("stage")), "gailctl.seed": str(summary.get("seed"))}
    if summary.get("env_id"):
        tags["gailctl.env_id"] = str(summary["env_id"])
    return tags


def send_trials(runs: Iterable[TrialRun], tracker: str, *, exp_dir: Path, kind: str,
                say: Optional[Callable[[str], None]] = None) -> dict[str, int]:
    """Send each finished run not yet sent to `tracker`, grouped under `exp_dir`'s name.

    Never raises: a run the tracker refused is a warning line, and stays unsent (a resumed
    experiment with `--track` tries it again). Returns how many were `sent`, `already` sent, and `failed`.
    """
    from gailctl.core.runs import read_summary
    from gailctl.core.tracking import TRACKED_KEY, send_run

    say = say or _say
    experiment = Path(exp_dir).name
    counts = {"sent": 0, "already": 0, "failed": 0}
    where = ""
    for run in runs:
        try:
            summary = read_summary(run.run_dir)
        except GailctlError as exc:
            say(f"warning: --track {tracker}: trial {run.trial} not sent: {exc}")
            counts["failed"] += 1
            continue
        if summary.get("status") != "finished":
            continue
        if tracker in (summary.get(TRACKED_KEY) or {}):
            counts["already"] += 1
            continue
        sent, line = send_run(run.run_dir, tracker, group=experiment,
                              tags=trial_tags(run, summary, kind=kind, experiment=experiment))
        if sent:
            counts["sent"] += 1
            where = line
        else:
            counts["failed"] += 1
            say(line)
    if counts["sent"] or counts["failed"]:
        already = f", {counts['already']} sent before" if counts["already"] else ""
        failed = f", {counts['failed']} not sent (warnings above)" if counts["failed"] else ""
        last = f"; the last: {where}" if where else ""
        say(f"--track {tracker}: {counts['sent']} trial run(s) sent to {experiment}{already}{failed}{last}")
    return counts


def _say(text: str) -> None:
    from gailctl.core.ui import console

    console.print(text, highlight=False, markup=False, soft_wrap=True)
