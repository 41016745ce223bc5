"""`gailctl tune`: Optuna's TPE searches config values; every trial is `gail` over seeds, scored from metrics.csv.

Everything is checked before the study starts: the space file (gailctl.experiments.tune_space), every
key at every bound through `load_config`, the seeds, the demonstrations. Then the trials run
on the one Ray Tune runner (`gailctl.experiments.runner`, embedded Ray or `--address`), with
Optuna's TPE sampler as Tune's search algorithm (`gailctl.experiments.tune_search`): each
trial is one point of the space, an ordinary `gail` run folder per seed under `<tune>/trials/`,
scored by the mean over seeds of the space's objective; `--workers` trials at a time. The
study lives in `<tune>/study.db` (SQLite), so `--resume` continues it. After every trial the
folder's trials.csv, results.md and best.yaml are rewritten.

The first trial of a new study runs the config's own values (where they lie in the space):
the baseline the others are measured against.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import os
import shlex
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Optional, Sequence

import yaml

from gailctl.core.config import Config
from gailctl.core.config_load import config_to_yaml, load_config, parse_overrides
from gailctl.core.errors import ConfigError, GailctlError, Interrupted, UsageError
from gailctl.experiments.runner import check_address, import_ray, require_ray, run_on_ray
from gailctl.experiments.tune_search import (
    JOURNAL,
    STUDY_NAME,
    config_values,
    fail_stale,
    make_search,
    open_storage,
    open_study,
    point_trainable,
    progress_callback,
    read_journal,
)
from gailctl.core.runs import atomic_write_text, create_run, now_iso, read_summary, run_lock, write_run_header, write_summary
from gailctl.experiments.sweep import SweepPlan, check_trial_data, markdown_table, parse_seeds, plan_sweep
from gailctl.experiments.tune_space import OBJECTIVE_TEXT, Space, baseline_params, bound_checks, load_space, override, yaml_value

if TYPE_CHECKING:
    from rich.table import Table

DEFAULT_TRIALS = 20
DEFAULT_SEEDS = "0-2"
DEFAULT_SAMPLER_SEED = 0
RUN_SECTIONS = ("seed", "env", "references", "gail")
"""Config sections a gail trial reads: --resume refuses a config whose values there changed."""
OPTUNA_MISSING = "gailctl tune needs optuna (imitation installs it): pip install optuna"


def available_cores() -> int:
    """CPU cores this process may run on (its affinity, not the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


# --- planning: everything checked before a trial runs ----------------------------------


@dataclass(frozen=True)
class TuneOptions:
    """What the study was asked (tune.json), so that --resume plans the very same trials."""

    config: Optional[str]
    """Absolute config path; None for the built-in defaults."""
    space: str
    """The space file as given (the tune folder keeps a copy, space.yaml, which --resume reads)."""
    seeds: str
    set: tuple[str, ...]
    demos: Optional[str]
    sampler_seed: int
    n_trials: int
    cwd: str

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "set": list(self.set)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "TuneOptions":
        return cls(**{**data, "set": tuple(data["set"])})


@dataclass(frozen=True)
class TunePlan:
    options: TuneOptions
    space: Space
    space_source: str
    seeds: tuple[int, ...]
    workers: Optional[int]
    """Trials at a time (--workers); None: one per CPU of the Ray cluster."""
    base: SweepPlan
    """The trials without any space value: the base config, the demonstrations, the commands."""
    baseline: dict[str, Any]
    """The config's own values of the space's keys that lie in the space."""

    @property
    def base_config(self) -> Config:
        return self.base.base_config

    def gail_command(self, sets: Sequence[str], seed: int) -> str:
        """A plain `gailctl gail` command with a trial's values (for best.yaml)."""
        argv = ["gailctl", "gail"]
        if self.options.config is not None:
            argv += ["-c", self.options.config]
        for item in (*self.options.set, *sets):
            argv += ["--set", item]
        argv += ["--seed", str(seed)]
        if self.options.demos is not None:
            argv += ["--demos", self.options.demos]
        return shlex.join(argv)


def _blame_space(message: str, *, space_source: str, what: str, items: Sequence[str]) -> str:
    """load_config blames `--set KEY`; for a space key the user wrote it in the space file."""
    keys = [item.partition("=")[0] for item in items]
    for key in keys:
        prefix = f"--set {key}: "
        if message.startswith(prefix):
            rest = message[len(prefix):]
            return f"{space_source}: {rest}" + (f" (with {what})" if len(items) > 1 else "")
    return f"{message} (with {what} from {space_source})"


def check_workers(workers: Optional[int], *, address: Optional[str]) -> Optional[int]:
    """--workers, trials at a time (one CPU each): on the embedded cluster never more than the cores.

    None leaves it to the runner: one per CPU of the cluster. A cluster given by --address may have
    more CPUs than this machine; Ray queues trials it has no CPU for.
    """
    if workers is None:
        return None
    if workers < 1:
        raise UsageError(f"--workers {workers}: must be at least 1")
    cores = available_cores()
    if address is None and workers > cores:
        raise UsageError(f"--workers {workers}: this machine gives gailctl {cores} core(s); at most --workers {cores} "
                         "(or join a bigger Ray cluster with --address)")
    return workers


def plan_tune(options: TuneOptions, *, space: Space, space_source: str, workers: Optional[int],
              address: Optional[str] = None) -> TunePlan:
    """Validate the study: seeds, workers, the base config, every space key at its bounds.

    Raises:
        UsageError: bad --seeds/--workers/--set, no references for the normalized score.
        ConfigError: a space key or bound the config refuses, in the config's own words.
    """
    seeds = tuple(parse_seeds(options.seeds))
    n_workers = check_workers(workers, address=address)
    if options.n_trials < 1:
        raise UsageError(f"--trials {options.n_trials}: must be at least 1")
    given = parse_overrides(list(options.set))
    if "seed" in given:
        raise UsageError(f"--set seed: a tune takes its seeds from --seeds (e.g. --seeds {DEFAULT_SEEDS})")
    for key in space.params:
        if key in given:
            raise UsageError(f"{space_source}: params.{key}: also given with --set; keep one")
    config_path = None if options.config is None else Path(options.config)
    try:
        base = plan_sweep(stage="gail", config_path=config_path, seeds=options.seeds, overrides=options.set,
                          demos=None if options.demos is None else Path(options.demos))
    except ConfigError:
        raise
    except UsageError as exc:  # the sweep's words for a missing --demos
        raise UsageError(str(exc).replace("sweep --stage gail:", "tune:")) from None
    refs = base.base_config.references
    if refs.random_return is None or refs.expert_return is None:
        raise UsageError(f"{options.config or '<defaults>'}: references.random_return and references.expert_return are "
                         "needed: the tune objective is the normalized score (random = 0, expert = 1)")
    for what, items in bound_checks(space):
        try:
            load_config(config_path, [*options.set, *items])
        except ConfigError as exc:
            raise ConfigError(_blame_space(str(exc), space_source=space_source, what=what, items=items)) from None
    return TunePlan(options=options, space=space, space_source=space_source, seeds=seeds, workers=n_workers, base=base,
                    baseline=baseline_params(space, base.base_config))


# --- messages --------------------------------------------------------------------------


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM to the tune process stops it like Ctrl-C (the study and its files stay consistent)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _say(text: str) -> None:
    from gailctl.core.ui import console

    console.print(text, highlight=False, markup=False, soft_wrap=True)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return yaml_value(value)


# --- the study's files -----------------------------------------------------------------


def _state(trial: Any, entry: dict[str, Any]) -> str:
    """complete, failed, interrupted or running (as trials.csv says it)."""
    name = trial.state.name.lower()
    if name == "fail":
        return str(entry.get("status") or "failed")
    if name == "pruned":  # Tune stopped it before it reported (Ctrl-C): OptunaSearch tells Optuna "pruned"
        return "interrupted"
    return name


def _trial_values(trial: Any, space: Space, entry: dict[str, Any]) -> dict[str, Any]:
    if entry.get("values"):
        return dict(entry["values"])
    return config_values(space, trial.params)


def trial_rows(trials: Sequence[Any], plan: TunePlan, journal: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per trial that ran (or runs): Optuna's number, state and value, the journal's details."""
    rows = []
    for t in trials:
        if t.state.name == "WAITING":
            continue
        entry = journal.get(t.number, {})
        per_seed = entry.get("per_seed") or {}
        values = _trial_values(t, plan.space, entry)
        rows.append({
            "trial": t.number,
            "state": _state(t, entry),
            "objective": t.value if t.state.name == "COMPLETE" else None,
            "values": values,
            "set": list(entry.get("set") or [override(k, v) for k, v in values.items()]),
            "per_seed": {int(s): float(v) for s, v in per_seed.items()},
            "wall_s": entry.get("wall_s"),
            "run_dirs": [d for d in (entry.get("run_dirs") or []) if d],
            "error": entry.get("error"),
        })
    return rows


def _sorted(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Best objective first; trials without one after, by number."""
    return sorted(rows, key=lambda r: (r["objective"] is None, -(r["objective"] or 0.0), r["trial"]))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple, dict, bool)) or value is None:
        return yaml_value(value)
    return str(value)


def write_trials_csv(rows: Sequence[dict[str, Any]], plan: TunePlan, path: Path) -> None:
    keys = list(plan.space.params)
    columns = ["trial", "state", "objective", *keys, *(f"objective_s{s}" for s in plan.seeds), "wall_s", "run_dirs", "error"]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({
            "trial": r["trial"], "state": r["state"], "objective": _cell(r["objective"]),
            **{k: _cell(r["values"].get(k)) for k in keys},
            **{f"objective_s{s}": _cell(r["per_seed"].get(s)) for s in plan.seeds},
            "wall_s": _cell(r["wall_s"]), "run_dirs": ";".join(r["run_dirs"]), "error": _cell(r["error"]),
        })
    atomic_write_text(path, buf.getvalue())


def _nested(values: dict[str, Any]) -> dict[str, Any]:
    """{"gail.ppo.n_epochs": 5} -> {"gail": {"ppo": {"n_epochs": 5}}}: ready to merge into a config."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        node = out
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return out


def _command_lines(tune_dir: Path) -> list[str]:
    try:
        return [ln for ln in (tune_dir / "command.txt").read_text(encoding="utf-8").splitlines() if ln.strip()]
    except OSError:
        return []


def write_best_yaml(best: dict[str, Any], baseline: Optional[dict[str, Any]], plan: TunePlan, tune_dir: Path,
                    n_complete: int) -> None:
    commands = _command_lines(tune_dir)
    data = {
        "objective": plan.space.objective,
        "value": best["objective"],
        "trial": best["trial"],
        "seeds": list(plan.seeds),
        "per_seed": best["per_seed"],
        "params": best["values"],
        "set": " ".join(f"--set {shlex.quote(item)}" for item in best["set"]),
        "as_config": _nested(best["values"]),
        "command": commands[0] if commands else None,
        "resumed_with": commands[1:],
        "gail_command": plan.gail_command(best["set"], plan.seeds[0]),
        "baseline": None if baseline is None else {"trial": baseline["trial"], "value": baseline["objective"],
                                                   "params": baseline["values"]},
        "runs": best["run_dirs"],
    }
    head = (f"# gailctl tune: the best of {n_complete} complete trial(s), by {plan.space.objective} (mean over seeds "
            f"{plan.options.seeds}).\n# Paste `set` after a gailctl command, or merge `as_config` into the config; "
            "`command` reruns the study.\n")
    atomic_write_text(tune_dir / "best.yaml", head + yaml.dump(data, Dumper=_PlainDumper, sort_keys=False, width=float("inf")))


class _PlainDumper(yaml.SafeDumper):
    """No `&id001` anchors when the best trial is also the baseline."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _fmt(value: Any, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def table_rows(rows: Sequence[dict[str, Any]], plan: TunePlan, *, limit: Optional[int] = None) -> tuple[list[str], list[list[str]]]:
    """Header and body of the human table, best first."""
    keys = list(plan.space.params)
    header = ["rank", "trial", plan.space.objective, *(f"s{s}" for s in plan.seeds), *keys, "state", "wall s"]
    body = []
    ranked = _sorted(rows)
    for i, r in enumerate(ranked[:limit] if limit else ranked):
        body.append([str(i + 1) if r["objective"] is not None else "—", str(r["trial"]), _fmt(r["objective"], ".3f"),
                     *(_fmt(r["per_seed"].get(s), ".3f") for s in plan.seeds),
                     *(_short(r["values"][k]) if k in r["values"] else "—" for k in keys),
                     r["state"] + (f": {r['error']}" if r["error"] and r["state"] != "complete" else ""),
                     _fmt(r["wall_s"], ".0f")])
    return header, body


def write_results_md(rows: Sequence[dict[str, Any]], plan: TunePlan, tune_dir: Path, *, best: Optional[dict[str, Any]],
                     baseline: Optional[dict[str, Any]]) -> None:
    counts = {s: sum(r["state"] == s for r in rows) for s in ("complete", "failed", "interrupted", "running")}
    cfg = plan.base_config
    text = (f"# Tune: gail on {cfg.env.id}, objective {plan.space.objective}, {len(rows)} trial(s) "
            f"({', '.join(f'{n} {s}' for s, n in counts.items() if n)})\n\n")
    text += f"Objective {plan.space.objective} (maximised): {OBJECTIVE_TEXT[plan.space.objective]}.\n\n"
    text += f"Study `{tune_dir / 'study.db'}`, seeds {plan.options.seeds}, search space `space.yaml`:\n\n"
    text += "".join(f"- `{k}`: {d.describe()}\n" for k, d in plan.space.params.items())
    commands = _command_lines(tune_dir)
    if commands:
        text += "\nMade by:\n\n" + "".join(f"    {c}\n" for c in commands)
    if best is not None:
        text += f"\nBest: trial {best['trial']}, {plan.space.objective} {best['objective']:.3f}; its values are in `best.yaml`."
        if baseline is not None:
            text += f" Baseline (trial {baseline['trial']}, the config's own values): {baseline['objective']:.3f}."
        text += "\n"
    text += "\n" + markdown_table(*table_rows(rows, plan))
    atomic_write_text(tune_dir / "results.md", text)


def _baseline_row(rows: Sequence[dict[str, Any]], study: Any) -> Optional[dict[str, Any]]:
    number = study.user_attrs.get("baseline_trial")
    return next((r for r in rows if r["trial"] == number and r["objective"] is not None), None)


def write_outputs(study: Any, plan: TunePlan, tune_dir: Path) -> tuple[list[dict[str, Any]], Optional[dict[str, Any]]]:
    """trials.csv, results.md and best.yaml (when a trial completed), from the study and its journal."""
    rows = trial_rows(study.get_trials(deepcopy=False), plan, read_journal(tune_dir))
    write_trials_csv(rows, plan, tune_dir / "trials.csv")
    ranked = [r for r in _sorted(rows) if r["objective"] is not None]
    best = ranked[0] if ranked else None
    baseline = _baseline_row(rows, study)
    if best is not None:
        write_best_yaml(best, baseline, plan, tune_dir, len(ranked))
    write_results_md(rows, plan, tune_dir, best=best, baseline=baseline)
    return rows, best


# --- the study -------------------------------------------------------------------------


def _optuna() -> Any:
    try:
        import optuna
    except ImportError as exc:
        raise UsageError(f"{OPTUNA_MISSING} ({exc})") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _counted(trial: Any, journal: dict[int, dict[str, Any]]) -> bool:
    """A trial that ran to an outcome: complete, or failed on its own (not interrupted, not stale)."""
    if trial.state.name == "COMPLETE":
        return True
    return trial.state.name == "FAIL" and journal.get(trial.number, {}).get("status", "failed") == "failed"


def _enqueue_baseline(study: Any, plan: TunePlan, journal: dict[int, dict[str, Any]]) -> None:
    """The config's own values go first, and again after a resume if their trial never finished."""
    if not plan.baseline:
        return
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    number = study.user_attrs.get("baseline_trial")
    if number in trials and (_counted(trials[number], journal) or trials[number].state.name == "WAITING"):
        return
    # Not OptunaSearch's points_to_evaluate: Ray refuses a point that misses a key (a config value
    # outside the space), and on a stored study it would enqueue the point again at every resume.
    study.enqueue_trial({k: plan.space.params[k].to_optuna(v) for k, v in plan.baseline.items()})
    waiting = [t.number for t in study.get_trials(deepcopy=False) if t.state.name == "WAITING"]
    study.set_user_attr("baseline_trial", max(waiting))


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, dict):
        return {prefix: data}
    out: dict[str, Any] = {}
    for k, v in data.items():
        out.update(_flat(v, f"{prefix}{k}."))
    return {k.rstrip("."): v for k, v in out.items()}


def _check_same_config(tune_dir: Path, cfg: Config, options: TuneOptions) -> None:
    """--resume: the config must resolve as when the study started, or its trials would not compare."""
    try:
        before = _flat(yaml.safe_load((tune_dir / "config.yaml").read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"--resume {tune_dir}: unreadable config.yaml: {exc}") from None
    now = _flat(yaml.safe_load(config_to_yaml(cfg)))
    # What a gail run reads; keys added since (a newer gailctl's, with their defaults) are not held against it.
    changed = sorted(k for k in before if k.split(".")[0] in RUN_SECTIONS and before[k] != now.get(k, "<absent>"))
    if changed:
        k = changed[0]
        more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
        raise UsageError(f"--resume {tune_dir}: {options.config or 'the default config'} now resolves differently: "
                         f"{k} was {yaml_value(before.get(k, '<absent>'))}, is {yaml_value(now.get(k, '<absent>'))}{more}; "
                         "the study's trials would not compare: start a new tune")


@dataclass
class TuneOutcome:
    tune_dir: Path
    plan: TunePlan
    rows: list[dict[str, Any]]
    best: Optional[dict[str, Any]]
    status: str
    n_new: int
    n_new_failed: int
    wall_s: float
    n_target: int
    files: tuple[str, ...] = field(default=("trials.csv", "results.md", "best.yaml"))

    def summary_line(self) -> str:
        best = ("no trial completed" if self.best is None
                else f"best {self.plan.space.objective} {self.best['objective']:.3f} (trial {self.best['trial']})")
        files = ", ".join(f for f in self.files if (self.tune_dir / f).exists())
        return (f"tune: {self.n_new} new trial(s) in {self.wall_s:.0f} s, {sum(_counted_row(r) for r in self.rows)} "
                f"of {self.n_target} in the study; {best}; {files} in the tune folder")

    def raise_if_incomplete(self) -> None:
        """Exit 1 when a trial of this run failed (or none ever completed)."""
        if self.n_new_failed:
            raise GailctlError(f"tune: {self.n_new_failed} of {self.n_new} new trial(s) failed; errors in "
                               f"{self.tune_dir / 'trials.csv'}")
        if self.best is None:
            raise GailctlError(f"tune: no trial completed; see {self.tune_dir / 'trials.csv'}")


def _counted_row(row: dict[str, Any]) -> bool:
    return row["state"] in ("complete", "failed")


def _options_for_resume(tune_dir: Path, given: dict[str, Any], n_trials: Optional[int]) -> tuple[TuneOptions, Path]:
    clash = [flag for flag, value in given.items() if value is not None and value != [] and value != ()]
    if clash:
        raise UsageError(f"--resume takes the tune folder's own config, space, seeds and sampler seed; drop {', '.join(clash)}")
    if not (tune_dir / "tune.json").is_file() or not (tune_dir / "study.db").is_file():
        raise UsageError(f"--resume {tune_dir}: not a gailctl tune folder (no tune.json and study.db)")
    try:
        stored = json.loads((tune_dir / "tune.json").read_text(encoding="utf-8"))
        options = TuneOptions.from_json(stored["options"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"--resume {tune_dir}: unreadable tune.json: {exc}") from None
    if n_trials is not None:
        options = TuneOptions(**{**options.__dict__, "n_trials": n_trials})
    return options, tune_dir / "space.yaml"


def run_tune(
    *,
    config_path: Optional[Path] = None,
    space_path: Optional[Path] = None,
    n_trials: Optional[int] = None,
    seeds: Optional[str] = None,
    overrides: Sequence[str] = (),
    demos: Optional[Path] = None,
    workers: Optional[int] = None,
    sampler_seed: Optional[int] = None,
    resume: Optional[Path] = None,
    runs_dir: Path = Path("runs"),
    address: Optional[str] = None,
    argv: Optional[list[str]] = None,
) -> TuneOutcome:
    """`gailctl tune`: plan and check, then run trials on Ray Tune until the study has `n_trials` outcomes.

    The tune folder (`runs_dir/tune__ENV__sSEEDS__TIME`, SEEDS like `0-2`, or `resume`) holds config.yaml,
    command.txt (one line per start), tune.json, space.yaml, study.db, trials.jsonl, summary.json,
    trials/ (a gail run folder per trial and seed), trials.csv, results.md and best.yaml, and Ray's
    files: tune-N/ (Tune's results of the Nth start) and, for the embedded cluster, ray/.
    """
    if resume is not None:
        tune_dir = Path(resume).absolute()
        options, space_file = _options_for_resume(
            tune_dir, {"--config": config_path, "--space": space_path, "--seeds": seeds, "--set": list(overrides),
                       "--demos": demos, "--sampler-seed": sampler_seed}, n_trials)
        space, _ = load_space(space_file)
        space_source = str(space_file)
    else:
        if space_path is None:
            raise UsageError("tune: --space is required: a YAML search space, e.g. configs/tune/cartpole.yaml")
        space, space_text = load_space(space_path)
        space_source = str(space_path)
        options = TuneOptions(
            config=None if config_path is None else str(Path(config_path).absolute()), space=str(space_path),
            seeds=seeds if seeds is not None else DEFAULT_SEEDS, set=tuple(overrides),
            demos=None if demos is None else str(Path(demos).absolute()),
            sampler_seed=DEFAULT_SAMPLER_SEED if sampler_seed is None else sampler_seed,
            n_trials=DEFAULT_TRIALS if n_trials is None else n_trials, cwd=str(Path.cwd()))
    plan = plan_tune(options, space=space, space_source=space_source, workers=workers, address=address)
    from gailctl.rl.envs import check_env_id

    check_env_id(plan.base_config.env.id)
    check_trial_data(plan.base)  # the demonstrations every trial will load, checked before any runs
    require_ray()
    optuna = _optuna()
    if address is not None:
        check_address(address)

    if resume is None:
        tune_dir = create_run(Path(runs_dir), stage="tune", env_id=plan.base_config.env.id, seeds=plan.seeds).absolute()
        write_run_header(tune_dir, config_yaml=config_to_yaml(plan.base_config), argv=argv)
        atomic_write_text(tune_dir / "space.yaml", space_text)
        (tune_dir / "trials").mkdir()
    else:
        _check_same_config(tune_dir, plan.base_config, options)

    with run_lock(tune_dir):
        previous = read_summary(tune_dir) if resume is not None else {}
        head = {"stage": "tune", "env_id": plan.base_config.env.id, "seed": plan.seeds[0], "run_dir": str(tune_dir),
                "started": previous.get("started", now_iso())}
        if resume is not None:
            head["resumed"] = [*previous.get("resumed", []), now_iso()]
        storage = open_storage(optuna, tune_dir)
        study = open_study(optuna, storage)
        n_before = len(study.get_trials(deepcopy=False))
        if resume is not None and (n_stale := fail_stale(study, tune_dir, why="the tune process stopped during this trial")):
            _say(f"tune: {n_stale} trial(s) left running by a stopped tune process marked interrupted")
        journal = read_journal(tune_dir)
        _enqueue_baseline(study, plan, journal)
        done = sum(_counted(t, journal) for t in study.get_trials(deepcopy=False))
        n_new = options.n_trials - done
        if n_new < 1:
            raise UsageError(f"--resume {tune_dir}: the study already has {done} trial(s) of --trials {options.n_trials}; "
                             f"pass --trials N above {done} to run more")
        if resume is not None:  # command.txt: one line per start of the study
            with open(tune_dir / "command.txt", "a", encoding="utf-8") as fh:
                fh.write(f"cd {shlex.quote(os.getcwd())} && {shlex.join(['gailctl', *list(sys.argv if argv is None else argv)[1:]])}\n")
        # A resumed sampler gets a seed of its own, so that it does not draw the first trials' values again.
        sampler_seed_now = options.sampler_seed + n_before
        sampler_seeds = [*json.loads((tune_dir / "tune.json").read_text())["sampler_seeds"], sampler_seed_now] \
            if resume is not None else [options.sampler_seed]
        starts = len(sampler_seeds)
        write_tune_json = functools.partial(_write_tune_json, tune_dir, plan, sampler_seeds)
        write_tune_json(ray_info={})
        write_summary(tune_dir, {**head, "status": "running"})
        search = make_search(optuna=optuna, storage=storage, study=study, space=space, sampler_seed=sampler_seed_now)
        started = [done]

        def position() -> str:
            started[0] += 1
            return f"[{started[0]}/{options.n_trials}]"

        def announce(info: dict[str, Any]) -> None:
            _say(f"tune: {n_new} trial(s) to run ({done} done of {options.n_trials}), seeds {options.seeds} one after "
                 f"another in each, {info['max_concurrent']} trial(s) at a time on Ray ({info['address']}, "
                 f"{info['num_cpus']} CPU(s)), objective {space.objective}; run folders in {tune_dir / 'trials'}")

        ray_tune = import_ray().tune
        context = {"options": options.to_json(), "space": space.as_yaml_data(), "tune_dir": str(tune_dir)}
        progress = progress_callback(ray_tune, tune_dir=tune_dir, space=space, say=_say, position=position,
                                     on_ended=lambda: write_outputs(study, plan, tune_dir))
        ray_info: dict[str, Any] = {}
        t0 = time.monotonic()
        status = "running"
        before = {t.number for t in study.get_trials(deepcopy=False) if t.state.name != "WAITING"}
        try:
            with _sigterm_interrupts():
                run_on_ray(ray_tune.with_parameters(point_trainable, context=context), run_dir=tune_dir, address=address,
                           max_concurrent=plan.workers, info=ray_info, n_trials=n_new, search_alg=search,
                           callbacks=[progress], announce=announce, name=f"tune-{starts}")
            status = "finished"
        except UsageError:
            status = "failed"
            raise
        except (KeyboardInterrupt, Interrupted):
            status = "interrupted"
            raise
        except BaseException:
            status = "failed"
            raise
        finally:
            fail_stale(study, tune_dir, why="the tune stopped during this trial")
            write_tune_json(ray_info=ray_info)
            rows, best = write_outputs(study, plan, tune_dir)
            new_rows = [r for r in rows if r["trial"] not in before]
            if status == "finished" and any(r["state"] == "interrupted" for r in new_rows):
                status = "interrupted"  # a trial's runs were stopped, or Tune stopped trials (Ctrl-C)
            summary = {**head, "status": status, "wall_s": round(time.monotonic() - t0, 1), "objective": space.objective,
                       "n_trials": sum(_counted_row(r) for r in rows), "n_target": options.n_trials,
                       "n_complete": sum(r["state"] == "complete" for r in rows),
                       "n_failed": sum(r["state"] == "failed" for r in rows), "ray": ray_info,
                       "best": None if best is None else {k: best[k] for k in ("trial", "objective", "values", "per_seed")},
                       "artifacts": {"study": "study.db", "journal": JOURNAL, "trials": "trials.csv", "results": "results.md",
                                     "best": "best.yaml" if best is not None else None}}
            if status == "interrupted":
                summary["error"] = f"interrupted; continue with: gailctl tune --resume {tune_dir}"
            write_summary(tune_dir, summary)
    if status == "interrupted":
        raise Interrupted(f"tune interrupted; continue the study with: gailctl tune --resume {tune_dir}")
    n_failed = sum(r["state"] == "failed" for r in new_rows)
    return TuneOutcome(tune_dir=tune_dir, plan=plan, rows=rows, best=best, status=status, n_new=n_new, n_new_failed=n_failed,
                       wall_s=round(time.monotonic() - t0, 1), n_target=options.n_trials)


def _write_tune_json(tune_dir: Path, plan: TunePlan, sampler_seeds: list[int], *, ray_info: dict[str, Any]) -> None:
    atomic_write_text(tune_dir / "tune.json", json.dumps({
        "options": plan.options.to_json(), "space": plan.space.as_yaml_data(),
        "study": {"storage": "study.db", "name": STUDY_NAME, "journal": JOURNAL}, "seeds": list(plan.seeds),
        "workers": plan.workers, "sampler_seeds": sampler_seeds, "baseline": plan.baseline, "ray": ray_info}, indent=2) + "\n")


def render_tune_table(outcome: TuneOutcome, *, limit: int = 10) -> "Table":
    """The best trials on stdout (results.md has them all)."""
    from rich.markup import escape
    from rich.table import Table

    header, body = table_rows(outcome.rows, outcome.plan, limit=limit)
    n = len(outcome.rows)
    table = Table(title=f"tune: gail on {outcome.plan.base_config.env.id}, {outcome.plan.space.objective}, "
                        f"{'the best ' + str(limit) + ' of ' if n > limit else ''}{n} trial(s)")
    for col in header:
        table.add_column(col, justify="left" if col in ("state",) or col in outcome.plan.space.params else "right", overflow="fold")
    for line in body:
        table.add_row(*(escape(c) for c in line))
    return table
