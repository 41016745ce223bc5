"""Inspecting run folders: list them, plot their learning curves, compare their configs.

Pure functions that read run folders and return data (or write one PNG); the CLI prints.
Only stdlib, yaml and gailctl's light modules are imported here: matplotlib, numpy and rich
are imported inside the functions that draw, so `gailctl --help` stays fast.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import shlex
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional, Sequence

import yaml

from gailctl.core.errors import UsageError
from gailctl.core.metrics import read_metrics
from gailctl.report.run_scores import ALGORITHMS, FinalScores, final_scores, number
from gailctl.core.runs import atomic_path, is_run_dir, read_summary, stage_from_folder_name

log = logging.getLogger(__name__)

STAGES = ("expert", "record", "gail", "bc", "eval", "sweep", "bench", "tune")
"""Every `stage` a run folder's summary.json can name; `runs --stage` takes each of them."""
STATUSES = ("running", "finished", "interrupted", "failed", "stale", "unknown")
"""`summary.json` statuses, plus `stale` (says running, but its run.lock is free: the process
died without a word) and `unknown` (no readable summary.json)."""

DISC_LOSS = "disc_loss"
DISC_ACC_KEYS = ("disc_acc_expert", "disc_acc_gen")
_SCAN_DEPTH = 3  # runs_dir/sweep/sub/run is found; a run folder's own insides are never walked

# --- small readers ---------------------------------------------------------------------


_number = number


def _int(value: Any) -> Optional[int]:
    x = _number(value)
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


def _summary_or_none(run_dir: Path) -> Optional[dict[str, Any]]:
    try:
        summary = read_summary(run_dir)
    except UsageError:
        return None
    return summary if isinstance(summary, dict) and summary else None


def _stage_from_name(name: str) -> Optional[str]:
    stage = stage_from_folder_name(name)
    return stage if stage in STAGES else None


def _lock_is_free(run_dir: Path) -> Optional[bool]:
    """True when `run.lock` exists and nobody holds it; None when we cannot tell."""
    try:
        import fcntl
    except ImportError:  # not a POSIX system
        return None
    try:
        fd = os.open(Path(run_dir) / "run.lock", os.O_RDONLY)
    except OSError:  # no lock file (a run from before locks existed) or unreadable
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError:
            return None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


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
        if row and None not in row.values() and _number(row.get("n_env_steps")) is not None:
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

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        return data


def _algorithm(stage: Optional[str], summary: dict[str, Any], config: dict[str, Any], name: str) -> Optional[str]:
    """A gail-stage run's algorithm from its summary, else its config, else its folder name."""
    if stage != "gail":
        return _STAGE_ALGORITHMS.get(stage or "")
    gail_section = config.get("gail") if isinstance(config.get("gail"), dict) else {}
    for found in (summary.get("algorithm"), gail_section.get("algorithm"), name.split("__", 1)[0]):
        if found in ALGORITHMS:
            return str(found)
    return "gail"


def _run_info(run_dir: Path, now: datetime) -> tuple[RunInfo, float]:
    """The RunInfo and the start time (epoch seconds) it sorts by."""
    summary = _summary_or_none(run_dir)
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
        if status == "running" and _lock_is_free(run_dir):
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
        algorithm=_algorithm(stage, s, config, run_dir.name),
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
    found = [_run_info(d, now) for d in dirs]
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


# --- configs: flatten, group, differ ----------------------------------------------------


def flatten_config(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"gail": {"ppo": {"learning_rate": 1e-3}}}` -> `{"gail.ppo.learning_rate": 1e-3}`.

    Lists stay whole values (`gail.reward_net.hid_sizes: [32, 32]`); an empty section is a value.
    """
    flat: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten_config(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


_MISSING = object()


def differing_keys(flat_configs: Sequence[dict[str, Any]]) -> list[str]:
    """Keys whose values are not the same in all configs (a key some lack counts), in the
    order they first appear."""
    keys: dict[str, None] = {}
    for flat in flat_configs:
        keys.update(dict.fromkeys(flat))
    return [
        k for k in keys
        if any(flat.get(k, _MISSING) != flat_configs[0].get(k, _MISSING) for flat in flat_configs[1:])
    ]


def _without_seed(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k != "seed"}


@dataclass(frozen=True)
class RunGroup:
    """Runs of one stage whose configs are equal except for `seed`: seeds of one experiment."""

    label: str
    """What sets this group apart from the others (`gail.ppo.learning_rate=0.001 (2 seeds)`)."""
    run_dirs: tuple[Path, ...]


def _short(value: Any, width: int = 28) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    elif isinstance(value, float):
        text = f"{value:g}"
    elif isinstance(value, str) and "/" in value:
        text = "/".join(Path(value).parts[-2:])  # paths: their last two parts tell them apart
    else:
        text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def group_runs(run_dirs: Sequence[Path], *, max_label_keys: int = 3) -> list[RunGroup]:
    """Group runs whose stage is the same and whose config.yaml are equal once `seed` is
    removed, in the order each group's first run appears."""
    keyed: dict[str, list[tuple[Path, dict[str, Any], Optional[int]]]] = {}
    for run_dir in run_dirs:
        config = load_run_config(run_dir)
        stage = _run_stage(run_dir)
        key = json.dumps([stage, _without_seed(config)], sort_keys=True, default=str)
        keyed.setdefault(key, []).append((Path(run_dir), config, _int(config.get("seed"))))
    members = list(keyed.values())
    reps = [{"stage": _run_stage(m[0][0]), **flatten_config(_without_seed(m[0][1]))} for m in members]
    distinct = _label_keys(differing_keys(reps), {r["stage"] for r in reps}) if len(reps) > 1 else []
    names = _short_keys(distinct[:max_label_keys])
    groups = []
    for rep, runs in zip(reps, members):
        if distinct:
            parts = [f"{names[k]}={_short(rep.get(k, '—'))}" if k != "stage" else _short(rep[k]) for k in distinct[:max_label_keys]]
            if len(distinct) > max_label_keys:
                parts.append("…")
            label = ", ".join(parts)
        else:
            env = rep.get("env.id")
            label = " ".join(str(x) for x in (rep.get("stage"), env) if x) or runs[0][0].name
        seeds = [s for _, _, s in runs]
        if len(runs) > 1:
            label += f" ({len(runs)} seeds)" if len(set(seeds)) == len(seeds) else f" ({len(runs)} runs)"
        elif seeds[0] is not None:
            label += f" (seed {seeds[0]})"
        groups.append(RunGroup(label=label, run_dirs=tuple(p for p, _, _ in runs)))
    return groups


def _label_keys(keys: list[str], stages: set[Optional[str]]) -> list[str]:
    """Keys that tell groups apart, most telling first: the stage, the stages' own sections,
    env, other sections (an expert setting does not explain a GAIL curve), references."""

    def rank(key: str) -> int:
        head = key.split(".", 1)[0]
        if key == "stage":
            return 0
        if head in stages:
            return 1
        if head == "env":
            return 2
        return 4 if head == "references" else 3

    return sorted(keys, key=rank)


def _short_keys(keys: list[str]) -> dict[str, str]:
    """`gail.ppo.learning_rate` -> `ppo.learning_rate`, unless two keys would then read alike."""
    short = {k: ".".join(k.split(".")[-2:]) for k in keys}
    clashes = {v for v in short.values() if list(short.values()).count(v) > 1}
    return {k: (k if v in clashes else v) for k, v in short.items()}


def _run_stage(run_dir: Path) -> Optional[str]:
    summary = _summary_or_none(run_dir) or {}
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
    summary = _summary_or_none(path) or {}
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


# --- plot ------------------------------------------------------------------------------


def _check_plottable(run_dir: Path) -> Path:
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise UsageError(f"{run_dir}: no such run folder")
    if not is_run_dir(run_dir):
        raise UsageError(f"{run_dir}: not a gailctl run folder (expected config.yaml and command.txt in it)")
    if not (run_dir / "metrics.csv").is_file():
        raise UsageError(f"{run_dir}: no metrics.csv (the run stopped before its first evaluation?)")
    return run_dir


def _read_rows(run_dir: Path) -> list[dict[str, str]]:
    try:
        return read_metrics(run_dir)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"{run_dir / 'metrics.csv'}: cannot read it: {exc}") from None


def _series(rows: list[dict[str, str]], column: str) -> tuple[list[float], list[float]]:
    """(n_env_steps, value) pairs for rows where both are numbers, sorted by steps."""
    pairs = [(x, y) for row in rows if (x := _number(row.get("n_env_steps"))) is not None
             and (y := _number(row.get(column))) is not None]
    pairs.sort(key=lambda p: p[0])
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _references(config: dict[str, Any]) -> tuple[Optional[float], Optional[float]]:
    refs = config.get("references") if isinstance(config.get("references"), dict) else {}
    return _number(refs.get("random_return")), _number(refs.get("expert_return"))


@dataclass
class _Run:
    path: Path
    config: dict[str, Any]
    rows: list[dict[str, str]]

    @property
    def columns(self) -> set[str]:
        return set(self.rows[0]) if self.rows else set()


def _y_column(run: _Run, y: str) -> Optional[str]:
    """The column holding `y` in this run (record and eval runs call the return `return`)."""
    if y in run.columns:
        return y
    if y == "return_mean" and "return" in run.columns:
        return "return"
    return None


def _mean_band(curves: list[tuple[list[float], list[float]]]) -> Optional[tuple[Any, Any, Any, Any]]:
    """Mean, min and max of curves on the steps they all cover (interpolated where their
    evaluation steps differ); None when they share no range."""
    import numpy as np

    curves = [c for c in curves if c[0]]
    if not curves:
        return None
    lo = max(c[0][0] for c in curves)
    hi = min(c[0][-1] for c in curves)
    if lo > hi:
        return None
    grid = np.array(sorted({x for xs, _ in curves for x in xs if lo <= x <= hi}))
    stack = np.stack([np.interp(grid, xs, ys) for xs, ys in curves])
    return grid, stack.mean(axis=0), stack.min(axis=0), stack.max(axis=0)


def run_labels(run_dirs: Sequence[Path]) -> list[str]:
    """A legend label per run: algorithm (or stage), env and seed, or only the parts of those
    that differ between the runs; runs those parts do not tell apart also get the config
    values that differ, and as a last resort their folder names."""
    facts = []
    for d in run_dirs:
        summary = _summary_or_none(Path(d)) or {}
        try:
            config = load_run_config(Path(d))
        except UsageError:
            config = {}
        stage = _run_stage(Path(d))
        env_section = config.get("env") if isinstance(config.get("env"), dict) else {}
        env = summary.get("env_id") or env_section.get("id")
        seed = _int(summary.get("seed", config.get("seed")))
        what = _algorithm(stage, summary, config, Path(d).name) if stage == "gail" else stage
        facts.append(([what or "?", str(env or "?"),
                       "seed ?" if seed is None else f"seed {seed}"], config))
    if len(facts) == 1:
        return [" ".join(facts[0][0])]
    differ = [i for i in range(3) if len({f[0][i] for f in facts}) > 1]
    labels = [" ".join(f[0][i] for i in differ) for f in facts]
    if len(set(labels)) < len(labels):
        flats = [flatten_config(_without_seed(c)) for _, c in facts]
        keys = _label_keys(differing_keys(flats), set())[:2]
        names = _short_keys(keys)
        labels = [", ".join([lab] * bool(lab) + [f"{names[k]}={_short(flat.get(k, '—'))}" for k in keys])
                  for lab, flat in zip(labels, flats)]
    if len(set(labels)) < len(labels) or not all(labels):
        labels = [Path(d).name for d in run_dirs]
    return labels


def plot_runs(run_dirs: Sequence[Path], out: Path, *, y: str = "auto", group: bool = False) -> Path:
    """Learning curves of runs vs env steps, as one PNG; returns `out`.

    Args:
        run_dirs: run folders with a metrics.csv.
        out: the .png to write (atomically: a reader never sees half a file).
        y: a metrics.csv column; "auto" is `normalized_score` when every run's config has
            both references, else `return_mean`. Rows where it is empty are skipped (GAIL
            rows carry returns only on evaluation rounds).
        group: draw runs whose configs differ only in `seed` as one mean line with a
            min-max band, labelled by what sets the groups apart; otherwise one line per run.
            A sweep, tune or bench folder among `run_dirs` stands for its trials, grouped.

    GAIL runs get two more panels: the discriminator's loss and its accuracy on expert and
    on generator samples.
    """
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise UsageError(f"{out}: expected a file name ending in .png")
    if out.is_dir():
        raise UsageError(f"{out}: is a folder; expected a .png file name")
    if not run_dirs:
        raise UsageError("nothing to plot: no run folders given")
    run_dirs, expanded = expand_experiments(run_dirs)
    group = group or expanded
    runs = []
    for d in run_dirs:
        d = _check_plottable(d)
        runs.append(_Run(d, load_run_config(d), _read_rows(d)))
    if y == "auto":
        y = "normalized_score" if all(None not in _references(r.config) for r in runs) else "return_mean"
    if not any(_y_column(r, y) for r in runs):
        available = sorted({c for r in runs for c in r.columns} - {"n_env_steps"})
        raise UsageError(f"y = {y!r}: no such column in metrics.csv; expected one of {', '.join(available)}")
    try:
        from matplotlib.figure import Figure
        from matplotlib.ticker import EngFormatter
    except ImportError:
        raise UsageError("plotting needs matplotlib: pip install matplotlib") from None

    by_path = {r.path: r for r in runs}
    if group:
        series = [(g.label, [by_path[p] for p in g.run_dirs]) for g in group_runs([r.path for r in runs])]
    else:
        series = list(zip(run_labels([r.path for r in runs]), ([r] for r in runs)))
    is_gail = any(_series(r.rows, DISC_LOSS)[0] for r in runs)

    # Fixed margins rather than constrained layout: as readable here, and half the time.
    fig = Figure(figsize=(9, 9 if is_gail else 5), dpi=100)
    if is_gail:
        ax, ax_loss, ax_acc = fig.subplots(3, 1, sharex=True, height_ratios=[2, 1, 1])
        fig.subplots_adjust(left=0.1, right=0.98, top=0.96, bottom=0.06, hspace=0.08)
    else:
        ax, ax_loss, ax_acc = fig.subplots(1, 1), None, None
        fig.subplots_adjust(left=0.1, right=0.98, top=0.93, bottom=0.11)

    def draw(axis: Any, curves: list[tuple[list[float], list[float]]], color: str, label: Optional[str], style: str = "-") -> None:
        curves = [c for c in curves if c[0]]
        if not curves:
            return
        band = _mean_band(curves) if len(curves) > 1 else None
        if band is not None:
            grid, mean, lo, hi = band
            axis.plot(grid, mean, style, color=color, label=label, lw=1.6)
            axis.fill_between(grid, lo, hi, color=color, alpha=0.2, lw=0)
        else:  # one run, or seeds that share no step range: each line drawn, labelled once
            for i, (xs, ys) in enumerate(curves):
                axis.plot(xs, ys, style, color=color, label=label if i == 0 else None, lw=1.4,
                          marker="." if len(xs) < 30 else None)

    n_points = 0
    for i, (label, members) in enumerate(series):
        color = f"C{i % 10}"
        curves = []
        for r in members:
            col = _y_column(r, y)
            xs, ys = _series(r.rows, col) if col else ([], [])
            if not xs:
                log.warning("%s: no %s values in metrics.csv; not plotted", r.path, y)
            n_points += len(xs)
            curves.append((xs, ys))
        draw(ax, curves, color, label)
        if ax_loss is not None and ax_acc is not None:
            draw(ax_loss, [_series(r.rows, DISC_LOSS) for r in members], color, None)
            draw(ax_acc, [_series(r.rows, DISC_ACC_KEYS[0]) for r in members], color, None, "-")
            draw(ax_acc, [_series(r.rows, DISC_ACC_KEYS[1]) for r in members], color, None, "--")
    if n_points == 0:
        names = ", ".join(r.path.name for r in runs)
        raise UsageError(f"nothing to plot: no {y} values in the metrics.csv of {names}")

    # Reference lines: where random play and the expert score.
    if y == "normalized_score":
        ax.axhline(1.0, color="tab:green", ls="--", lw=1, label="expert (1.0)")
        ax.axhline(0.0, color="tab:gray", ls=":", lw=1.2, label="random (0.0)")
    elif y in ("return_mean", "return"):
        randoms = sorted({v for r in runs if (v := _references(r.config)[0]) is not None})
        experts = sorted({v for r in runs if (v := _references(r.config)[1]) is not None})
        for v in experts:
            ax.axhline(v, color="tab:green", ls="--", lw=1, label=f"expert return ({v:g})")
        for v in randoms:
            ax.axhline(v, color="tab:gray", ls=":", lw=1.2, label=f"random return ({v:g})")
    ylabels = {
        "normalized_score": "normalized score\n(random = 0, expert = 1)",
        "return_mean": "mean return\n(evaluation episodes)",
    }
    ax.set_ylabel(ylabels.get(y, y))
    title = runs[0].path.name if len(runs) == 1 else f"{len(runs)} runs"
    if group and any(len(m) > 1 for _, m in series):
        title += " (lines: mean over seeds; bands: min–max)"
    ax.set_title(title, fontsize="medium")
    ax.legend(fontsize="small", loc="best", framealpha=0.85)
    ax.grid(True, alpha=0.3)
    bottom = ax
    if ax_loss is not None and ax_acc is not None:
        ax_loss.axhline(math.log(2), color="black", ls=":", lw=1, label="log 2 (cannot tell apart)")
        ax_loss.set_ylabel("discriminator\nloss")
        ax_loss.legend(fontsize="small", loc="best", framealpha=0.85)
        ax_acc.axhline(0.5, color="black", ls=":", lw=1)
        ax_acc.plot([], [], "-", color="black", label="on expert samples")
        ax_acc.plot([], [], "--", color="black", label="on generator samples")
        ax_acc.set_ylabel("discriminator\naccuracy")
        ax_acc.set_ylim(-0.05, 1.05)
        ax_acc.legend(fontsize="small", loc="best", framealpha=0.85)
        for a in (ax_loss, ax_acc):
            a.grid(True, alpha=0.3)
        bottom = ax_acc
    bottom.set_xlabel("environment steps (n_env_steps)")
    bottom.xaxis.set_major_formatter(EngFormatter(sep=""))

    try:
        with atomic_path(out) as tmp:
            fig.savefig(tmp, format="png")
    except OSError as exc:
        raise UsageError(f"{out}: cannot write it: {exc.strerror or exc}") from None
    return out


def gail_curve_png(run_dir: Path) -> Optional[Path]:
    """Write `<run_dir>/curves.png` for one GAIL run; None (and a logged warning) if it cannot.

    Meant for the end of training: a missing matplotlib or an odd metrics file must not
    turn a finished run into a failed one.
    """
    run_dir = Path(run_dir)
    try:
        return plot_runs([run_dir], run_dir / "curves.png")
    except Exception as exc:  # noqa: BLE001 - a picture is never worth a failed run
        log.warning("%s: no curves.png: %s", run_dir, exc)
        return None


# --- compare ---------------------------------------------------------------------------

SCORE_COLUMNS = ["run", "stage", "algorithm", "status", "n_env_steps", "wall_s", "final_episodes", "final_deterministic",
                 "return_mean", "return_std", "normalized_score", "sampled_normalized_score", "last_round_normalized_score",
                 "last_round_episodes"]
"""compare_runs' first columns (scores: the final evaluation, argmax where the run has both
modes; `last_round_*` the last per-round evaluation of a gail run); the config keys that differ follow."""

_INPUT_KEYS = {"eval": ("policy",)}
"""Inputs a stage's config does not record (record.expert and gail.demos are written into
the config); compared as `input.<name>`, relative paths resolved from command.txt's `cd`."""


def _command_cwd(run_dir: Path) -> Optional[Path]:
    try:
        words = shlex.split((run_dir / "command.txt").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return Path(words[1]) if len(words) > 2 and words[0] == "cd" and words[2] == "&&" else None


def _inputs(run_dir: Path, stage: Optional[str], summary: dict[str, Any]) -> dict[str, Any]:
    found = {}
    for name in _INPUT_KEYS.get(stage or "", ()):
        value = summary.get(name)
        if isinstance(value, str) and value:
            cwd = _command_cwd(run_dir)
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
        summary = _summary_or_none(d) or {}
        info, _ = _run_info(d, datetime.now(timezone.utc))
        scores = final_scores(info.stage, summary)
        rows.append({"run": info.id, "stage": info.stage, "algorithm": info.algorithm, "status": info.status,
                     "n_env_steps": info.n_env_steps, "wall_s": _number(summary.get("wall_s")),
                     "final_episodes": scores.episodes, "final_deterministic": scores.deterministic, "return_mean": scores.return_mean, "return_std": scores.return_std,
                     "normalized_score": scores.normalized_score, "sampled_normalized_score": scores.sampled_normalized_score,
                     "last_round_normalized_score": scores.last_round_normalized_score,
                     "last_round_episodes": scores.last_round_episodes})
        flats.append({**flatten_config(load_run_config(d)), **_inputs(d, info.stage, summary)})
    diff = differing_keys(flats)
    for row, flat in zip(rows, flats):
        row.update({k: flat[k] for k in diff if k in flat})
    return SCORE_COLUMNS + diff, rows
