"""`gailctl tune`: Optuna's TPE searches config values; every trial is `gail` over seeds, scored from metrics.csv.

Everything is checked before the study starts: the space file (`tune_space`), every key at
every bound through `load_config`, the seeds, the demonstrations. Then the trials run
on the one Ray Tune runner (`gailctl.experiments.runner`, embedded Ray or `--address`), with
Optuna's TPE sampler as Tune's search algorithm (`gailctl.experiments.tune_search`): each
trial is one point of the space, an ordinary `gail` run folder per seed under `<tune>/trials/`,
scored by the mean over seeds of the space's objective; `--workers` trials at a time. The
study lives in `<tune>/study.db` (SQLite), so `--resume` continues it. After every trial the
folder's trials.csv, results.md and best.yaml are rewritten.

The first trial of a new study runs the config's own values (where they lie in the space):
the baseline the others are measured against. Planning lives in `tune_plan`, the study's
files in `tune_outputs`; this module runs the study.
"""

from __future__ import annotations

import contextlib
import functools
import json
import shutil
import time
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import yaml

from gailctl.core.config import Config
from gailctl.core.config_load import config_to_yaml
from gailctl.core.demo_sources import demos_argument
from gailctl.core.errors import Interrupted, UsageError
from gailctl.core.paths import shown_path
from gailctl.core.runs import append_command, atomic_write_text, create_run, now_iso, read_summary, run_lock, write_run_header, write_summary
from gailctl.experiments.plans import check_trial_data
from gailctl.experiments.ray_session import check_address, import_ray, require_ray, tensorboard_hint
from gailctl.experiments.runner import DEFAULT_MAX_FAILURES, check_max_failures, run_on_ray
from gailctl.experiments.trial_runs import RUNS_FILE, settle_all
from gailctl.experiments.tune_outputs import TuneOutcome, counted_row, write_outputs
from gailctl.experiments.tune_plan import (
    DEFAULT_SAMPLER_SEED,
    DEFAULT_SEEDS,
    DEFAULT_TRIALS,
    RUN_SECTIONS,
    TuneOptions,
    TunePlan,
    plan_tune,
)
from gailctl.experiments.tune_search import (
    CONTINUES,
    JOURNAL,
    STUDY_NAME,
    fail_stale,
    make_search,
    open_storage,
    open_study,
    point_trainable,
    progress_callback,
    read_journal,
)
from gailctl.experiments.tune_space import load_space, yaml_value

OPTUNA_MISSING = "gailctl tune needs optuna (imitation installs it): pip install optuna"


# --- messages --------------------------------------------------------------------------


@contextlib.contextmanager
def _discard_unless_joined(tune_dir: Path, *, new: bool, joined: list[bool]) -> Iterator[None]:
    """A new tune folder whose Ray could not be started or joined is removed (as sweep does): nothing ran."""
    try:
        yield
    except UsageError:
        if new and not joined[0]:
            shutil.rmtree(tune_dir, ignore_errors=True)
        raise


def _say(text: str) -> None:
    from gailctl.core.ui import console

    console.print(text, highlight=False, markup=False, soft_wrap=True)


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


def _interrupted(trial: Any, journal: dict[int, dict[str, Any]]) -> bool:
    """Stopped before its outcome (Ctrl-C, a lost tune process): its point is run again on a resume."""
    if trial.state.name == "PRUNED":  # Tune stopped it before it reported
        return True
    return trial.state.name == "FAIL" and journal.get(trial.number, {}).get("status") == "interrupted"


def _enqueue_again(study: Any, plan: TunePlan, journal: dict[int, dict[str, Any]]) -> int:
    """A resumed study runs each interrupted trial's point again first, as a new trial whose seeds go
    on in the interrupted trial's run folders (from their last checkpoints; a finished seed is not
    run again); then the config's own values if their trial never ran. Returns how many went again."""
    again = set(study.user_attrs.get("continued", []))
    baseline = study.user_attrs.get("baseline_trial")
    n = 0
    for trial in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        if trial.number in again or not trial.params or not _interrupted(trial, journal):
            continue
        study.enqueue_trial(dict(trial.params), user_attrs={CONTINUES: int(trial.user_attrs.get(CONTINUES, trial.number))})
        again.add(trial.number)
        n += 1
        if trial.number == baseline:  # the config's own values go on as this new trial
            baseline = max(t.number for t in study.get_trials(deepcopy=False) if t.state.name == "WAITING")
            study.set_user_attr("baseline_trial", baseline)
    study.set_user_attr("continued", sorted(again))
    _enqueue_baseline(study, plan, journal)
    return n


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
    demos: Optional[str] = None,
    workers: Optional[int] = None,
    sampler_seed: Optional[int] = None,
    resume: Optional[Path] = None,
    runs_dir: Path = Path("runs"),
    address: Optional[str] = None,
    max_failures: int = DEFAULT_MAX_FAILURES,
    argv: Optional[list[str]] = None,
    track: Optional[str] = None,
) -> TuneOutcome:
    """`gailctl tune`: plan and check, then run trials on Ray Tune until the study has `n_trials` outcomes.

    The tune folder (`runs_dir/tune__ENV__sSEEDS__TIME`, SEEDS like `0-2`, or `resume`) holds config.yaml,
    command.txt (one line per start), tune.json, space.yaml, study.db, trials.jsonl, summary.json,
    trials/ (a gail run folder per trial and seed), trials.csv, results.md and best.yaml, and Ray's
    files: tune-N/ (Tune's results of the Nth start) and, for the embedded cluster, ray/.
    `track` (mlflow, wandb): each finished run of every trial (one per seed) is sent there once the
    trials have run, unless the tune was interrupted; a resumed tune sends what was not sent yet.
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
            demos=demos_argument(demos),
            sampler_seed=DEFAULT_SAMPLER_SEED if sampler_seed is None else sampler_seed,
            n_trials=DEFAULT_TRIALS if n_trials is None else n_trials, cwd=str(Path.cwd()))
    check_max_failures(max_failures)
    plan = plan_tune(options, space=space, space_source=space_source, workers=workers, address=address)
    from gailctl.rl.env.make import check_env_id

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

    joined = [True]  # until Ray turns out to be unreachable
    with _discard_unless_joined(tune_dir, new=resume is None, joined=joined), run_lock(tune_dir):
        previous = read_summary(tune_dir) if resume is not None else {}
        head = {"stage": "tune", "env_id": plan.base_config.env.id, "seed": plan.seeds[0], "run_dir": shown_path(tune_dir),
                "started": previous.get("started", now_iso())}
        if resume is not None:
            head["resumed"] = [*previous.get("resumed", []), now_iso()]
        storage = open_storage(optuna, tune_dir)
        study = open_study(optuna, storage)
        n_before = len(study.get_trials(deepcopy=False))
        if resume is not None and (n_stale := fail_stale(study, tune_dir, why="the tune process stopped during this trial")):
            _say(f"tune: {n_stale} trial(s) left running by a stopped tune process marked interrupted")
        journal = read_journal(tune_dir)
        if resume is not None:
            settle_all(tune_dir / RUNS_FILE, status="interrupted", why="stopped with the tune process before it finished")
            if n_again := _enqueue_again(study, plan, journal):
                _say(f"tune: {n_again} interrupted trial(s) run again first, their seeds from their runs' last checkpoints")
        else:
            _enqueue_baseline(study, plan, journal)
        done = sum(_counted(t, journal) for t in study.get_trials(deepcopy=False))
        n_new = options.n_trials - done
        if n_new < 1:
            raise UsageError(f"--resume {tune_dir}: the study already has {done} trial(s) of --trials {options.n_trials}; "
                             f"pass --trials N above {done} to run more")
        if resume is not None:  # command.txt: one line per start of the study
            append_command(tune_dir, argv=argv, note=f"resumed {head['resumed'][-1]}")
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
                 f"another in each, {min(info['max_concurrent'], n_new)} trial(s) at a time on Ray ({info['address']}, "
                 f"{info['num_cpus']} CPU(s)), objective {space.objective}; run folders in {tune_dir / 'trials'}")
            _say(tensorboard_hint(tune_dir / "trials"))

        ray_tune = import_ray().tune
        context = {"options": options.to_json(), "space": space.as_yaml_data(), "tune_dir": str(tune_dir)}
        progress = progress_callback(ray_tune, tune_dir=tune_dir, space=space, say=_say, position=position,
                                     on_ended=lambda: write_outputs(study, plan, tune_dir))
        ray_info: dict[str, Any] = {}
        t0 = time.monotonic()
        status = "running"
        before = {t.number for t in study.get_trials(deepcopy=False) if t.state.name != "WAITING"}
        try:
            run_on_ray(ray_tune.with_parameters(point_trainable, context=context), run_dir=tune_dir, address=address,
                       max_concurrent=plan.workers, info=ray_info, n_trials=n_new, search_alg=search,
                       callbacks=[progress], announce=announce, name=f"tune-{starts}", max_failures=max_failures)
            status = "finished"
        except UsageError:  # Ray could not be imported or joined: nothing ran
            status = "failed"
            joined[0] = False
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
            # A run whose worker Ray ended (Ctrl-C) or gave up on says so, not `running`.
            settle_all(tune_dir / RUNS_FILE, status="interrupted" if status == "interrupted" else "failed",
                       why="stopped with the tune before it finished" if status == "interrupted"
                       else "its worker died and Ray gave up on its trial")
            summary = {**head, "status": status, "wall_s": round(time.monotonic() - t0, 1), "objective": space.objective,
                       "n_trials": sum(counted_row(r) for r in rows), "n_target": options.n_trials,
                       "n_complete": sum(r["state"] == "complete" for r in rows),
                       "n_failed": sum(r["state"] == "failed" for r in rows), "ray": ray_info,
                       "best": None if best is None else {k: best[k] for k in ("trial", "objective", "values", "per_seed")},
                       "artifacts": {"study": "study.db", "journal": JOURNAL, "trials": "trials.csv", "results": "results.md",
                                     "best": "best.yaml" if best is not None else None}}
            if status == "interrupted":
                summary["error"] = f"interrupted; continue with: gailctl tune --resume {tune_dir}"
            write_summary(tune_dir, summary)
        if track is not None and status == "finished":  # a resume sends what a stopped tune finished
            from gailctl.experiments.trial_tracking import journal_runs, send_trials

            send_trials(journal_runs(read_journal(tune_dir)), track, exp_dir=tune_dir, kind="tune", say=_say)
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
