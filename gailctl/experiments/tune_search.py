"""`gailctl tune` on the one runner: Optuna's TPE sampler as Ray Tune's search algorithm.

The study lives in the tune folder's `study.db` (Optuna's SQLite storage), handed to Ray's
`OptunaSearch`; Optuna's trial numbers are the study's trial numbers everywhere (trials.csv,
progress lines, best.yaml). What Optuna does not keep about a trial (its per-seed objectives,
run folders, wall time, how it failed) is appended by the driver to `trials.jsonl`, one JSON
line per trial as it ends. A resumed study opens the same storage (public Optuna API only:
`create_study(load_if_exists=True)`, `enqueue_trial`, `tell(number, ...)`), so the sampler
sees every trial before it and finished trials never run again.

One Tune trial = one point of the space, its `gail` run for every seed one after another in
its Ray worker (one CPU); several points run at once up to `--workers`.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import time
from pathlib import Path
from typing import Any, Callable, Optional

from gailctl.core.errors import GailctlError
from gailctl.experiments.tune_space import ChoiceDist, FloatDist, IntDist, Space, objective_of_run, override, parse_space, yaml_value

STUDY_NAME = "gailctl-tune"
METRIC = "objective"
JOURNAL = "trials.jsonl"
TRIAL_KEY = "trial"
"""The config key that carries a Tune trial's Optuna trial number (never a dotted config key)."""
RUNS_KEY = "runs_of"
"""The config key that names whose run folders a trial's seeds go on in: its own number, or the
interrupted trial it continues (Optuna user attribute CONTINUES, set by `tune --resume`)."""
CONTINUES = "continues"


# --- the study (driver side) -----------------------------------------------------------


def open_storage(optuna: Any, tune_dir: Path) -> Any:
    """Optuna's SQLite storage in `tune_dir/study.db` (one object shared by the study and the searcher)."""
    return optuna.storages.RDBStorage(f"sqlite:///{(Path(tune_dir) / 'study.db').absolute()}")


def open_study(optuna: Any, storage: Any) -> Any:
    """The study, created on first use."""
    return optuna.create_study(storage=storage, study_name=STUDY_NAME, direction="maximize", load_if_exists=True)


def optuna_distributions(optuna: Any, space: Space) -> dict[str, Any]:
    """The space as Optuna distributions (choices of lists as their YAML text, see ChoiceDist)."""
    dists = optuna.distributions
    out: dict[str, Any] = {}
    for key, dist in space.params.items():
        if isinstance(dist, ChoiceDist):
            out[key] = dists.CategoricalDistribution(list(dist.optuna_choices()))
        elif isinstance(dist, IntDist):
            out[key] = dists.IntDistribution(dist.bounds[0], dist.bounds[1], log=dist.log, step=dist.step)
        else:
            assert isinstance(dist, FloatDist)
            out[key] = dists.FloatDistribution(dist.bounds[0], dist.bounds[1], log=dist.log, step=dist.step)
    return out


def config_values(space: Space, point: dict[str, Any]) -> dict[str, Any]:
    """A drawn point (Optuna's values) -> config values (lists for list choices)."""
    return {key: dist.value_of(point[key]) if isinstance(dist, ChoiceDist) else point[key]
            for key, dist in space.params.items() if key in point}


def make_search(*, optuna: Any, storage: Any, study: Any, space: Space, sampler_seed: int) -> Any:
    """Ray's OptunaSearch on the study's storage, with TPE seeded by `sampler_seed`.

    Two public methods are extended: `suggest` adds the Optuna trial number to the point (so the
    trainable and the progress lines can name it; the suggestion just asked is the study's
    newest running trial, since Tune asks one at a time on the driver) and whose run folders its
    seeds go on in (RUNS_KEY), and `on_trial_complete`
    turns a failed trial (reported objective NaN) into Optuna's FAIL: `Study.tell` refuses NaN as
    a value, and OptunaSearch would only log that and leave the trial running.
    """
    from optuna.trial import TrialState
    from ray.tune.search.optuna import OptunaSearch

    numbered: set[int] = set()

    class GailctlSearch(OptunaSearch):  # type: ignore[misc]
        def suggest(self, trial_id: str) -> Optional[dict[str, Any]]:
            point = super().suggest(trial_id)
            if point is None:
                return None
            running = {t.number: t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
                       if t.number not in numbered}
            number = max(running)
            numbered.add(number)
            return {**point, TRIAL_KEY: number, RUNS_KEY: int(running[number].user_attrs.get(CONTINUES, number))}

        def on_trial_complete(self, trial_id: str, result: Optional[dict] = None, error: bool = False) -> None:
            value = (result or {}).get(self.metric)
            if isinstance(value, float) and math.isnan(value):
                return super().on_trial_complete(trial_id, result=None, error=True)
            return super().on_trial_complete(trial_id, result=result, error=error)

    return GailctlSearch(space=optuna_distributions(optuna, space), metric=METRIC, mode="max", study_name=STUDY_NAME,
                         storage=storage, sampler=optuna.samplers.TPESampler(seed=sampler_seed))


# --- one point, inside a Ray worker ----------------------------------------------------


def run_point(point: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """Every seed of one point, one after another; the journal entry (`objective` NaN unless complete).

    `context` is plain data: `options` (tune.json's), `space` (the space file's data), `tune_dir`.
    """
    from gailctl.experiments.runner import run_trial
    from gailctl.experiments.plans import plan_sweep, trial_payload

    t0 = time.monotonic()
    options = context["options"]
    space = parse_space(context["space"], source="space.yaml")
    number = int(point[TRIAL_KEY])
    runs_of = int(point.get(RUNS_KEY, number))
    values = config_values(space, point)
    sets = [override(k, v) for k, v in values.items()]
    entry: dict[str, Any] = {"trial": number, "values": values, "set": sets, "per_seed": {}, "run_dirs": [],
                             METRIC: math.nan, **({CONTINUES: runs_of} if runs_of != number else {})}
    if Path(options["cwd"]).is_dir():  # relative paths in --set are the user's working directory's
        os.chdir(options["cwd"])
    try:
        plan = plan_sweep(stage="gail", config_path=None if options["config"] is None else Path(options["config"]),
                          seeds=options["seeds"], overrides=[*options["set"], *sets],
                          demos=options["demos"])
    except GailctlError as exc:  # a combination the config refuses (e.g. a batch larger than a rollout)
        return {**entry, "status": "failed", "error": str(exc), "wall_s": round(time.monotonic() - t0, 1)}
    # Keyed by trial and seed: a retried trial (its worker died) or a resumed study's continuation of an
    # interrupted one finds each seed's run folder and goes on there (`trial_runs`).
    payload = trial_payload(plan, Path(context["tune_dir"]) / "trials", keys=[f"{runs_of}.s{t.seed}" for t in plan.trials])
    results = [run_trial(payload, i) for i in range(len(plan.trials))]
    per_seed: dict[str, float] = {}
    errors = []
    for seed, res in zip(plan.seeds, results):
        if res.get("status") != "finished":
            errors.append(f"seed {seed}: {res.get('status')}: {res.get('error')}")
            continue
        try:
            per_seed[str(seed)] = objective_of_run(space.objective, Path(res["run_dir"]))
        except (OSError, ValueError) as exc:
            errors.append(f"seed {seed}: {exc}")
    entry.update(per_seed=per_seed, run_dirs=[r.get("run_dir") for r in results], wall_s=round(time.monotonic() - t0, 1),
                 restarts=sum(r.get("restarts") or 0 for r in results))
    if errors:
        interrupted = any(r.get("status") == "interrupted" for r in results)
        return {**entry, "status": "interrupted" if interrupted else "failed", "error": "; ".join(errors)}
    return {**entry, "status": "complete", "error": None, METRIC: statistics.fmean(per_seed.values())}


def point_trainable(config: dict[str, Any], *, context: dict[str, Any]) -> None:
    """Ray Tune's function trainable: one point, reported once (the entry as JSON, the objective).

    Never raises: a failure is the entry's, so Ray retries only a trial whose worker died.
    """
    from ray import tune

    from gailctl.core.errors import one_line_error

    try:
        entry = run_point(config, context)
    except Exception as exc:  # noqa: BLE001 - a retry cannot fix it: reported, not raised to Ray
        entry = {"trial": int(config[TRIAL_KEY]), "values": {}, "per_seed": {}, "run_dirs": [], METRIC: math.nan,
                 "status": "failed", "error": one_line_error(exc)}
    tune.report({METRIC: entry[METRIC], "entry": json.dumps(entry)})


# --- the journal -----------------------------------------------------------------------


def append_entry(tune_dir: Path, entry: dict[str, Any]) -> None:
    """One line per ended trial; appended and flushed at once (a later line for a trial wins)."""
    line = json.dumps({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in entry.items()})
    with open(Path(tune_dir) / JOURNAL, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def read_journal(tune_dir: Path) -> dict[int, dict[str, Any]]:
    """Trial number -> its last entry; a torn last line (a killed process) is skipped."""
    out: dict[int, dict[str, Any]] = {}
    try:
        lines = (Path(tune_dir) / JOURNAL).read_text(encoding="utf-8").splitlines()
    except OSError:
        return out
    for line in lines:
        try:
            entry = json.loads(line)
            out[int(entry["trial"])] = entry
        except (ValueError, KeyError, TypeError):
            continue
    return out


def fail_stale(study: Any, tune_dir: Path, *, why: str) -> int:
    """Trials Optuna still has running (their tune process stopped): failed, recorded as interrupted."""
    from optuna.trial import TrialState

    stale = [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))]
    for number in stale:
        study.tell(number, state=TrialState.FAIL)
        append_entry(tune_dir, {"trial": number, "status": "interrupted", "error": why})
    return len(stale)


# --- progress, on the driver -----------------------------------------------------------


def progress_callback(tune: Any, *, tune_dir: Path, space: Space, on_ended: Callable[[], None],
                      say: Callable[[str], None], position: Callable[[], str]) -> Any:
    """Journal every ended trial, print a line as trials start and end, rewrite the outputs."""

    class Progress(tune.Callback):  # type: ignore[misc, name-defined]
        def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            number = trial.config.get(TRIAL_KEY)
            failures = trial.run_metadata.num_failures
            if failures:  # Ray starts it again after its worker died
                say(f"trial {number}: started again (attempt {failures + 1})")
                return
            values = config_values(space, trial.config)
            runs_of = trial.config.get(RUNS_KEY, number)
            goes_on = f" (goes on from trial {runs_of}'s runs)" if runs_of != number else ""
            say(f"trial {number} {position()}: " + ", ".join(f"{k}={short_value(v)}" for k, v in values.items()) + goes_on)

        def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            say(f"trial {trial.config.get(TRIAL_KEY)}: its worker died (killed, out of memory, or its node lost); Ray starts it "
                f"again ({trial.run_metadata.num_failures} of {trial.max_failures} retries), its runs from their last checkpoints")

        def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
            entry = json.loads(result["entry"])
            append_entry(tune_dir, entry)
            if entry["status"] == "complete":
                seeds = ", ".join(f"s{s} {v:.3f}" for s, v in entry["per_seed"].items())
                say(f"trial {entry['trial']}: {space.objective} {entry[METRIC]:.3f} ({seeds}) in {entry['wall_s']:.0f} s")
            else:
                say(f"trial {entry['trial']}: {entry['status']}: {entry['error']}")

        def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            on_ended()

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            number = trial.config.get(TRIAL_KEY)
            if number is not None:  # its worker died before it reported (killed, out of memory...)
                append_entry(tune_dir, {"trial": number, "values": config_values(space, trial.config), "status": "failed",
                                        "error": f"Ray: the trial's worker died {trial.run_metadata.num_failures} time(s) "
                                                 "(killed, out of memory, or its node lost); see Ray's logs"})
            say(f"trial {number}: failed in Ray (its worker died, and Ray gave up on it)")
            on_ended()

    return Progress()


def short_value(value: Any) -> str:
    """A value for a progress line or a table cell: floats to 4 significant digits, the rest as YAML."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return yaml_value(value)
