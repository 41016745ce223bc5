"""Ray for the trial runner: importing it (or saying how to install it), an embedded cluster whose
temporary files live in the experiment's folder or a cluster joined with `--address`, and Ray
Tune kept quiet (gailctl prints the trials' progress itself).

Nothing here imports Ray at module level.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator, Optional

from gailctl.core.errors import GailctlError, UsageError, one_line_error

RAY_MISSING = "gailctl sweep, bench and tune run on Ray Tune, an optional extra: pip install 'gailctl[ray]'"

UNIX_SOCKET_MAX = 107
"""Longest AF_UNIX socket path on Linux, in bytes (Ray refuses a temp dir that overflows it)."""
RAY_SOCKET_TAIL = len("/session_2026-01-01_00-00-00_000000_4194304/sockets/plasma_store.99")
"""What Ray appends to its temp dir for its longest socket path."""


def require_ray() -> None:
    """Refuse at once, without importing Ray (seconds), when the extra is not installed."""
    try:
        found = importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise UsageError(RAY_MISSING)


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
            real.mkdir(parents=True, exist_ok=True)  # a resumed tune starts another Ray session there
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
