"""`gailctl sweep`: one stage over seeds and a grid of settings, each combination a Ray Tune trial.

The trials are planned and checked first (`gailctl.experiments.plans`), then run on the one
trial runner (`gailctl.experiments.runner`); each goes through `gailctl.core.execution.execute`,
so it is an ordinary run folder under `<sweep>/trials/`. The sweep folder gets the aggregated
table (`results.csv`, `results.md`) and the curves (`curves.png`) from
`gailctl.experiments.sweep_outputs`, and keeps Ray's own files too: `tune/` (Tune's results)
and `ray/` (the embedded cluster's temporary files and logs). The trial list is saved first
(`gailctl.experiments.trial_list`), so `gailctl sweep --resume` finishes a stopped sweep, and a
trial Ray starts again after its worker died goes on from its last checkpoint
(`gailctl.experiments.trial_runs`).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any, Optional, Sequence

import yaml

from gailctl.core.config_load import config_from_dict, config_to_yaml
from gailctl.core.errors import Interrupted, UsageError, one_line_error
from gailctl.core.paths import shown_path
from gailctl.core.runs import (
    append_command,
    atomic_write_text,
    create_run,
    now_iso,
    read_summary,
    run_lock,
    write_run_header,
    write_summary,
)
from gailctl.experiments.plans import SweepPlan, check_trial_data, plan_sweep, saved_plan, trial_payload
from gailctl.experiments.ray_session import check_address, import_ray, require_ray, tensorboard_hint
from gailctl.experiments.runner import (
    DEFAULT_MAX_FAILURES,
    NEVER_STARTED,
    RESULT_COLUMNS,
    TrialOutcome,
    check_max_failures,
    payload_trainable,
)
from gailctl.experiments.runner import run_on_ray as run_trials_on_ray
from gailctl.experiments.sweep_outputs import SweepOutcome, aggregate, fmt
from gailctl.experiments.trial_list import TRIALS_FILE, new_trial_list, read_trial_list, run_trials
from gailctl.experiments.trial_runs import RUNS_FILE
from gailctl.report.run_scores import plural


def _say(labels: Sequence[str], trial: Any, what: str, done: Optional[int] = None) -> None:
    from rich.markup import escape

    from gailctl.core.ui import console

    i, n = int(trial.config["trial"]), len(labels)
    tail = "" if done is None else f" \\[{done}/{n} done]"
    # Numbered as in the table, results.csv and summary.json: from 0.
    console.print(f"trial {i} of 0-{n - 1} ({escape(labels[i])}): {what}{tail}", highlight=False)


def _progress_callback(tune: Any, labels: Sequence[str], record: Optional[tuple[str, list[int]]] = None) -> Any:
    """One stderr line per trial as it starts and ends; Tune's own tables stay quiet.

    `record` = (file, ids): each trial's result is also appended to the file as a JSON line, as it
    arrives, with `ids[i]` as trial i's number, so it survives the driver being killed.
    Tune pickles its callbacks with the experiment: this one holds only plain data.
    """
    from rich.markup import escape

    class Progress(tune.Callback):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            self.labels, self.done, self.record = list(labels), 0, record

        def _record(self, trial: Any, result: dict) -> None:
            if self.record is not None:
                path, ids = self.record
                line = {"trial": ids[int(trial.config["trial"])], **{k: result.get(k) for k in RESULT_COLUMNS}}
                with open(path, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(line) + "\n")

        def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            failures = trial.run_metadata.num_failures
            _say(self.labels, trial, f"started again (attempt {failures + 1})" if failures else "started")

        def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            _say(self.labels, trial, f"[yellow]its worker died[/] (killed, out of memory, or its node lost); Ray starts it "
                 f"again ({trial.run_metadata.num_failures} of {trial.max_failures} retries), from its last checkpoint")

        def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
            self.done += 1
            self._record(trial, result)
            if result.get("status") == "finished":
                # Scores are left out when unknown (None, or NaN without references).
                scores = [f"{name}{value:.2f}" for name, value in (("normalized ", result.get("normalized_score")),
                                                                   ("sampled ", result.get("sampled_normalized_score")))
                          if isinstance(value, (int, float)) and value == value]
                notes = ", ".join(scores)
                if result.get("final_episodes"):
                    notes += ("; " if notes else "") + plural(result["final_episodes"], "episode")
                what = (f"final return {fmt(result.get('return_mean'), '.1f')}{f' ({notes})' if notes else ''}"
                        f" in {fmt(result.get('wall_s'), '.0f')} s")
            else:
                what = f"[red]{result.get('status')}[/]: {escape(str(result.get('error')))}"
            _say(self.labels, trial, what, self.done)

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self.done += 1
            retried = trial.run_metadata.num_failures - 1
            again = f" again, after {retried} retr{'y' if retried == 1 else 'ies'}" if retried else ""
            _say(self.labels, trial, f"[red]its worker died[/]{again}: Ray gave up on it", self.done)

    return Progress()


def retries_text(max_failures: int) -> str:
    """How the announcement states `--max-failures`."""
    return f"a trial whose worker dies retried up to {plural(max_failures, 'time')}" if max_failures else "no retries"


def _result_of(outcome: TrialOutcome) -> dict[str, Any]:
    result = dict.fromkeys(RESULT_COLUMNS)
    if "status" in outcome.metrics:
        result.update({k: outcome.metrics.get(k) for k in RESULT_COLUMNS})
    elif outcome.error is not None:  # the worker itself died (killed, out of memory...) as often as Ray retries
        result.update(status="failed", error=outcome.error)
    else:
        result.update(status="interrupted", error="stopped before it finished")
    return result


def run_payload(payload: dict[str, Any], labels: Sequence[str], *, what: str, run_dir: Path, address: Optional[str],
                max_concurrent: Optional[int], max_failures: int, info: dict[str, Any], name: str = "tune",
                record: Optional[tuple[Path, Sequence[int]]] = None) -> list[dict[str, Any]]:
    """A trial payload (`plans.trial_payload`, or a bench's several) on the one runner, in its order.

    Tune starts the trials in the payload's order; one result (RESULT_COLUMNS) per trial. Tune's
    own files go to `run_dir/name`; with `record` = (file, ids) each result is also appended to
    the file as it arrives, numbered by `ids`. Afterwards (or when interrupted) a trial's run that
    its dead worker left saying `running` says `failed` or `interrupted` (`trial_runs.account_lost`).
    """
    from gailctl.experiments.trial_runs import account_lost

    ray_tune = import_ray().tune
    n = len(payload["trials"])
    runs_file = Path(payload["runs_file"]) if payload.get("runs_file") else None

    def announce(info: dict[str, Any]) -> None:
        from rich.markup import escape

        from gailctl.core.ui import console

        console.print(f"sweep: {n} {what} on Ray ({info['address']}, {info['num_cpus']} CPU(s), "
                      f"{info['max_concurrent']} at a time, {retries_text(max_failures)}); "
                      f"run folders in {escape(payload['trials_dir'])}", highlight=False)
        console.print(escape(tensorboard_hint(Path(payload["trials_dir"]))), highlight=False, soft_wrap=True)

    try:
        outcomes = run_trials_on_ray(ray_tune.with_parameters(payload_trainable, payload=payload), run_dir=run_dir,
                                     address=address, max_concurrent=max_concurrent, info=info, n_trials=n,
                                     callbacks=[_progress_callback(ray_tune, labels, None if record is None else (str(record[0]), list(record[1])))],
                                     announce=announce, name=name, max_failures=max_failures)
    except KeyboardInterrupt:
        account_lost(payload["trials"], [{"status": "interrupted"} for _ in range(n)], runs_file)
        raise
    by_index = {int(o.config["trial"]): _result_of(o) for o in outcomes if "trial" in o.config}
    missing = {**dict.fromkeys(RESULT_COLUMNS), "status": "interrupted", "error": NEVER_STARTED}
    results = [by_index.get(i, dict(missing)) for i in range(n)]
    account_lost(payload["trials"], results, runs_file)
    return results

# --- the command -----------------------------------------------------------------------


def check_runner_options(max_concurrent: Optional[int], max_failures: int) -> None:
    if max_concurrent is not None and max_concurrent < 1:
        raise UsageError(f"--max-concurrent {max_concurrent}: must be at least 1")
    check_max_failures(max_failures)


def run_sweep(
    *,
    stage: Optional[str],
    config_path: Optional[Path],
    seeds: str = "0",
    overrides: Sequence[str] = (),
    grid: Sequence[str] = (),
    demos: Optional[str] = None,
    runs_dir: Path = Path("runs"),
    address: Optional[str] = None,
    max_concurrent: Optional[int] = None,
    max_failures: int = DEFAULT_MAX_FAILURES,
    argv: Optional[list[str]] = None,
    allow_env_mismatch: bool = False,
    track: Optional[str] = None,
) -> SweepOutcome:
    """`gailctl sweep`: check everything, run the trials on Ray Tune, aggregate them.

    The sweep folder (`runs_dir/sweep__ENV__sSEEDS__TIME`, SEEDS like `0-4`) holds config.yaml, command.txt,
    sweep.json, summary.json, trials/ (one run folder per trial), results.csv, results.md,
    curves.png, the trial list and its logs (trials.json, trial-results.jsonl, trial-runs.jsonl:
    what `--resume` and Ray's retries go on from), tune/ (Ray Tune's results) and, for the
    embedded cluster, ray/ (its temp files). A failed trial does not stop the others; the
    outcome says how each ended. `track` (mlflow, wandb): each finished trial's run is sent there
    afterwards (`trial_tracking`), unless the sweep was interrupted.
    """
    require_ray()
    check_runner_options(max_concurrent, max_failures)
    plan = plan_sweep(stage=stage, config_path=config_path, seeds=seeds, overrides=overrides, grid=grid, demos=demos,
                      allow_env_mismatch=allow_env_mismatch)
    from gailctl.rl.env.make import check_env_id

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
    trial_list = new_trial_list(trial_payload(plan, trials_dir), [t.label for t in plan.trials])
    atomic_write_text(sweep_dir / TRIALS_FILE, json.dumps(trial_list, indent=1) + "\n")  # what --resume goes on from
    head = {"stage": "sweep", "env_id": base.env.id, "seed": plan.seeds[0], "run_dir": shown_path(sweep_dir), "started": now_iso(),
            "sweep_stage": plan.stage, "n_trials": len(plan.trials)}
    with run_lock(sweep_dir):
        return _run_and_report(plan, sweep_dir, trial_list, head, earlier_s=0.0, new=True, address=address,
                               max_concurrent=max_concurrent, max_failures=max_failures, track=track)


def resume_sweep(sweep_dir: Path, *, address: Optional[str] = None, max_concurrent: Optional[int] = None,
                 max_failures: int = DEFAULT_MAX_FAILURES, argv: Optional[list[str]] = None,
                 track: Optional[str] = None) -> SweepOutcome:
    """`gailctl sweep --resume SWEEP_DIR`: finish the trials that did not finish, keep the finished ones.

    The trials are the ones the sweep saved when it started (their configs as they were then);
    each unfinished one goes on from its own run folder (`trial_runs.continuation`: a stopped or
    lost gail or expert run from its last checkpoint). `wall_s` adds up every invocation. With
    `track`, every finished trial not yet sent there is sent (none twice).
    """
    require_ray()
    check_runner_options(max_concurrent, max_failures)
    sweep_dir = Path(sweep_dir).absolute()
    summary = read_summary(sweep_dir)
    if summary.get("stage") != "sweep" or not (sweep_dir / "sweep.json").is_file():
        raise UsageError(f"--resume {sweep_dir}: not a sweep folder (no sweep summary.json and sweep.json)")
    if not (sweep_dir / TRIALS_FILE).is_file():
        raise UsageError(f"--resume {sweep_dir}: no {TRIALS_FILE} (a sweep from before gailctl saved its trial list): "
                         "nothing to resume; run the sweep again")
    if address is not None:
        check_address(address)
    with run_lock(sweep_dir):
        trial_list = read_trial_list(sweep_dir)
        if all(r is not None and r.get("status") == "finished" for r in trial_list["results"]) \
                and summary.get("status") == "finished" and not _unsent(trial_list, track):
            sent = f" and was sent to {track}" if track else ""
            raise UsageError(f"--resume {sweep_dir}: every trial finished{sent}; nothing to resume")
        try:
            describe = json.loads((sweep_dir / "sweep.json").read_text(encoding="utf-8"))
            base = config_from_dict(yaml.safe_load((sweep_dir / "config.yaml").read_text(encoding="utf-8")),
                                    source=str(sweep_dir / "config.yaml"))
            plan = saved_plan(describe, trial_list["payload"], base)
        except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
            raise UsageError(f"--resume {sweep_dir}: unreadable sweep.json, config.yaml or {TRIALS_FILE}: {exc}") from None
        head = {k: summary.get(k) for k in ("stage", "env_id", "seed", "run_dir", "started", "sweep_stage", "n_trials")}
        head["resumed"] = [*summary.get("resumed", []), now_iso()]
        append_command(sweep_dir, argv=argv, note=f"resumed {head['resumed'][-1]}")
        return _run_and_report(plan, sweep_dir, trial_list, head, earlier_s=float(summary.get("wall_s") or 0.0), new=False,
                               address=address, max_concurrent=max_concurrent, max_failures=max_failures, track=track)


def _unsent(trial_list: dict[str, Any], track: Optional[str]) -> int:
    from gailctl.experiments.trial_tracking import listed_runs, unsent

    return unsent(listed_runs(trial_list), track)


def _run_and_report(plan: SweepPlan, sweep_dir: Path, trial_list: dict[str, Any], head: dict[str, Any], *, earlier_s: float,
                    new: bool, address: Optional[str], max_concurrent: Optional[int], max_failures: int,
                    track: Optional[str] = None) -> SweepOutcome:
    """Run the list's unfinished trials, aggregate every trial; summary.json says how it ended, whatever happens."""
    ray_info: dict[str, Any] = {}
    write_summary(sweep_dir, {**head, "status": "running", "wall_s": round(earlier_s, 3)})
    t0 = time.monotonic() - earlier_s
    try:
        results = run_trials(sweep_dir, trial_list, address=address, max_concurrent=max_concurrent, max_failures=max_failures,
                             noun=f"{plan.stage} trial(s)", info=ray_info)
        outcome = aggregate(plan, sweep_dir, results, wall_s=round(time.monotonic() - t0, 3))
    except UsageError:  # Ray could not be imported or joined: nothing ran
        if new:  # leave no folder
            shutil.rmtree(sweep_dir, ignore_errors=True)
        else:
            write_summary(sweep_dir, {**head, "status": "interrupted", "wall_s": round(earlier_s, 3)})
        raise
    except KeyboardInterrupt as exc:
        write_summary(sweep_dir, {**head, "status": "interrupted", "ray": ray_info, "wall_s": round(time.monotonic() - t0, 3)})
        raise Interrupted(f"sweep interrupted; {sweep_dir}/summary.json says so, its trials/ holds the runs that started; "
                          f"continue with: gailctl sweep --resume {sweep_dir}") from exc
    except BaseException as exc:
        write_summary(sweep_dir, {**head, "status": "failed", "error": one_line_error(exc), "ray": ray_info,
                                  "wall_s": round(time.monotonic() - t0, 3)})
        raise
    summary = {**head, "status": outcome.status, "wall_s": outcome.wall_s, "n_finished": outcome.n_finished,
               "n_failed": outcome.n_failed, "n_restarted": outcome.n_restarted, "trials": outcome.rows, "points": outcome.points,
               "ray": ray_info,
               "artifacts": {"sweep": "sweep.json", "results_csv": "results.csv", "results_md": "results.md",
                             "curves": outcome.curves.name if outcome.curves else None, "trials": "trials", "tune": "tune",
                             "trial_list": TRIALS_FILE, "trial_runs": RUNS_FILE}}
    if outcome.status != "finished":
        summary["error"] = (f"{outcome.n_failed} trial(s) failed" if outcome.status == "failed"
                            else "some trials did not finish") + f"; continue with: gailctl sweep --resume {sweep_dir}"
    write_summary(sweep_dir, summary)
    if track is not None and outcome.status != "interrupted":  # a resume sends what a stopped sweep finished
        from gailctl.experiments.trial_tracking import listed_runs, send_trials

        send_trials(listed_runs(read_trial_list(sweep_dir)), track, exp_dir=sweep_dir, kind="sweep")
    return outcome
