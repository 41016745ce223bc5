"""`gailctl sweep`: one stage over seeds and a grid of settings, each combination a Ray Tune trial.

Planning is pure and fast: `--seeds` and `--grid` are parsed, grid x seeds is expanded into
trials, and every trial's config is validated with `load_config` before Ray is imported, so a
bad grid value fails like a bad `--set`. Then Ray Tune runs the trials; each one goes through
`gailctl.core.execution.execute`, so it is an ordinary run folder under `<sweep>/trials/`. The sweep
folder gets the aggregated table (`results.csv`, `results.md`) and the curves (`curves.png`),
and keeps Ray's own files too: `tune/` (Tune's results) and `ray/` (the embedded cluster's
temporary files and logs).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import logging
import re
import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

from gailctl.core.config import Config
from gailctl.core.config_load import config_to_yaml, load_config, parse_overrides
from gailctl.core.errors import ConfigError, GailctlError, Interrupted, UsageError
from gailctl.experiments.runner import (  # noqa: F401 - re-exported: the sweep's public names before the runner existed
    RAY_MISSING,
    RAY_SOCKET_TAIL,
    RESULT_COLUMNS,
    UNIX_SOCKET_MAX,
    TrialOutcome,
    check_address,
    import_ray,
    one_line_error,
    payload_trainable,
    ray_temp_dir,
    require_ray,
    run_trial,
)
from gailctl.experiments.runner import run_on_ray as run_trials_on_ray
from gailctl.report.run_scores import plural
from gailctl.core.runs import (
    atomic_write_text,
    check_demos_env,
    create_run,
    now_iso,
    resolve_demos_dir,
    run_lock,
    write_run_header,
    write_summary,
)

if TYPE_CHECKING:
    from rich.table import Table

log = logging.getLogger(__name__)

SWEEP_STAGES = ("expert", "gail", "bc")
DEMO_STAGES = ("gail", "bc")  # stages that learn from demonstrations (--demos)
# --- parsing ---------------------------------------------------------------------------


_SEED_ITEM = re.compile(r"^(\d+)(?:-(\d+))?$")


def parse_seeds(text: str) -> list[int]:
    """`0-4` -> [0, 1, 2, 3, 4]; `0,2,5` -> [0, 2, 5]; `3` -> [3]; `0-2,7` mixes both."""
    seeds: list[int] = []
    for item in text.split(","):
        match = _SEED_ITEM.match(item.strip())
        if not match:
            raise UsageError(f"--seeds {text}: expected a range like 0-4, a list like 0,2,5 or one seed")
        lo = int(match.group(1))
        hi = int(match.group(2)) if match.group(2) is not None else lo
        if hi < lo:
            raise UsageError(f"--seeds {text}: the range {lo}-{hi} runs backwards; write {hi}-{lo}")
        for seed in range(lo, hi + 1):
            if seed in seeds:
                raise UsageError(f"--seeds {text}: seed {seed} is listed twice")
            seeds.append(seed)
    return seeds


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside brackets and quotes: `[32,32],[64,64]` is two values."""
    parts, current, depth, quote = [], [], 0, None
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    parts.append("".join(current).strip())
    return parts


@dataclass(frozen=True)
class GridAxis:
    """One `--grid KEY=V1,V2,...`: the values as typed (what `--set` receives) and as YAML reads them."""

    key: str
    raw: tuple[str, ...]
    values: tuple[Any, ...]


def parse_grid(items: Sequence[str]) -> list[GridAxis]:
    """`["gail.ppo.learning_rate=0.001,0.0003"]` -> one axis with two values, typed like `--set`."""
    axes: list[GridAxis] = []
    for item in items:
        key, sep, rest = item.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")) or not rest.strip():
            raise UsageError(f"--grid {item!r}: expected KEY=V1,V2,... with a dotted key, e.g. gail.ppo.learning_rate=0.001,0.0003")
        if key == "seed":
            raise UsageError("--grid seed: seeds come from --seeds (e.g. --seeds 0-4)")
        if any(a.key == key for a in axes):
            raise UsageError(f"--grid {key}: given twice; list all its values in one --grid")
        raw = _split_top_level(rest)
        if any(not r for r in raw):
            raise UsageError(f"--grid {item!r}: an empty value; separate values with single commas")
        dup = next((r for i, r in enumerate(raw) if r in raw[:i]), None)
        if dup is not None:
            raise UsageError(f"--grid {key}: the value {dup} is listed twice")
        values = tuple(parse_overrides([f"{key}={r}"])[key] for r in raw)
        axes.append(GridAxis(key=key, raw=tuple(raw), values=values))
    return axes


@dataclass(frozen=True)
class Trial:
    """One run of the sweep: a grid point and a seed."""

    index: int
    seed: int
    point: tuple[tuple[str, str], ...]
    """(key, value as typed) for each grid axis; empty without --grid."""
    overrides: tuple[str, ...]
    """`--set` items that make its config: the sweep's --set, the grid point, `seed=N`."""

    @property
    def label(self) -> str:
        return ", ".join([f"seed={self.seed}", *(f"{k}={v}" for k, v in self.point)])


def expand_trials(seeds: Sequence[int], grid: Sequence[GridAxis], base_overrides: Sequence[str] = ()) -> list[Trial]:
    """Every grid point (the cartesian product of the axes) times every seed, seeds innermost."""
    trials: list[Trial] = []
    for point in itertools.product(*[[(a.key, r) for r in a.raw] for a in grid]):
        for seed in seeds:
            overrides = (*base_overrides, *(f"{k}={r}" for k, r in point), f"seed={seed}")
            trials.append(Trial(index=len(trials), seed=seed, point=tuple(point), overrides=overrides))
    return trials


# --- planning: everything checked before Ray starts -------------------------------------


@dataclass(frozen=True)
class SweepPlan:
    stage: str
    config_path: Optional[Path]
    """Absolute; None means the built-in defaults."""
    base_overrides: tuple[str, ...]
    seeds: tuple[int, ...]
    grid: tuple[GridAxis, ...]
    demos: Optional[Path]
    """--demos as given (absolute), for gail."""
    cwd: Path
    """Where relative paths were resolved; trials run their command from here."""
    base_config: Config
    """config.yaml of the sweep folder: --set applied and the first seed, before any --grid value."""
    trials: tuple[Trial, ...]
    configs: tuple[Config, ...]
    """trials[i]'s validated config, its input paths absolute."""
    demos_dirs: tuple[Optional[Path], ...]
    """trials[i]'s demonstrations folder (gail), as `resolve_demos_dir` found it."""

    def trial_argv(self, trial: Trial, trials_dir: Path) -> list[str]:
        """The single-run command that reproduces one trial (its run folder's command.txt)."""
        argv = ["gailctl", self.stage]
        if self.config_path is not None:
            argv += ["-c", str(self.config_path)]
        for item in (*self.base_overrides, *(f"{k}={r}" for k, r in trial.point)):
            argv += ["--set", item]
        argv += ["--seed", str(trial.seed)]
        demos_dir = self.demos_dirs[trial.index]
        if demos_dir is not None:
            argv += ["--demos", str(demos_dir)]
        return argv + ["--runs-dir", str(trials_dir)]

    def describe(self, trials_dir: Path) -> dict[str, Any]:
        """sweep.json: what the sweep was asked and the overrides of every trial."""
        typed = {a.key: dict(zip(a.raw, a.values)) for a in self.grid}
        return {
            "stage": self.stage,
            "config": None if self.config_path is None else str(self.config_path),
            "cwd": str(self.cwd),
            "set": list(self.base_overrides),
            "seeds": list(self.seeds),
            "grid": {a.key: list(a.values) for a in self.grid},
            "demos": None if self.demos is None else str(self.demos),
            "trials_dir": str(trials_dir),
            "trials": [
                {
                    "index": t.index,
                    "seed": t.seed,
                    "grid": {k: typed[k][r] for k, r in t.point},
                    "overrides": list(t.overrides),
                    "command": self.trial_argv(t, trials_dir),
                }
                for t in self.trials
            ],
        }


def _blame_grid(message: str, grid: Sequence[GridAxis], trial: Trial) -> str:
    """load_config blames `--set KEY`; for a grid key the user typed `--grid KEY`."""
    for axis in grid:
        if message.startswith(f"--set {axis.key}:") or message.startswith(f"--set {axis.key}."):
            return "--grid" + message[len("--set"):]
    if trial.point:  # the file or a --set, refused in combination with this grid point
        message += f" (with --grid {', '.join(f'{k}={v}' for k, v in trial.point)})"
    return message


def _absolute_inputs(cfg: Config, demos_dir: Optional[Path]) -> Config:
    """Input paths made absolute: Ray workers may run in another working directory."""
    record, gail = cfg.record, cfg.gail
    if record.expert is not None:
        record = record.model_copy(update={"expert": str(Path(record.expert).resolve())})
    if demos_dir is not None:
        gail = gail.model_copy(update={"demos": str(demos_dir)})
    elif gail.demos is not None:
        gail = gail.model_copy(update={"demos": str(Path(gail.demos).resolve())})
    return cfg.model_copy(update={"record": record, "gail": gail})


def plan_sweep(
    *,
    stage: Optional[str],
    config_path: Optional[Path],
    seeds: str,
    overrides: Sequence[str] = (),
    grid: Sequence[str] = (),
    demos: Optional[Path] = None,
    allow_env_mismatch: bool = False,
) -> SweepPlan:
    """Parse the sweep's options and validate every trial's config; no Ray, no torch.

    Raises:
        UsageError: bad --stage, --seeds or --grid, or clashing options.
        ConfigError: a trial whose config does not validate (the first one, in one line).
    """
    if stage is None:
        raise UsageError(f"sweep: --stage is required: one of {', '.join(SWEEP_STAGES)}")
    if stage not in SWEEP_STAGES:
        raise UsageError(f"--stage {stage}: a sweep runs one of {', '.join(SWEEP_STAGES)}")
    seed_list = parse_seeds(seeds)
    axes = parse_grid(grid)
    base_overrides = tuple(overrides)
    given = parse_overrides(list(base_overrides))
    if "seed" in given:
        raise UsageError("--set seed: a sweep takes its seeds from --seeds (e.g. --seeds 0-4)")
    for axis in axes:
        if axis.key in given:
            raise UsageError(f"--grid {axis.key}: also given with --set; keep one")
    if demos is not None and stage not in DEMO_STAGES:
        raise UsageError(f"--demos: only for --stage {' or '.join(DEMO_STAGES)}, not {stage}")
    if demos is not None and any(a.key == "gail.demos" for a in axes):
        raise UsageError("--grid gail.demos: --demos would override every value; drop one")
    config_path = None if config_path is None else Path(config_path).absolute()

    trials = expand_trials(seed_list, axes, base_overrides)
    configs, demos_dirs = [], []
    found: dict[str, Path] = {}
    env_checked: set[tuple[str, str]] = set()
    for trial in trials:
        try:
            cfg = load_config(config_path, list(trial.overrides))
        except ConfigError as exc:
            raise ConfigError(_blame_grid(str(exc), axes, trial)) from None
        demos_dir = None
        if stage in DEMO_STAGES:
            key = "bc.demos" if stage == "bc" and cfg.bc.demos else "gail.demos"  # as `gailctl bc` chooses
            source = demos if demos is not None else ((cfg.bc.demos or cfg.gail.demos) if stage == "bc" else cfg.gail.demos)
            if source is None:
                raise UsageError(f"sweep --stage {stage}: no demonstrations given: pass --demos RUN_OR_DIR or set {key} in the config")
            flag = "--demos" if demos is not None else f"{key} ="
            if str(source) not in found:
                found[str(source)] = resolve_demos_dir(Path(source), flag=flag).resolve()
            demos_dir = found[str(source)]
            if (str(demos_dir), cfg.env.id) not in env_checked:
                env_checked.add((str(demos_dir), cfg.env.id))
                warning = check_demos_env(demos_dir, env_id=cfg.env.id, allow=allow_env_mismatch, flag=flag)
                if warning is not None:
                    from gailctl.core.ui import console

                    console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
        configs.append(_absolute_inputs(cfg, demos_dir))
        demos_dirs.append(demos_dir)

    try:
        base = load_config(config_path, [*base_overrides, f"seed={seed_list[0]}"])
        base = _absolute_inputs(base, demos_dirs[0])
    except ConfigError:  # valid only with a grid value (e.g. the grid fixes a batch size): the first trial's
        base = configs[0]
    return SweepPlan(
        stage=stage,
        config_path=config_path,
        base_overrides=base_overrides,
        seeds=tuple(seed_list),
        grid=tuple(axes),
        demos=None if demos is None else Path(demos).absolute(),
        cwd=Path.cwd(),
        base_config=base,
        trials=tuple(trials),
        configs=tuple(configs),
        demos_dirs=tuple(demos_dirs),
    )


def check_trial_data(plan: SweepPlan, *, grid_flag: Optional[str] = None) -> None:
    """Load every trial's demonstrations and check them as its stage will, before Ray starts:
    enough trajectories for its n_demos, observations and actions that fit its env, fixed
    horizons (gail), a batch size they can fill. Each distinct (folder, env, count, batch) once.

    Args:
        grid_flag: what the user typed to sweep `gail.n_demos`, for the error (bench: `--n-demos`).

    Raises:
        UsageError: the first trial whose data its stage would refuse, in one line.
    """
    if plan.stage not in DEMO_STAGES:
        return
    from gailctl.rl.envs import make_venv
    from gailctl.rl.demos import check_demos_fit, load_demos

    loaded: dict[str, list[Any]] = {}
    checked: set[tuple[Any, ...]] = set()
    for trial, cfg, demos_dir in zip(plan.trials, plan.configs, plan.demos_dirs):
        assert demos_dir is not None
        is_bc = plan.stage == "bc"
        n_demos = (cfg.bc.n_demos or cfg.gail.n_demos) if is_bc else cfg.gail.n_demos
        batch_size, batch_key = (cfg.bc.batch_size, "bc.batch_size") if is_bc else (cfg.gail.demo_batch_size, "gail.demo_batch_size")
        todo = (str(demos_dir), cfg.env.model_dump_json(), n_demos, batch_size, is_bc)
        if todo in checked:
            continue
        checked.add(todo)
        if str(demos_dir) not in loaded:
            loaded[str(demos_dir)] = load_demos(demos_dir, n_demos=None)
        trajs = loaded[str(demos_dir)]
        if n_demos is not None and n_demos > len(trajs):
            point = dict(trial.point)
            key = "bc.n_demos" if is_bc and cfg.bc.n_demos else "gail.n_demos"
            if key in point:
                who = f"{grid_flag} {point[key]}" if grid_flag else f"--grid {key}={point[key]}"
            elif key in parse_overrides(list(plan.base_overrides)):
                who = f"--set {key}={n_demos}"
            else:
                who = f"{key} = {n_demos}"
            raise UsageError(f"{who}: only {len(trajs)} trajectories in {demos_dir}")
        venv = make_venv(cfg.env, seed=cfg.seed, n_envs=1)
        try:
            check_demos_fit(trajs[:n_demos], venv, cfg, demos_dir, batch_size=batch_size, batch_key=batch_key,
                            need_fixed_horizon=not is_bc)
        finally:
            venv.close()


# --- the trials on Ray ---------------------------------------------------------------


def trial_payload(plan: SweepPlan, trials_dir: Path) -> dict[str, Any]:
    """What every Ray worker receives: plain data (configs as dicts), no paths relative to here."""
    return {
        "stage": plan.stage,
        "cwd": str(plan.cwd),
        "trials_dir": str(trials_dir),
        "trials": [
            {"config": cfg.model_dump(mode="json"), "argv": plan.trial_argv(t, trials_dir),
             "demos_dir": None if d is None else str(d)}
            for t, cfg, d in zip(plan.trials, plan.configs, plan.demos_dirs)
        ],
    }


def _say(labels: Sequence[str], trial: Any, what: str, done: Optional[int] = None) -> None:
    from rich.markup import escape

    from gailctl.core.ui import console

    i, n = int(trial.config["trial"]), len(labels)
    tail = "" if done is None else f" \\[{done}/{n} done]"
    # Numbered as in the table, results.csv and summary.json: from 0.
    console.print(f"trial {i} of 0-{n - 1} ({escape(labels[i])}): {what}{tail}", highlight=False)


def _progress_callback(tune: Any, labels: Sequence[str]) -> Any:
    """One stderr line per trial as it starts and ends; Tune's own tables stay quiet.

    Tune pickles its callbacks with the experiment: this one holds only the trial labels.
    """
    from rich.markup import escape

    class Progress(tune.Callback):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            self.labels, self.done = list(labels), 0

        def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            _say(self.labels, trial, "started")

        def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
            self.done += 1
            if result.get("status") == "finished":
                # Scores are left out when unknown (None, or NaN without references).
                scores = [f"{name}{value:.2f}" for name, value in (("normalized ", result.get("normalized_score")),
                                                                   ("sampled ", result.get("sampled_normalized_score")))
                          if isinstance(value, (int, float)) and value == value]
                notes = ", ".join(scores)
                if result.get("final_episodes"):
                    notes += ("; " if notes else "") + plural(result["final_episodes"], "episode")
                what = (f"final return {_fmt(result.get('return_mean'), '.1f')}{f' ({notes})' if notes else ''}"
                        f" in {_fmt(result.get('wall_s'), '.0f')} s")
            else:
                what = f"[red]{result.get('status')}[/]: {escape(str(result.get('error')))}"
            _say(self.labels, trial, what, self.done)

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self.done += 1
            _say(self.labels, trial, "[red]crashed in Ray[/]", self.done)

    return Progress()


def _result_of(outcome: TrialOutcome) -> dict[str, Any]:
    result = dict.fromkeys(RESULT_COLUMNS)
    if "status" in outcome.metrics:
        result.update({k: outcome.metrics.get(k) for k in RESULT_COLUMNS})
    elif outcome.error is not None:  # the worker itself died (killed, out of memory...)
        result.update(status="failed", error=outcome.error)
    else:
        result.update(status="interrupted", error="stopped before it finished")
    return result


def run_on_ray(plan: SweepPlan, *, sweep_dir: Path, trials_dir: Path, address: Optional[str],
                max_concurrent: Optional[int], info: dict[str, Any]) -> list[dict[str, Any]]:
    """The plan's trials on the one runner; one result (RESULT_COLUMNS) per trial, in plan order."""
    ray_tune = import_ray().tune

    def announce(info: dict[str, Any]) -> None:
        from rich.markup import escape

        from gailctl.core.ui import console

        console.print(f"sweep: {len(plan.trials)} {plan.stage} trial(s) on Ray ({info['address']}, {info['num_cpus']} CPU(s), "
                      f"{info['max_concurrent']} at a time); run folders in {escape(str(trials_dir))}", highlight=False)

    payload = trial_payload(plan, trials_dir)
    outcomes = run_trials_on_ray(ray_tune.with_parameters(payload_trainable, payload=payload), run_dir=sweep_dir,
                                 address=address, max_concurrent=max_concurrent, info=info, n_trials=len(plan.trials),
                                 callbacks=[_progress_callback(ray_tune, [t.label for t in plan.trials])], announce=announce)
    by_index = {int(o.config["trial"]): _result_of(o) for o in outcomes if "trial" in o.config}
    missing = {**dict.fromkeys(RESULT_COLUMNS), "status": "interrupted", "error": "did not run"}
    return [by_index.get(t.index, dict(missing)) for t in plan.trials]


# --- the aggregated results ------------------------------------------------------------


def _fmt(value: Any, spec: str) -> str:
    return "—" if value is None else format(value, spec)


@dataclass(frozen=True)
class SweepOutcome:
    sweep_dir: Path
    plan: SweepPlan
    rows: list[dict[str, Any]]
    """One per trial: `trial`, the grid keys (values as typed), `seed`, then RESULT_COLUMNS."""
    points: list[dict[str, Any]]
    """One per grid point: `point` (its grid values as typed), `seeds`, `finished`, means and stds
    over the finished seeds."""
    status: str
    wall_s: float
    curves: Optional[Path]

    @property
    def columns(self) -> list[str]:
        return ["trial", *(a.key for a in self.plan.grid), "seed", *RESULT_COLUMNS]

    @property
    def n_failed(self) -> int:
        return sum(r["status"] == "failed" for r in self.rows)

    @property
    def n_finished(self) -> int:
        return sum(r["status"] == "finished" for r in self.rows)

    def summary_line(self) -> str:
        files = "results.csv, results.md" + (", curves.png" if self.curves else "")
        return (f"sweep: {len(self.rows)} {self.plan.stage} trial(s), {self.n_finished} finished, {self.n_failed} failed, "
                f"in {self.wall_s:.0f} s; {files} in the sweep folder")

    def raise_if_incomplete(self) -> None:
        """Exit 1 when a trial failed, 130 when the sweep was interrupted."""
        if self.n_failed:
            raise GailctlError(f"sweep: {self.n_failed} of {len(self.rows)} trial(s) failed; errors in {self.sweep_dir / 'results.md'}")
        if self.status == "interrupted":
            raise Interrupted(f"sweep interrupted; finished trials are in {self.sweep_dir / 'results.md'}")


def summarize_points(plan: SweepPlan, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and standard deviation over the finished seeds of each grid point."""
    points: dict[tuple, list[dict[str, Any]]] = {}
    for trial, row in zip(plan.trials, rows):
        points.setdefault(trial.point, []).append(row)
    out = []
    for point, members in points.items():
        done = [r for r in members if r["status"] == "finished"]
        entry: dict[str, Any] = {"point": dict(point), "seeds": len(members), "finished": len(done)}
        for key in ("return_mean", "normalized_score", "sampled_normalized_score"):
            values = [float(r[key]) for r in done if r.get(key) is not None]
            entry[f"{key}_mean"] = statistics.fmean(values) if values else None
            entry[f"{key}_std"] = statistics.stdev(values) if len(values) > 1 else None
        out.append(entry)
    return out


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _has(rows: Sequence[dict[str, Any]], key: str) -> bool:
    return any(r.get(key) is not None for r in rows)


def _table_rows(outcome: SweepOutcome, *, full_paths: bool = False) -> tuple[list[str], list[list[str]]]:
    """The human table: the final evaluation's scores, rounded (`sampled` and `last round` only
    when some trial has them); the run folder in results.md only (`full_paths`): on the
    terminal the trial number identifies a row, and `gailctl runs SWEEP_DIR` lists the folders."""
    keys = [a.key for a in outcome.plan.grid]
    sampled, last = _has(outcome.rows, "sampled_normalized_score"), _has(outcome.rows, "last_round_normalized_score")
    header = ["trial", *keys, "seed", "status", "return", "norm", *(["sampled"] if sampled else []), "ep",
              *(["last round"] if last else []), "env steps", *(["run folder"] if full_paths else [])]
    body = []
    for trial, row in zip(outcome.plan.trials, outcome.rows):
        run_dir, typed = row["run_dir"], dict(trial.point)  # grid values as the user typed them
        body.append([str(row["trial"]), *(typed[k] for k in keys), str(row["seed"]), row["status"],
                     _fmt(row["return_mean"], ".1f"), _fmt(row["normalized_score"], ".2f"),
                     *([_fmt(row.get("sampled_normalized_score"), ".2f")] if sampled else []),
                     _fmt(row.get("final_episodes"), "d"),
                     *([_fmt(row.get("last_round_normalized_score"), ".2f")] if last else []),
                     "—" if outcome.plan.stage == "bc" else _fmt(row["n_env_steps"], ","),
                     *([run_dir or "—"] if full_paths else [])])
    if any(r["error"] for r in outcome.rows):
        header.append("error")
        for line, row in zip(body, outcome.rows):
            line.append(row["error"] or "")
    return header, body


def scores_note(rows: Sequence[dict[str, Any]]) -> str:
    """What the score columns are, for the tables' titles and results.md."""
    note = "return, norm: the final evaluation over `ep` episodes (norm: random 0, expert 1)"
    if _has(rows, "sampled_normalized_score"):
        note += ", argmax actions; sampled: norm with sampled actions"
    if _has(rows, "last_round_normalized_score"):
        note += "; last round: norm of the last per-round evaluation"
    return note


def _point_rows(outcome: SweepOutcome) -> tuple[list[str], list[list[str]]]:
    keys = [a.key for a in outcome.plan.grid]
    sampled = _has(outcome.rows, "sampled_normalized_score")
    header = [*keys, "seeds finished", "return mean ± std", "norm mean ± std", *(["sampled mean ± std"] if sampled else [])]
    body = []
    for p in outcome.points:
        body.append([*(p["point"][k] for k in keys), f"{p['finished']}/{p['seeds']}",
                     f"{_fmt(p['return_mean_mean'], '.1f')} ± {_fmt(p['return_mean_std'], '.1f')}",
                     f"{_fmt(p['normalized_score_mean'], '.2f')} ± {_fmt(p['normalized_score_std'], '.2f')}",
                     *([f"{_fmt(p['sampled_normalized_score_mean'], '.2f')} ± {_fmt(p['sampled_normalized_score_std'], '.2f')}"]
                       if sampled else [])])
    return header, body


def render_sweep_tables(outcome: SweepOutcome) -> list["Table"]:
    """Rich tables for stdout: one row per trial, then (with several seeds) one per grid point."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    header, body = _table_rows(outcome)
    cfg = outcome.plan.base_config
    trials = Table(title=f"sweep: {outcome.plan.stage} on {cfg.env.id}, {len(body)} trial(s); {scores_note(outcome.rows)}",
                   box=box.SIMPLE_HEAD, show_edge=False, title_justify="left")
    numeric = ("trial", "seed", "return", "norm", "sampled", "ep", "last round", "env steps")
    for col in header:
        trials.add_column(col, justify="right" if col in numeric else "left", overflow="fold")
    styles = {"finished": "green", "failed": "red", "interrupted": "yellow"}
    status_col = header.index("status")
    for line, row in zip(body, outcome.rows):
        cells = [escape(c) for c in line]
        if row["status"] in styles:
            cells[status_col] = f"[{styles[row['status']]}]{row['status']}[/]"
        trials.add_row(*cells)
    tables = [trials]
    if len(outcome.plan.seeds) > 1:
        header, body = _point_rows(outcome)
        points = Table(title="mean ± std over seeds", box=box.SIMPLE_HEAD, show_edge=False, title_justify="left")
        for col in header:
            points.add_column(col, justify="left" if col in [a.key for a in outcome.plan.grid] else "right")
        for line in body:
            points.add_row(*(escape(c) for c in line))
        tables.append(points)
    return tables


def markdown_table(header: list[str], body: list[list[str]]) -> str:
    def esc(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(esc(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in line) + " |" for line in body]
    return "\n".join(lines) + "\n"


def write_results(outcome: SweepOutcome) -> None:
    """results.csv (one row per trial, full precision) and results.md (the tables, rounded)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=outcome.columns, lineterminator="\n")
    writer.writeheader()
    for trial, row in zip(outcome.plan.trials, outcome.rows):
        writer.writerow({k: _cell(row.get(k)) for k in outcome.columns} | dict(trial.point))
    atomic_write_text(outcome.sweep_dir / "results.csv", buf.getvalue())

    cfg = outcome.plan.base_config
    header, body = _table_rows(outcome, full_paths=True)
    text = f"# Sweep: {outcome.plan.stage} on {cfg.env.id}, {len(body)} trial(s), status {outcome.status}\n\n"
    text += f"`{outcome.sweep_dir}`\n\n{scores_note(outcome.rows).capitalize()}.\n\n" + markdown_table(header, body)
    if len(outcome.plan.seeds) > 1:
        text += "\n## Mean ± std over seeds\n\n" + markdown_table(*_point_rows(outcome))
    if outcome.curves is not None:
        text += f"\n![learning curves]({outcome.curves.name})\n"
    atomic_write_text(outcome.sweep_dir / "results.md", text)


def _plot(sweep_dir: Path, rows: Sequence[dict[str, Any]]) -> Optional[Path]:
    """curves.png, mean and band over seeds per grid point; None (and a warning) if it cannot."""
    from gailctl.report.curves import plot_runs

    dirs = [Path(r["run_dir"]) for r in rows if r["run_dir"] and (Path(r["run_dir"]) / "metrics.csv").is_file()]
    if not dirs:
        return None
    try:
        return plot_runs(dirs, sweep_dir / "curves.png", group=True)
    except Exception as exc:  # noqa: BLE001 - a picture must not fail a finished sweep
        log.warning("%s: no curves.png: %s", sweep_dir, exc)
        return None


def _aggregate(plan: SweepPlan, sweep_dir: Path, results: Sequence[dict[str, Any]], *, wall_s: float) -> SweepOutcome:
    """Rows for the table, curves.png, results.csv and results.md."""
    typed = {a.key: dict(zip(a.raw, a.values)) for a in plan.grid}
    rows = [{"trial": t.index, **{k: typed[k][r] for k, r in t.point}, "seed": t.seed, **res}
            for t, res in zip(plan.trials, results)]
    statuses = {r["status"] for r in rows}
    status = "failed" if "failed" in statuses else "interrupted" if statuses != {"finished"} else "finished"
    outcome = SweepOutcome(sweep_dir=sweep_dir, plan=plan, rows=rows, points=summarize_points(plan, rows),
                           status=status, wall_s=wall_s, curves=_plot(sweep_dir, rows))
    write_results(outcome)
    return outcome


# --- the command -----------------------------------------------------------------------


def run_sweep(
    *,
    stage: Optional[str],
    config_path: Optional[Path],
    seeds: str = "0",
    overrides: Sequence[str] = (),
    grid: Sequence[str] = (),
    demos: Optional[Path] = None,
    runs_dir: Path = Path("runs"),
    address: Optional[str] = None,
    max_concurrent: Optional[int] = None,
    argv: Optional[list[str]] = None,
    allow_env_mismatch: bool = False,
) -> SweepOutcome:
    """`gailctl sweep`: check everything, run the trials on Ray Tune, aggregate them.

    The sweep folder (`runs_dir/sweep__ENV__sSEEDS__TIME`, SEEDS like `0-4`) holds config.yaml, command.txt,
    sweep.json, summary.json, trials/ (one run folder per trial), results.csv, results.md,
    curves.png, tune/ (Ray Tune's results) and, for the embedded cluster, ray/ (its temp files).
    A failed trial does not stop the others; the outcome says how each ended.
    """
    require_ray()
    if max_concurrent is not None and max_concurrent < 1:
        raise UsageError(f"--max-concurrent {max_concurrent}: must be at least 1")
    plan = plan_sweep(stage=stage, config_path=config_path, seeds=seeds, overrides=overrides, grid=grid, demos=demos,
                      allow_env_mismatch=allow_env_mismatch)
    from gailctl.rl.envs import check_env_id

    for env_id in dict.fromkeys(c.env.id for c in plan.configs):
        check_env_id(env_id)
    check_trial_data(plan)
    if address is not None:
        check_address(address)

    base = plan.base_config
    sweep_dir = create_run(Path(runs_dir), stage="sweep", env_id=base.env.id, seeds=plan.seeds).absolute()
    write_run_header(sweep_dir, config_yaml=config_to_yaml(base), argv=argv)
    trials_dir = sweep_dir / "trials"
    trials_dir.mkdir()
    atomic_write_text(sweep_dir / "sweep.json", json.dumps(plan.describe(trials_dir), indent=2, default=str) + "\n")
    head = {"stage": "sweep", "env_id": base.env.id, "seed": plan.seeds[0], "run_dir": str(sweep_dir), "started": now_iso(),
            "sweep_stage": plan.stage, "n_trials": len(plan.trials)}
    ray_info: dict[str, Any] = {}
    with run_lock(sweep_dir):
        write_summary(sweep_dir, {**head, "status": "running"})
        t0 = time.monotonic()
        try:
            results = run_on_ray(plan, sweep_dir=sweep_dir, trials_dir=trials_dir, address=address,
                                  max_concurrent=max_concurrent, info=ray_info)
            outcome = _aggregate(plan, sweep_dir, results, wall_s=round(time.monotonic() - t0, 3))
        except UsageError:  # Ray could not be imported or joined: nothing ran, leave no folder
            shutil.rmtree(sweep_dir, ignore_errors=True)
            raise
        except KeyboardInterrupt:
            write_summary(sweep_dir, {**head, "status": "interrupted", "ray": ray_info, "wall_s": round(time.monotonic() - t0, 3)})
            raise
        except BaseException as exc:
            write_summary(sweep_dir, {**head, "status": "failed", "error": one_line_error(exc), "ray": ray_info,
                                      "wall_s": round(time.monotonic() - t0, 3)})
            raise
        summary = {**head, "status": outcome.status, "wall_s": outcome.wall_s, "n_finished": outcome.n_finished,
                   "n_failed": outcome.n_failed, "trials": outcome.rows, "points": outcome.points, "ray": ray_info,
                   "artifacts": {"sweep": "sweep.json", "results_csv": "results.csv", "results_md": "results.md",
                                 "curves": outcome.curves.name if outcome.curves else None, "trials": "trials", "tune": "tune"}}
        if outcome.status != "finished":
            summary["error"] = (f"{outcome.n_failed} trial(s) failed" if outcome.status == "failed"
                                else "some trials did not finish")
        write_summary(sweep_dir, summary)
    return outcome
