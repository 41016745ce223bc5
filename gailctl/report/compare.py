"""`gailctl compare`: final scores of runs side by side, and the config keys that differ.

Data only (columns and rows); `gailctl.report.run_tables` prints them.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional, Sequence

from gailctl.core.errors import UsageError
from gailctl.core.runs import command_cwd, is_run_dir
from gailctl.report.grouping import differing_keys, flatten_config
from gailctl.report.run_info import experiment_kind, experiment_trials, load_run_config, read_run_info, summary_or_none
from gailctl.report.run_scores import final_scores, number


SCORE_COLUMNS = ["run", "stage", "algorithm", "status", "n_env_steps", "wall_s", "final_episodes", "final_deterministic",
                 "return_mean", "return_std", "normalized_score", "sampled_normalized_score", "last_round_normalized_score",
                 "last_round_episodes"]
"""compare_runs' first columns (scores: the final evaluation, argmax where the run has both
modes; `last_round_*` the last per-round evaluation of a gail run); the config keys that differ follow."""

_INPUT_KEYS = {"eval": ("policy",)}
"""Inputs a stage's config does not record (record.expert and gail.demos are written into
the config); compared as `input.<name>`, relative paths resolved from command.txt's `cd`."""


def _inputs(run_dir: Path, stage: Optional[str], summary: dict[str, Any]) -> dict[str, Any]:
    found = {}
    for name in _INPUT_KEYS.get(stage or "", ()):
        value = summary.get(name)
        if isinstance(value, str) and value:
            cwd = command_cwd(run_dir)
            if value != "random" and not Path(value).is_absolute() and cwd is not None:
                value = str(cwd / value)
            found[f"input.{name}"] = value
    return found


def compare_runs(run_dirs: Sequence[Path]) -> tuple[list[str], list[dict[str, Any]]]:
    """Final scores of runs side by side, with the config keys that differ between them.

    Returns:
        A sweep, tune or bench folder among `run_dirs` stands for its trials.
        (columns, rows): SCORE_COLUMNS then every flattened config key (`gail.ppo.learning_rate`)
        whose value is not the same in all runs (eval runs also compare their `input.policy`).
        One row per run in the given order; a config key a run lacks is absent from its row;
        unknown scores are None.
    """
    if not run_dirs:
        raise UsageError("nothing to compare: no run folders given")
    run_dirs = [t for d in run_dirs for t in (experiment_trials(d) if experiment_kind(d) else [d])]
    if not run_dirs:
        raise UsageError("nothing to compare: the sweep, tune or bench folders given have no trials yet")
    flats, rows = [], []
    for d in run_dirs:
        d = Path(d)
        if not d.exists():
            raise UsageError(f"{d}: no such run folder")
        if not is_run_dir(d):
            raise UsageError(f"{d}: not a gailctl run folder (expected config.yaml and command.txt in it)")
        summary = summary_or_none(d) or {}
        info, _ = read_run_info(d, datetime.now(timezone.utc))
        scores = final_scores(info.stage, summary)
        rows.append({"run": info.id, "stage": info.stage, "algorithm": info.algorithm, "status": info.status,
                     "n_env_steps": info.n_env_steps, "wall_s": number(summary.get("wall_s")),
                     "final_episodes": scores.episodes, "final_deterministic": scores.deterministic, "return_mean": scores.return_mean, "return_std": scores.return_std,
                     "normalized_score": scores.normalized_score, "sampled_normalized_score": scores.sampled_normalized_score,
                     "last_round_normalized_score": scores.last_round_normalized_score,
                     "last_round_episodes": scores.last_round_episodes})
        flats.append({**flatten_config(load_run_config(d)), **_inputs(d, info.stage, summary)})
    diff = differing_keys(flats)
    for row, flat in zip(rows, flats):
        row.update({k: flat[k] for k in diff if k in flat})
    return SCORE_COLUMNS + diff, rows
