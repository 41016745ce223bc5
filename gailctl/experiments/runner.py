"""The one trial runner: sweep, bench and tune trials all run here, as Ray Tune trials.

It owns Ray: importing it (or saying how to install it), starting an embedded cluster whose
temporary files live in the experiment's folder or joining one given by `--address`, building
the `ray.tune.Tuner` (a list of trial payloads as a grid, or a search algorithm such as
Optuna's TPE drawing `num_samples` points), and returning what each trial reported. What a
trial does is the caller's trainable; `run_trial` is the common one: one ordinary gailctl run
folder through `gailctl.core.execution.execute`, its final scores as the result.

Nothing here imports Ray, torch or Optuna at module level.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

from gailctl.core.config import Config
from gailctl.core.config_load import config_from_dict
from gailctl.core.errors import GailctlError, Interrupted, UsageError
from gailctl.experiments import DEFAULT_MAX_FAILURES
from gailctl.report.run_scores import final_scores

log = logging.getLogger(__name__)

RAY_MISSING = "gailctl sweep, bench and tune run on Ray Tune, an optional extra: pip install 'gailctl[ray]'"

UNIX_SOCKET_MAX = 107
"""Longest AF_UNIX socket path on Linux, in bytes (Ray refuses a temp dir that overflows it)."""
RAY_SOCKET_TAIL = len("/session_2026-01-01_00-00-00_000000_4194304/sockets/plasma_store.99")
"""What Ray appends to its temp dir for its longest socket path."""

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


def require_ray() -> None:
    """Refuse at once, without importing Ray (seconds), when the extra is not installed."""
    try:
        found = importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise UsageError(RAY_MISSING)


def one_line_error(exc: BaseException) -> str:
    """Our errors as they are; anything else as `Type: first line`, like the CLI prints them."""
    if isinstance(exc, GailctlError):
        return str(exc)
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first[:300]}" if first else type(exc).__name__


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


# --- Ray -------------------------------------------------------------------------------


def check_address(address: str, *, timeout_s: float = 5.0) -> None:
    """Refuse a `HOST:PORT` (or `ray://HOST:PORT`) nobody listens on, before Ray retries for minutes.

    `auto` and other forms are left to `ray.init`.
    """
    import socket

    if not address.strip():
        raise UsageError("--address: empty; give a Ray address such as auto or HOST:6379")
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit() or not host:
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        raise UsageError(f"--address {address}: no Ray cluster answers there ({exc.strerror or exc})") from None


def ray_temp_dir(run_dir: Path) -> tuple[Path, bool]:
    """Ray's temp dir inside the experiment's folder, and whether Ray must be given a short link to it.

    Ray puts unix sockets under its temp dir, and their paths cannot pass UNIX_SOCKET_MAX
    bytes; a run folder's path is usually too long for that.
    """
    real = Path(run_dir) / "ray"
    return real, len(str(real).encode()) + RAY_SOCKET_TAIL > UNIX_SOCKET_MAX


def import_ray() -> Any:
    """`ray`, with `ray.tune` imported; UsageError naming the extra when it is not installed."""
    try:
        import ray
        import ray.tune  # noqa: F401 - callers use ray.tune
    except ImportError as exc:
        raise UsageError(f"{RAY_MISSING} ({exc})") from None
    return ray


@contextlib.contextmanager
def ray_session(ray: Any, *, run_dir: Path, address: Optional[str], info: dict[str, Any]) -> Any:
    """Start an embedded Ray (temp files in `run_dir/ray`) or join `address`; shut down what we started.

    `info` receives `address` and `num_cpus` (the cluster's). A Ray already initialised in this
    process (a caller's) is used as it is and left running. `run_dir` may be relative (a relative
    `--runs-dir`): Ray's files and the short link to them are made from its absolute path.
    """
    if ray.is_initialized():
        info["address"] = "already initialised in this process"
        info["num_cpus"] = int(ray.cluster_resources().get("CPU", 1))
        yield
        return
    run_dir = Path(run_dir).absolute()
    link = None
    try:
        if address is not None:
            try:
                ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise UsageError(f"--address {address}: cannot join a Ray cluster: {one_line_error(exc)} "
                                 "(a cluster with token authentication, `ray start`'s default, needs RAY_AUTH_MODE=token here)") from None
            info.update(address=address, num_cpus=int(ray.cluster_resources().get("CPU", 1)))
        else:
            real, too_long = ray_temp_dir(run_dir)
            real.mkdir(parents=True, exist_ok=True)  # a resumed tune starts a second session there
            if too_long:  # a short path in /tmp that points into the experiment's folder
                _remove_stale_short_links(real)
                link = Path(tempfile.mkdtemp(prefix="gailctl-ray-", dir=_short_root())) / "r"
                link.symlink_to(real, target_is_directory=True)
            num_cpus = os.cpu_count() or 1
            info.update(address="embedded", num_cpus=num_cpus, temp_dir=str(real), temp_dir_link=None if link is None else str(link))
            try:
                with _quiet_logger(RAY_AUTH_LOGGER):
                    ray.init(address="local", num_cpus=num_cpus, _temp_dir=str(link or real), include_dashboard=False,
                             log_to_driver=False, logging_level=logging.WARNING)
            except Exception as exc:  # noqa: BLE001 - Ray raises many types when its cluster cannot start
                via = f" through the short link {link}" if link is not None else ""
                raise GailctlError(f"Ray could not start its embedded cluster (its files go to {real}{via}): "
                                   f"{one_line_error(exc)}; rerun with --debug for Ray's traceback, or join a running "
                                   "cluster with --address") from exc
        yield
    finally:
        ray.shutdown()  # stops the embedded cluster; only disconnects from a cluster given by --address
        if link is not None:
            _unlink_short_temp_dir(link, run_dir / "ray")


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM to the experiment's process stops it like Ctrl-C (its folder and report stay consistent)."""
    import signal
    import threading

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


RAY_AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"
"""Warns at every start of a local cluster that token authentication is on (Ray's default, kept)."""


TUNE_CONTROLLER_LOGGER = "ray.tune.execution.tune_controller"
"""Logs a traceback for every trial whose worker died; gailctl's progress lines say it in one."""


@contextlib.contextmanager
def _quiet_logger(name: str, *, level: int = logging.ERROR) -> Any:
    """Within the block, `name`'s messages below `level` are not shown (by default: its errors still are)."""
    logger = logging.getLogger(name)
    before = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(before)


@contextlib.contextmanager
def quiet_tune() -> Any:
    """Tune without its start-up banner, its TensorBoard hint and its resume advice.

    Ray Tune's default output prints a configuration box, "View detailed results here", and a
    `tensorboard --logdir` under the embedded cluster's temporary session folder, which is
    deleted at exit; on Ctrl-C it advises `Tuner.restore(...)`, which gailctl does not use
    (`--resume` does). Its older reporter (`RAY_AIR_NEW_OUTPUT=0`) prints nothing at
    `verbose=0`; the trials' progress is gailctl's own (`sweep._progress_callback`), and each
    trial's TensorBoard events are in its run folder (`tensorboard_hint`). A trial whose worker
    died is one progress line, not Tune's traceback.
    """
    previous = os.environ.get("RAY_AIR_NEW_OUTPUT")
    os.environ["RAY_AIR_NEW_OUTPUT"] = "0"
    try:
        with _quiet_logger("ray.tune.tune"), _quiet_logger(TUNE_CONTROLLER_LOGGER, level=logging.CRITICAL):
            yield
    finally:
        if previous is None:
            os.environ.pop("RAY_AIR_NEW_OUTPUT", None)
        else:
            os.environ["RAY_AIR_NEW_OUTPUT"] = previous


def tensorboard_hint(trials_dir: Path) -> str:
    """Where TensorBoard finds every trial's curves: each trial's run folder has its own `tb/`."""
    import shlex

    return f"TensorBoard: tensorboard --logdir {shlex.quote(str(trials_dir))}"


def _short_root() -> Path:
    """Where the short links go: /tmp, whose path is short, or the system's temp dir without one."""
    return Path("/tmp") if Path("/tmp").is_dir() else Path(tempfile.gettempdir())


def _remove_stale_short_links(real: Path) -> None:
    """Remove /tmp links to `real` that a killed driver of this experiment left (it could not clean up).

    Only links into this experiment's own Ray folder are touched; its lock keeps a second driver out.
    """
    for old in _short_root().glob("gailctl-ray-*/r"):
        with contextlib.suppress(OSError):
            if old.is_symlink() and Path(os.readlink(old)) == real:
                old.unlink()
                old.parent.rmdir()


def _unlink_short_temp_dir(link: Path, real: Path) -> None:
    """Remove the /tmp link; Ray's `session_latest` then points at its session relatively."""
    with contextlib.suppress(OSError):
        latest = real / "session_latest"
        if latest.is_symlink():
            target = Path(os.readlink(latest)).name
            latest.unlink()
            latest.symlink_to(target)
    with contextlib.suppress(OSError):
        link.unlink()
        link.parent.rmdir()


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
