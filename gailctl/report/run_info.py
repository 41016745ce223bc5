"""Reading run folders: what one run is (`RunInfo`), `gailctl runs`' listing, experiment folders.

Pure functions that read run folders (summary.json, config.yaml, the tail of metrics.csv, the
run lock) and return data; `gailctl.report.run_tables` prints it. Sweep, tune and bench
folders (many runs under `trials/`) are recognised and expanded here. Stdlib and yaml only.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional, Sequence

import yaml

from gailctl.core import summaries
from gailctl.core.errors import UsageError
from gailctl.core.runs import is_run_dir, lock_is_free, read_summary, stage_from_folder_name
from gailctl.core.findings import read_findings
from gailctl.report.run_scores import ALGORITHMS, FinalScores, final_scores, number

log = logging.getLogger(__name__)

STAGES = (*summaries.STAGES, "sweep", "bench", "tune")
"""Every `stage` a run folder's summary.json can name; `runs --stage` takes each of them."""
STATUSES = ("running", "finished", "interrupted", "failed", "stale", "unknown")
"""`summary.json` statuses, plus `stale` (says running, but its run.lock is free: the process
died without a word) and `unknown` (no readable summary.json)."""

_SCAN_DEPTH = 3  # runs_dir/sweep/sub/run is found; a run folder's own insides are never walked

# --- small readers ---------------------------------------------------------------------


def _int(value: Any) -> Optional[int]:
    x = number(value)
    return None if x is None else int(x)


def load_run_config(run_dir: Path) -> dict[str, Any]:
    """A run's `config.yaml` as the plain dict it was written from (no validation: old runs
    whose keys a newer gailctl renamed still load)."""
    path = Path(run_dir) / "config.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file; expected a gailctl run folder") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read it: {exc}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: invalid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping of config sections, got {type(data).__name__}")
    return data


def summary_or_none(run_dir: Path) -> Optional[dict[str, Any]]:
    """A run's summary.json as a dict, or None when it is missing, unreadable or empty."""
    try:
        summary = read_summary(run_dir)
    except UsageError:
        return None
    return summary if isinstance(summary, dict) and summary else None


def _stage_from_name(name: str) -> Optional[str]:
    stage = stage_from_folder_name(name)
    return stage if stage in STAGES else None


def _last_metrics_row(run_dir: Path) -> Optional[dict[str, str]]:
    """The last complete row of metrics.csv, reading only the file's tail (runs grow long)."""
    path = Path(run_dir) / "metrics.csv"
    try:
        with open(path, "rb") as fh:
            header = fh.readline()
            size = fh.seek(0, os.SEEK_END)
            start = max(len(header), size - 65536)
            fh.seek(start)
            tail = fh.read()
    except OSError:
        return None
    lines = tail.decode("utf-8", "replace").splitlines()
    if start > len(header) and lines:
        lines = lines[1:]  # the seek landed inside a line
    for line in reversed(lines):
        if not line.strip():
            continue
        reader = csv.DictReader(io.StringIO(header.decode("utf-8", "replace") + line + "\n"))
        row = next(reader, None)
        if row and None not in row.values() and number(row.get("n_env_steps")) is not None:
            return row
    return None


def _parse_started(text: Any) -> Optional[datetime]:
    if not isinstance(text, str) or not text:
        return None
    for parse in (lambda s: datetime.strptime(s, "%Y-%m-%dT%H:%M:%S%z"), datetime.fromisoformat):
        try:
            when = parse(text)
        except ValueError:
            continue
        return when if when.tzinfo else when.astimezone()  # naive: local time, as written
    return None


# --- list ------------------------------------------------------------------------------


_STAGE_ALGORITHMS = {"expert": "ppo", "bc": "bc"}
"""The learning algorithm of the stages that train one; the gail stage's is `gail.algorithm`."""


@dataclass(frozen=True)
class RunInfo:
    """One run folder as `gailctl runs` lists it; None where the folder does not say."""

    id: str
    """The folder's name, `STAGE__ENV__sSEED__TIME` (`airl__...` for an AIRL run of the gail stage)."""
    path: Path
    stage: Optional[str]
    algorithm: Optional[str]
    """What trained the policy: `gail` or `airl` (the gail stage), `ppo` (expert), `bc`; None
    for stages that train nothing (record, eval) and for sweep, tune and bench folders."""
    env_id: Optional[str]
    seed: Optional[int]
    status: str
    """One of STATUSES."""
    n_env_steps: Optional[int]
    """From summary.json, else the last metrics.csv row (a running or killed run's progress)."""
    final_return: Optional[float]
    """Mean return of the run's final evaluation (gail: `final_eval`, argmax actions; expert, bc:
    their last evaluation), of the eval run, or of the demos."""
    normalized_score: Optional[float]
    """`final_return` on the random = 0, expert = 1 scale; None without both references."""
    final_episodes: Optional[int]
    """Episodes of that final evaluation."""
    final_deterministic: Optional[bool]
    """Whether it used argmax actions (True) or sampled ones (False)."""
    sampled_return: Optional[float]
    """gail: the final evaluation with sampled actions (same episode count)."""
    sampled_normalized_score: Optional[float]
    last_round_return: Optional[float]
    """gail: the last per-round evaluation (`eval_episodes` episodes), not the final one."""
    last_round_normalized_score: Optional[float]
    started: Optional[str]
    """summary.json's ISO start time, as written."""
    age_s: Optional[float]
    """Seconds from the start (or, without one, from the folder's command.txt) to `now`."""
    restarts: int = 0
    """How often the run's process died (a worker killed, its node lost) and the run went on
    (summary.json's `restarts`); `gailctl runs` shows it beside the status."""
    findings: tuple[str, ...] = ()
    """Names of what the live doctor found while the run trained (its findings.jsonl), in order;
    `gailctl doctor RUN` says more."""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        data["findings"] = list(self.findings)
        return data


def run_algorithm(stage: Optional[str], summary: dict[str, Any], config: dict[str, Any], name: str) -> Optional[str]:
    """A gail-stage run's algorithm from its summary, else its config, else its folder name."""
    if stage != "gail":
        return _STAGE_ALGORITHMS.get(stage or "")
    gail_section = config.get("gail") if isinstance(config.get("gail"), dict) else {}
    for found in (summary.get("algorithm"), gail_section.get("algorithm"), name.split("__", 1)[0]):
        if found in ALGORITHMS:
            return str(found)
    return "gail"


def read_run_info(run_dir: Path, now: datetime) -> tuple[RunInfo, float]:
    """The RunInfo and the start time (epoch seconds) it sorts by."""
    summary = summary_or_none(run_dir)
    try:
        config = load_run_config(run_dir)
    except UsageError:
        config = {}
    env_section = config.get("env") if isinstance(config.get("env"), dict) else {}
    s = summary or {}
    stage = s.get("stage") if isinstance(s.get("stage"), str) else _stage_from_name(run_dir.name)
    env_id = s.get("env_id") if isinstance(s.get("env_id"), str) else env_section.get("id")
    seed = _int(s.get("seed", config.get("seed")))
    if summary is None or not isinstance(s.get("status"), str):
        status = "unknown"
    else:
        status = s["status"]
        if status == "running" and lock_is_free(run_dir):
            status = "stale"
    n_env_steps = _int(s.get("n_env_steps"))
    if n_env_steps is None:
        last = _last_metrics_row(run_dir)
        n_env_steps = _int(last["n_env_steps"]) if last else None
    scores = final_scores(stage, s) if summary else FinalScores()
    started = s.get("started") if isinstance(s.get("started"), str) else None
    when = _parse_started(started)
    if when is not None:
        t_start = when.timestamp()
    else:
        try:
            t_start = (run_dir / "command.txt").stat().st_mtime
        except OSError:
            t_start = 0.0
    info = RunInfo(
        id=run_dir.name,
        path=run_dir,
        stage=stage,
        algorithm=run_algorithm(stage, s, config, run_dir.name),
        env_id=env_id if isinstance(env_id, str) else None,
        seed=seed,
        status=status,
        n_env_steps=n_env_steps,
        final_return=scores.return_mean,
        normalized_score=scores.normalized_score,
        final_episodes=scores.episodes,
        final_deterministic=scores.deterministic,
        sampled_return=scores.sampled_return_mean,
        sampled_normalized_score=scores.sampled_normalized_score,
        last_round_return=scores.last_round_return_mean,
        last_round_normalized_score=scores.last_round_normalized_score,
        started=started,
        age_s=max(0.0, now.timestamp() - t_start) if t_start else None,
        restarts=len(s["restarts"]) if isinstance(s.get("restarts"), list) else 0,
        findings=tuple(str(f.get("name")) for f in read_findings(run_dir)),
    )
    return info, t_start


def _find_run_dirs(folder: Path, depth: int) -> list[Path]:
    found: list[Path] = []
    try:
        children = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return found
    for child in children:
        if is_run_dir(child):
            found.append(child)
        elif depth > 1:
            found.extend(_find_run_dirs(child, depth - 1))
    return found


def _env_matches(pattern: str, env_id: Optional[str]) -> bool:
    if not env_id:
        return False
    p = pattern.lower()
    slug = env_id.replace("/", "-").lower()  # the form in folder names: seals-CartPole-v0
    return p in env_id.lower() or p in slug


def list_runs(
    runs_dir: Path,
    *,
    stage: Optional[str] = None,
    env: Optional[str] = None,
    status: Optional[str] = None,
    now: Optional[datetime] = None,
) -> list[RunInfo]:
    """Every run folder (config.yaml + command.txt) under `runs_dir`, newest first.

    Args:
        runs_dir: where the runs are; sub-folders that are not runs are searched too
            (a run folder itself lists just that run).
        stage: keep only this stage (one of STAGES; `gail` lists GAIL and AIRL runs, `airl`
            only the AIRL ones).
        env: keep runs whose env id contains this, ignoring case (`cartpole` finds
            `seals/CartPole-v0` and `CartPole-v1`; `seals-CartPole-v0` works too).
        status: keep only this status (one of STATUSES).
        now: the clock for `age_s` (default: the current time).
    """
    runs_dir = Path(runs_dir)
    if not runs_dir.exists():
        raise UsageError(f"{runs_dir}: no such runs folder (runs are created under --runs-dir, default runs/)")
    if not runs_dir.is_dir():
        raise UsageError(f"{runs_dir}: expected a runs folder, got a file")
    if stage is not None and stage not in STAGES and stage != "airl":
        raise UsageError(f"stage = {stage!r}: expected one of {', '.join(STAGES)} (or airl: the gail stage's AIRL runs)")
    if status is not None and status not in STATUSES:
        raise UsageError(f"status = {status!r}: expected one of {', '.join(STATUSES)}")
    if now is None:
        now = datetime.now(timezone.utc)
    elif now.tzinfo is None:
        now = now.astimezone()
    dirs = [runs_dir] if is_run_dir(runs_dir) else _find_run_dirs(runs_dir, _SCAN_DEPTH)
    found = [read_run_info(d, now) for d in dirs]
    found.sort(key=lambda pair: (pair[1], pair[0].id), reverse=True)
    return [
        info
        for info, _ in found
        if (stage is None or info.stage == stage or (stage == "airl" and info.algorithm == "airl"))
        and (status is None or info.status == status)
        and (env is None or _env_matches(env, info.env_id))
    ]


def human_age(seconds: Optional[float]) -> str:
    """45s, 5m, 3h, 2d: how long ago, to the largest whole unit."""
    if seconds is None:
        return "—"
    s = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{s // size}{unit}"
    return f"{s}s"


def run_stage(run_dir: Path) -> Optional[str]:
    summary = summary_or_none(run_dir) or {}
    stage = summary.get("stage")
    return stage if isinstance(stage, str) else _stage_from_name(Path(run_dir).name)


# --- sweep, tune and bench folders -----------------------------------------------------

EXPERIMENT_STAGES = ("sweep", "tune", "bench")
"""Folders that hold many runs (under `trials/`) rather than being one."""


def experiment_kind(path: Path) -> Optional[str]:
    """`sweep`, `tune` or `bench` when `path` is such a folder (its summary.json, else its name
    and a `trials/` folder, says so); None otherwise."""
    path = Path(path)
    if not path.is_dir():
        return None
    summary = summary_or_none(path) or {}
    stage = summary.get("stage")
    if isinstance(stage, str):
        return stage if stage in EXPERIMENT_STAGES else None
    head = stage_from_folder_name(path.name)
    return head if head in EXPERIMENT_STAGES and (path / "trials").is_dir() else None


def experiment_trials(path: Path) -> list[Path]:
    """The run folders under a sweep, tune or bench folder's `trials/`, by name."""
    trials = Path(path) / "trials"
    try:
        return sorted(p for p in trials.iterdir() if is_run_dir(p))
    except OSError:
        return []


def refuse_experiment_folder(path: Path, *, command: str) -> None:
    """`eval SWEEP_DIR`: say what the folder is and what to pass instead, rather than calling
    it an unfinished run."""
    kind = experiment_kind(path)
    if kind is None:
        return
    trials = experiment_trials(path)
    example = f", e.g. {trials[0]}" if trials else ""
    raise UsageError(f"{command} {path}: a {kind} folder, not a run; pass one of its trials ({path / 'trials'}/*){example}; "
                     f"`gailctl runs {path}` lists them with their scores")


def expand_experiments(run_dirs: Sequence[Path]) -> tuple[list[Path], bool]:
    """Sweep, tune and bench folders replaced by their trials' run folders (those with a
    metrics.csv); returns the folders and whether any was expanded."""
    out: list[Path] = []
    expanded = False
    for d in run_dirs:
        kind = experiment_kind(Path(d))
        if kind is None:
            out.append(Path(d))
            continue
        expanded = True
        trials = [t for t in experiment_trials(Path(d)) if (t / "metrics.csv").is_file()]
        if not trials:
            raise UsageError(f"{d}: a {kind} folder with no trial that has a metrics.csv yet (nothing to plot)")
        log.info("%s: a %s folder: plotting its %d trial(s), grouped", d, kind, len(trials))
        out.extend(trials)
    return out, expanded
