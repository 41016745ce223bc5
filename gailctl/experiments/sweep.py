"""`gailctl sweep`: one stage over seeds and a grid of settings, each combination a Ray Tune trial.

The trials are planned and checked first (`gailctl.experiments.plans`), then run on the one
trial runner (`gailctl.experiments.runner`); each goes through `gailctl.core.execution.execute`,
so it is an ordinary run folder under `<sweep>/trials/`. The sweep folder gets the aggregated
table (`results.csv`, `results.md`) and the curves (`curves.png`) from
`gailctl.experiments.sweep_outputs`, and keeps Ray's own files too: `tune/` (Tune's results)
and `ray/` (the embedded cluster's temporary files and logs).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any, Optional, Sequence

from gailctl.core.config_load import config_to_yaml
from gailctl.core.errors import Interrupted, UsageError
from gailctl.core.paths import shown_path
from gailctl.core.runs import atomic_write_text, create_run, now_iso, run_lock, write_run_header, write_summary
from gailctl.experiments.plans import SweepPlan, check_trial_data, plan_sweep, trial_payload
from gailctl.experiments.runner import (
    NEVER_STARTED,
    RESULT_COLUMNS,
    TrialOutcome,
    check_address,
    import_ray,
    one_line_error,
    payload_trainable,
    require_ray,
    tensorboard_hint,
)
from gailctl.experiments.runner import run_on_ray as run_trials_on_ray
from gailctl.experiments.sweep_outputs import SweepOutcome, aggregate, fmt
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
            _say(self.labels, trial, "started")

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
    return run_payload(trial_payload(plan, trials_dir), [t.label for t in plan.trials], what=f"{plan.stage} trial(s)",
                       run_dir=sweep_dir, address=address, max_concurrent=max_concurrent, info=info)


def run_payload(payload: dict[str, Any], labels: Sequence[str], *, what: str, run_dir: Path, address: Optional[str],
                max_concurrent: Optional[int], info: dict[str, Any], name: str = "tune",
                record: Optional[tuple[Path, Sequence[int]]] = None) -> list[dict[str, Any]]:
    """A trial payload (`plans.trial_payload`, or a bench's several) on the one runner, in its order.

    Tune starts the trials in the payload's order; one result (RESULT_COLUMNS) per trial. Tune's
    own files go to `run_dir/name`; with `record` = (file, ids) each result is also appended to
    the file as it arrives, numbered by `ids`.
    """
    ray_tune = import_ray().tune
    n = len(payload["trials"])

    def announce(info: dict[str, Any]) -> None:
        from rich.markup import escape

        from gailctl.core.ui import console

        console.print(f"sweep: {n} {what} on Ray ({info['address']}, {info['num_cpus']} CPU(s), "
                      f"{info['max_concurrent']} at a time); run folders in {escape(payload['trials_dir'])}", highlight=False)
        console.print(escape(tensorboard_hint(Path(payload["trials_dir"]))), highlight=False, soft_wrap=True)

    outcomes = run_trials_on_ray(ray_tune.with_parameters(payload_trainable, payload=payload), run_dir=run_dir,
                                 address=address, max_concurrent=max_concurrent, info=info, n_trials=n,
                                 callbacks=[_progress_callback(ray_tune, labels, None if record is None else (str(record[0]), list(record[1])))],
                                 announce=announce, name=name)
    by_index = {int(o.config["trial"]): _result_of(o) for o in outcomes if "trial" in o.config}
    missing = {**dict.fromkeys(RESULT_COLUMNS), "status": "interrupted", "error": NEVER_STARTED}
    return [by_index.get(i, dict(missing)) for i in range(n)]

# --- the command -----------------------------------------------------------------------


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
    head = {"stage": "sweep", "env_id": base.env.id, "seed": plan.seeds[0], "run_dir": shown_path(sweep_dir), "started": now_iso(),
            "sweep_stage": plan.stage, "n_trials": len(plan.trials)}
    ray_info: dict[str, Any] = {}
    with run_lock(sweep_dir):
        write_summary(sweep_dir, {**head, "status": "running"})
        t0 = time.monotonic()
        try:
            results = run_on_ray(plan, sweep_dir=sweep_dir, trials_dir=trials_dir, address=address,
                                  max_concurrent=max_concurrent, info=ray_info)
            outcome = aggregate(plan, sweep_dir, results, wall_s=round(time.monotonic() - t0, 3))
        except UsageError:  # Ray could not be imported or joined: nothing ran, leave no folder
            shutil.rmtree(sweep_dir, ignore_errors=True)
            raise
        except KeyboardInterrupt as exc:
            write_summary(sweep_dir, {**head, "status": "interrupted", "ray": ray_info, "wall_s": round(time.monotonic() - t0, 3)})
            raise Interrupted(f"sweep interrupted; {sweep_dir}/summary.json says so, its trials/ holds the runs that started "
                              "(a sweep has no --resume: run it again for the rest)") from exc
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
