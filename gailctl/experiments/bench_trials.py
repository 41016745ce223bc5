"""A bench's trial list on disk: saved before Ray starts, each result logged as its trial ends.

What `gailctl bench --resume` continues from: the trials that did not finish run again, the
finished ones (from the list, or from the log when the bench was killed before Ray returned)
are kept.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

from gailctl.core.runs import atomic_write_text

TRIALS_FILE = "trials.json"
"""The bench's trial list (the Ray payload: configs as plain data), labels, report places, and
each trial's result once known: what `--resume` reruns the unfinished trials from."""

RESULTS_LOG = "trial-results.jsonl"
"""Each trial's result, appended as it arrives: what `--resume` keeps if the bench was killed before Ray returned."""


def run_trials(bench_dir: Path, trial_list: dict[str, Any], *, address: Optional[str],
               max_concurrent: Optional[int]) -> list[dict[str, Any]]:
    """The trial list's unfinished trials on Ray, in its order; every trial's result, in the sweeps' order.

    The list is saved before Ray starts and again with the results, so a stopped bench can resume.
    """
    from gailctl.experiments.sweep import run_payload

    payload, labels, results = trial_list["payload"], trial_list["labels"], list(trial_list["results"])
    for index, result in logged_results(bench_dir / RESULTS_LOG).items():  # finished before a SIGKILL
        if results[index] is None or results[index].get("status") != "finished":
            results[index] = result
    pending = [i for i, r in enumerate(results) if r is None or r.get("status") != "finished"]
    trial_list = {**trial_list, "results": results}
    atomic_write_text(bench_dir / TRIALS_FILE, json.dumps(trial_list, indent=1) + "\n")
    earlier = len(list(bench_dir.glob("tune*")))  # each invocation's Tune files in a folder of their own
    ran = run_payload({**payload, "trials": [payload["trials"][i] for i in pending]}, [labels[i] for i in pending],
                      what="trial(s) left, longest first" if earlier else "trial(s), longest first",
                      run_dir=bench_dir, address=address, max_concurrent=max_concurrent, info={},
                      name=f"tune-{earlier + 1}" if earlier else "tune", record=(bench_dir / RESULTS_LOG, pending))
    for i, result in zip(pending, ran):
        results[i] = result
    atomic_write_text(bench_dir / TRIALS_FILE, json.dumps(trial_list, indent=1) + "\n")  # its results list, now filled
    return [r for _place, r in sorted(zip(trial_list["places"], results), key=lambda pr: pr[0])]


def logged_results(path: Path) -> dict[int, dict[str, Any]]:
    """The finished trials' results in a bench's RESULTS_LOG, by trial number (a torn last line is skipped)."""
    found: dict[int, dict[str, Any]] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("status") == "finished":
                found[int(entry.pop("trial"))] = entry
    return found
