"""The one trial runner: sweep, bench and tune trials all run here, as Ray Tune trials.

On the Ray session `ray_session` opens (an embedded cluster whose temporary files live in the
experiment's folder, or one joined with `--address`), it builds the `ray.tune.Tuner` (a list of
trial payloads as a grid, or a search algorithm such as Optuna's TPE drawing `num_samples`
points) and returns what each trial reported. What a trial does is the caller's trainable; `run_trial` is the common one: one ordinary gailctl run
folder through `gailctl.core.execution.execute`, its final scores as the result.

Nothing here imports Ray, torch or Optuna at module level.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from gailctl.core.config import Config
from gailctl.core.config_load import config_from_dict
from gailctl.core.errors import Interrupted, UsageError, one_line_error
from gailctl.experiments import DEFAULT_MAX_FAILURES
from gailctl.experiments.ray_session import import_ray, quiet_tune, ray_session, sigterm_interrupts
from gailctl.report.run_scores import final_scores

RESULT_COLUMNS = ("status", "return_mean", "return_std", "normalized_score", "sampled_normalized_score", "final_episodes",
                  "last_round_normalized_score", "n_env_steps", "wall_s", "restarts", "restarted_from", "run_dir", "error")
"""What `run_trial` reports. Scores are the run's final evaluation (gail: `final_eval`, argmax, and
`sampled_*` with sampled actions, over `final_episodes` episodes); `last_round_*` is gail's last
per-round evaluation. `restarts`: how often the trial's process died and its run went on,
`restarted_from` the env steps it went on from each time (`3840;7680`; 0: from the start)."""

NEVER_STARTED = "did not run"
"""The error of a trial Ray never started (the experiment was stopped first)."""


def check_max_failures(max_failures: int) -> None:
    if max_failures < 0:
        raise UsageError(f"--max-failures {max_failures}: must be 0 (no retries) or more")


# --- one run folder, inside a Ray worker -----------------------------------------------


def run_trial(payload: dict[str, Any], index: int) -> dict[str, Any]:
    """Run `payload["trials"][index]` as an ordinary run folder; returns RESULT_COLUMNS.

    `payload` is plain data (see `gailctl.experiments.plans.trial_payload`): the stage, the
    working directory to run from, the folder for run folders, the experiment's `runs_file`
    (`trial_runs.RUNS_FILE`), and per trial its `key`, its config as a dict, its reproducing
    command, its demonstrations (format and location) and, in a bench that mixes stages, its own
    stage. A trial whose key already has a run folder (Ray retrying it after its worker died, or the
    experiment's `--resume`) goes on there as `trial_runs.continuation` decides: a finished run
    is not run again, an unfinished one continues from its last checkpoint
    (`execute(..., resume_dir=...)`, as `--resume` does). An older bench's payload may name the
    folder itself (`resume_dir`). A failing trial does not raise: its status and one-line error
    are the result, so the other trials go on, the table says what went wrong, and Ray does not
    retry what a retry cannot fix (a bad config).
    """
    from gailctl.core import execution as stages
    from gailctl.experiments import trial_runs
    from gailctl.experiments.plans import saved_trial_demos
    from gailctl.stages import stage_run

    trial = payload["trials"][index]
    stage = trial.get("stage") or payload["stage"]
    key, runs_file = trial.get("key"), payload.get("runs_file")
    made: dict[str, Path] = {}
    result: dict[str, Any] = dict.fromkeys(RESULT_COLUMNS)
    try:
        if Path(payload["cwd"]).is_dir():  # so that command.txt's `cd` is where the experiment was started
            os.chdir(payload["cwd"])
        run_stage = stage_run(stage)

        def fn(cfg: Config, run_dir: Path, **kwargs: Any) -> Any:
            made["run_dir"] = run_dir
            if key is not None and runs_file:
                trial_runs.record_run(Path(runs_file), str(key), run_dir)
            return run_stage(cfg, run_dir, **kwargs)

        kwargs: dict[str, Any] = {}
        demos = saved_trial_demos(trial)
        if demos is not None:
            kwargs["demos"] = demos
        cfg = config_from_dict(trial["config"], source=f"trial {index}")
        resume_dir = trial.get("resume_dir")
        earlier = trial_runs.recorded_runs(Path(runs_file)).get(str(key)) if resume_dir is None and runs_file else None
        if earlier is not None:
            then = trial_runs.continuation(earlier, stage=stage)
            if then.how == "finished":  # its worker died after the run ended, before Ray heard of it
                return _finished(result, stage, earlier, then.summary)
            if then.how == "resume":
                resume_dir = earlier
            elif then.restarts:  # the new run starts with the restart that made it
                kwargs["inputs"] = {"restarts": list(then.restarts)}
        if resume_dir is not None:  # on from its last checkpoint, in its own run folder
            made["run_dir"] = Path(resume_dir)
            run_dir, summary = stages.execute(stage, fn, cfg, resume_dir=Path(resume_dir),
                                              argv=["gailctl", stage, "--resume", str(resume_dir)], **kwargs)
        else:
            run_dir, summary = stages.execute(stage, fn, cfg, runs_dir=Path(payload["trials_dir"]), argv=trial["argv"], **kwargs)
    except Exception as exc:  # noqa: BLE001 - recorded, not raised: one trial must not end the experiment
        run_dir = made.get("run_dir")
        result.update(status="interrupted" if isinstance(exc, Interrupted) else "failed", error=one_line_error(exc),
                      run_dir=str(run_dir) if run_dir is not None and run_dir.exists() else None)
        return result
    return _finished(result, stage, run_dir, summary)


def _finished(result: dict[str, Any], stage: str, run_dir: Path, summary: dict[str, Any]) -> dict[str, Any]:
    from gailctl.experiments.trial_runs import restart_columns

    scores = final_scores(stage, summary)
    result.update(status="finished", run_dir=str(run_dir), n_env_steps=summary.get("n_env_steps"), wall_s=summary.get("wall_s"),
                  return_mean=scores.return_mean, return_std=scores.return_std, normalized_score=scores.normalized_score,
                  sampled_normalized_score=scores.sampled_normalized_score, final_episodes=scores.episodes,
                  last_round_normalized_score=scores.last_round_normalized_score, **restart_columns(summary))
    return result


def payload_trainable(config: dict[str, Any], *, payload: dict[str, Any]) -> None:
    """Ray Tune's function trainable for a list of payloads: trial `config["trial"]`, reported once.

    Never raises (`run_trial` reports a failure as its result): Ray retries only a trial whose
    worker died, and the retry goes on from the trial's last checkpoint.
    """
    from ray import tune

    tune.report(run_trial(payload, int(config["trial"])))


# --- the runner ------------------------------------------------------------------------


@dataclass(frozen=True)
class TrialOutcome:
    """How one Tune trial ended, as plain data."""

    config: dict[str, Any]
    """The trial's config (for a payload grid: {"trial": index}; for a search: the point it drew)."""
    metrics: dict[str, Any]
    """What the trainable reported last; empty when it reported nothing."""
    error: Optional[str]
    """Ray's one-line error when the trial's worker itself failed (killed, out of memory...)."""


def run_on_ray(
    trainable: Callable[..., None],
    *,
    run_dir: Path,
    address: Optional[str],
    max_concurrent: Optional[int],
    info: dict[str, Any],
    n_trials: Optional[int] = None,
    search_alg: Any = None,
    param_space: Optional[dict[str, Any]] = None,
    callbacks: Sequence[Any] = (),
    announce: Optional[Callable[[dict[str, Any]], None]] = None,
    name: str = "tune",
    max_failures: int = DEFAULT_MAX_FAILURES,
) -> list[TrialOutcome]:
    """Run trials on Ray Tune, one CPU each, and return how each ended (in Tune's order).

    Either `n_trials` payload trials (the trainable receives `{"trial": i}`, i in 0..n-1, as a
    grid), or `search_alg` drawing `n_trials` points (the trainable receives each point).
    Tune's results go to `run_dir/name`; an embedded cluster's files to `run_dir/ray`.
    `info` receives the cluster's `address`, `num_cpus`, the trials run at a time
    (`max_concurrent`, default: the cluster's CPUs) and `max_failures`; `announce(info)` is called
    once they are known. A trial whose worker dies (killed, out of memory, its node lost) is
    started again up to `max_failures` times, on whichever node has room; the trainable decides
    where it goes on from. SIGTERM stops the experiment as Ctrl-C does (KeyboardInterrupt).
    """
    ray = import_ray()
    from ray import tune

    with ray_session(ray, run_dir=run_dir, address=address, info=info), sigterm_interrupts():
        info["max_concurrent"] = max_concurrent or info["num_cpus"]
        info["max_failures"] = max_failures
        if announce is not None:
            announce(info)
        # reuse_actors: a worker process runs trial after trial, so torch, SB3 and imitation are
        # imported once per worker, not once per trial (each run seeds itself; results unchanged).
        if search_alg is None:
            space = {**(param_space or {}), "trial": tune.grid_search(list(range(n_trials or 0)))}
            tune_config = tune.TuneConfig(num_samples=1, max_concurrent_trials=info["max_concurrent"], reuse_actors=True)
        else:
            space = dict(param_space or {})
            tune_config = tune.TuneConfig(num_samples=n_trials or 1, search_alg=search_alg,
                                          max_concurrent_trials=info["max_concurrent"], reuse_actors=True)
        tuner = tune.Tuner(
            tune.with_resources(trainable, {"cpu": 1}),
            param_space=space,
            tune_config=tune_config,
            run_config=tune.RunConfig(name=name, storage_path=str(run_dir), verbose=0, callbacks=list(callbacks),
                                      failure_config=tune.FailureConfig(max_failures=max_failures)),
        )
        with quiet_tune(), contextlib.redirect_stdout(sys.stderr):  # stdout is for the table and the path
            grid = tuner.fit()
        outcomes = []
        for result in grid:
            err = result.error
            outcomes.append(TrialOutcome(
                config=dict(result.config or {}), metrics=dict(result.metrics or {}),
                error=None if err is None else f"Ray: {one_line_error(getattr(err, 'cause', None) or err)}"))
    return outcomes
