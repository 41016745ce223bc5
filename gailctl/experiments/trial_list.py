"""An experiment's trial list on disk (sweep, bench): saved before Ray starts, each result logged as its trial ends.

What `--resume` continues from: the finished trials (from the list, or from the log when the
experiment was killed before Ray returned) are kept; the others run again, each going on from
its own run folder as `trial_runs.continuation` decides (a stopped or lost GAIL or expert run from
its last checkpoint, as `gailctl gail --resume` would; failed, never started, BC, or stopped
before their first checkpoint: from the start). A bench folder written before trials had keys
finds its stopped GAIL runs by their config instead (`stopped_runs`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

from gailctl.core.errors import GailctlError
from gailctl.core.runs import atomic_write_text, is_run_dir, read_summary

RESUMABLE_STAGES = frozenset({"gail"})
"""Stages whose stopped trials an older bench (no trial keys) continues from a checkpoint."""

TRIALS_FILE = "trials.json"
"""The experiment's trial list (the Ray payload: configs as plain data), labels, report places, and
each trial's result once known: what `--resume` reruns the unfinished trials from."""

RESULTS_LOG = "trial-results.jsonl"
"""Each trial's result, appended as it arrives: what `--resume` keeps if the experiment was killed before Ray returned."""


def new_trial_list(payload: dict[str, Any], labels: list[str], places: Optional[list[int]] = None) -> dict[str, Any]:
    """A trial list before anything ran: `places[i]` is trial i's row in the report (default: i)."""
    return {"payload": payload, "labels": labels, "places": places if places is not None else list(range(len(labels))),
            "results": [None] * len(labels)}


def read_trial_list(exp_dir: Path) -> dict[str, Any]:
    return json.loads((Path(exp_dir) / TRIALS_FILE).read_text(encoding="utf-8"))


def run_trials(exp_dir: Path, trial_list: dict[str, Any], *, address: Optional[str], max_concurrent: Optional[int],
               max_failures: int, noun: str = "trial(s)", order: str = "",
               info: Optional[dict[str, Any]] = None) -> list[dict[str, Any]]:
    """The trial list's unfinished trials on Ray, in its order; every trial's result, in the report's order.

    The list is saved before Ray starts and again with the results, so a stopped experiment can
    resume. `noun` and `order` make the announcement (`gail trial(s)`, `, longest first`); `info`
    receives Ray's (see `runner.run_on_ray`).
    """
    from gailctl.core.checkpoints import latest_checkpoint
    from gailctl.experiments.sweep import run_payload
    from gailctl.experiments.trial_runs import recorded_runs

    payload, labels, results = trial_list["payload"], trial_list["labels"], list(trial_list["results"])
    for index, result in logged_results(exp_dir / RESULTS_LOG).items():  # finished before a SIGKILL
        if results[index] is None or results[index].get("status") != "finished":
            results[index] = result
    pending = [i for i, r in enumerate(results) if r is None or r.get("status") != "finished"]
    trial_list = {**trial_list, "results": results}
    atomic_write_text(exp_dir / TRIALS_FILE, json.dumps(trial_list, indent=1) + "\n")
    if not pending:  # killed after its last trial, before its report: nothing to run
        return [r for _place, r in sorted(zip(trial_list["places"], results), key=lambda pr: pr[0])]
    earlier = len(list(exp_dir.glob("tune*")))  # each invocation's Tune files in a folder of their own
    items = payload["trials"]
    stopped = stopped_runs(Path(payload["trials_dir"]), items, [i for i in pending if "key" not in items[i]])  # older benches
    recorded = recorded_runs(Path(payload["runs_file"])) if payload.get("runs_file") else {}
    n_from_checkpoints = len(stopped) + sum(1 for i in pending if str(items[i].get("key")) in recorded
                                            and latest_checkpoint(recorded[str(items[i]["key"])]) is not None)
    trials = [{**items[i], "resume_dir": stopped[i]} if i in stopped else items[i] for i in pending]
    left = f" left ({n_from_checkpoints} from their checkpoints)" if n_from_checkpoints else " left" if earlier else ""
    ran = run_payload({**payload, "trials": trials}, [labels[i] for i in pending], what=f"{noun}{left}{order}",
                      run_dir=exp_dir, address=address, max_concurrent=max_concurrent, max_failures=max_failures,
                      info=info if info is not None else {}, name=f"tune-{earlier + 1}" if earlier else "tune",
                      record=(exp_dir / RESULTS_LOG, pending))
    for i, result in zip(pending, ran):
        results[i] = result
    atomic_write_text(exp_dir / TRIALS_FILE, json.dumps(trial_list, indent=1) + "\n")  # its results list, now filled
    return [r for _place, r in sorted(zip(trial_list["places"], results), key=lambda pr: pr[0])]


def stopped_runs(trials_dir: Path, trials: list[dict[str, Any]], pending: list[int]) -> dict[int, str]:
    """The run folder each pending trial can continue from, by trial number.

    A trial's folder is the one in `trials_dir` whose config.yaml is the trial's config and whose
    summary names the trial's stage (a bench's GAIL trials differ in seed or demonstrations, so at
    most one matches a folder), a stage in RESUMABLE_STAGES, stopped rather than failed or finished
    (`interrupted`, or `running` when a kill left no time to say so), with a complete checkpoint.
    Of several (a trial stopped twice and restarted), the one whose last checkpoint is furthest on.
    """
    import yaml

    from gailctl.core.checkpoints import latest_checkpoint
    from gailctl.core.config_load import config_from_dict, config_to_yaml

    wanted: dict[str, int] = {}
    for i in pending:
        if trials[i].get("stage") in RESUMABLE_STAGES:
            cfg = config_from_dict(trials[i]["config"], source=f"trial {i}")
            wanted[json.dumps(yaml.safe_load(config_to_yaml(cfg)), sort_keys=True)] = i
    found: dict[int, tuple[str, str]] = {}
    for run_dir in sorted(Path(trials_dir).iterdir()) if wanted and Path(trials_dir).is_dir() else []:
        try:
            summary = read_summary(run_dir) if is_run_dir(run_dir) else {}
            if summary.get("status") not in ("interrupted", "running"):
                continue
            key = json.dumps(yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")), sort_keys=True)
        except (GailctlError, OSError, yaml.YAMLError):  # a folder it cannot read is not one to continue
            continue
        i = wanted.get(key)
        if i is None or summary.get("stage") != trials[i]["stage"]:  # a bench's BC trial has its GAIL trial's config
            continue
        checkpoint = latest_checkpoint(run_dir)
        if checkpoint is not None and (i not in found or checkpoint.name > found[i][1]):
            found[i] = (str(run_dir), checkpoint.name)
    return {i: run_dir for i, (run_dir, _name) in found.items()}


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
