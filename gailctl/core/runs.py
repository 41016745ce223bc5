"""Run folders: create (never reuse), atomic writes, summaries, and resolving run paths."""

from __future__ import annotations

import csv
import json
import os
import platform
import re
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

from gailctl.core.errors import GailctlError, UsageError

VERSIONED_PACKAGES = ("gailctl", "torch", "stable-baselines3", "imitation", "gymnasium", "seals", "numpy")
"""Packages whose versions every summary records, so a run says what produced it."""

# What each stage leaves as its final artifact; `eval` and `record` accept either.
FINAL_POLICY_FILES = ("model.zip", "policy.zip")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-")


def now_iso() -> str:
    """The local time as summaries record it (`started`, `resumed`)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


FOLDER_ALIASES = {"airl": "gail"}
"""Folder-name prefixes that are not stage names: AIRL runs are gail-stage runs named `airl__...`."""


def stage_from_folder_name(name: str) -> str:
    """`airl__seals-CartPole-v0__s0__TIME` -> `gail`; `expert__...` -> `expert` (unchecked)."""
    head = name.split("__", 1)[0]
    return FOLDER_ALIASES.get(head, head)


def seeds_label(seeds: Sequence[int]) -> str:
    """How a folder name states its seeds: `s3`, `s0-4` (a range), `s0.2.5` (a list)."""
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds_label: no seeds")
    if len(seeds) > 1 and seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"s{seeds[0]}-{seeds[-1]}"
    return "s" + ".".join(str(s) for s in seeds)


def create_run(runs_dir: Path, *, stage: str, env_id: str, seed: Optional[int] = None,
               seeds: Optional[Sequence[int]] = None) -> Path:
    """Make a NEW run folder `runs_dir/stage__env__sSEED__TIME[_N]`; never reuses one.

    `stage` is the name's first part: the stage, or for the gail stage its algorithm (`airl`).
    A folder spanning several seeds (sweep, tune, bench) passes `seeds` and is named by them
    (`s0-4`), not by the first one. `mkdir(exist_ok=False)` is the atomic claim: two processes
    starting in the same second get different folders.
    """
    if (seed is None) == (seeds is None):
        raise ValueError("create_run: pass exactly one of seed and seeds")
    runs_dir = Path(runs_dir)
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--runs-dir {runs_dir}: cannot create it: {exc.strerror or exc}") from None
    if not os.access(runs_dir, os.W_OK | os.X_OK):
        raise UsageError(f"--runs-dir {runs_dir}: not writable")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = f"{stage}__{_slug(env_id)}__{seeds_label([seed] if seeds is None else seeds)}__{stamp}"
    for n in range(1, 1000):
        path = runs_dir / (base if n == 1 else f"{base}_{n}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise UsageError(f"--runs-dir {runs_dir}: cannot create a run folder: {exc.strerror or exc}") from None
        (path / "checkpoints").mkdir()  # every run folder has one; record/eval leave it empty
        return path
    raise GailctlError(f"{runs_dir}: could not find a free run-folder name for {base}")


@contextmanager
def atomic_path(final: Path, *, is_dir: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling of `final` to write into, then rename it over `final`.

    A crash or a full disk while writing leaves the previous `final` intact: the rename is
    the only step that touches it, and it is atomic on one filesystem. A folder that already
    exists is swapped with the new one in one step where the kernel can (`exchange_dirs`), so
    even a SIGKILL at that moment leaves a whole folder at `final`, old or new.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    target = tmp / final.name
    try:
        yield target
        if is_dir:
            if final.exists() and exchange_dirs(target, final):
                pass  # the old folder is now at `target`, inside tmp: removed with it
            elif final.exists():
                old = tmp / ".old"  # inside tmp: removed with it, whatever happens
                os.replace(final, old)
                os.replace(target, final)
                _rmtree(old)
            else:
                os.replace(target, final)
        else:
            with open(target, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(target, final)
    finally:
        _rmtree(tmp)


def exchange_dirs(a: Path, b: Path) -> bool:
    """Swap two folders in one atomic step (Linux `renameat2(RENAME_EXCHANGE)`); False where the
    platform or filesystem cannot, and nothing was moved."""
    if sys.platform != "linux":
        return False
    import ctypes

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # a libc without it (glibc < 2.28, musl)
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def atomic_write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def package_versions() -> dict[str, str]:
    from importlib import metadata  # not at import: `gailctl --help` does not need it

    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def write_run_header(run_dir: Path, *, config_yaml: str, argv: Optional[list[str]] = None) -> None:
    """What reproduces a run: the resolved config and the exact command line."""
    atomic_write_text(run_dir / "config.yaml", config_yaml)
    atomic_write_text(run_dir / "command.txt", _command_line(argv, run_dir) + "\n")


def _command_line(argv: Optional[list[str]], run_dir: Path) -> str:
    """The command as typed, the program always written `gailctl`; `cd REL && ...` first when the
    run folder lies inside the working folder, REL being that folder relative to the run folder
    (`cd ../.. && gailctl gail -c configs/cartpole.yaml`), so command.txt names no absolute path
    the user did not type and runs as it is from inside the run folder."""
    import shlex

    words = shlex.join(["gailctl", *list(sys.argv if argv is None else argv)[1:]])
    # normpath: a folder reached through `..` (`--runs-dir ../elsewhere`, made absolute) lies where it lands
    cwd, folder = Path(os.getcwd()).absolute(), Path(os.path.normpath(Path(run_dir).absolute()))
    if folder != cwd and cwd not in folder.parents:
        return words
    return f"cd {shlex.quote(os.path.relpath(cwd, folder))} && {words}"


def command_cwd(run_dir: Path) -> Optional[Path]:
    """The working folder command.txt's first line ran in (its leading `cd`, relative to the run
    folder or, as older run folders wrote it, absolute); None when it names none."""
    import shlex

    try:
        words = shlex.split((Path(run_dir) / "command.txt").read_text(encoding="utf-8").splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None
    if len(words) > 2 and words[0] == "cd" and words[2] == "&&":
        return Path(os.path.normpath(Path(run_dir).absolute() / words[1]))
    return None


def append_command(run_dir: Path, *, argv: Optional[list[str]] = None, note: str) -> None:
    """Add a later invocation of the run (a resume) to command.txt, one line with its time as a comment.

    The first line stays the command that created the run (`compare` reads its `cd`).
    """
    with open(Path(run_dir) / "command.txt", "a", encoding="utf-8") as fh:
        fh.write(f"{_command_line(argv, run_dir)}  # {note}\n")


def _strict_json(value: Any) -> Any:
    """NaN (a score without references) becomes null: summary.json stays valid JSON."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict_json(v) for v in value]
    return value


def write_summary(run_dir: Path, summary: dict[str, Any]) -> None:
    payload = _strict_json({**summary, "versions": package_versions()})
    atomic_write_text(run_dir / "summary.json", json.dumps(payload, indent=2, allow_nan=False) + "\n")


def read_summary(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / "summary.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: unreadable summary: {exc}") from None


@contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold `run.lock` while a process writes the run; the OS releases it even after SIGKILL."""
    import fcntl

    fh = open(Path(run_dir) / "run.lock", "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise UsageError(f"{run_dir}: in use by {holder}; wait for it or stop it first") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}\n")
        fh.flush()
        yield
    finally:
        fh.close()


def lock_is_free(run_dir: Path) -> Optional[bool]:
    """True when `run.lock` exists and nobody holds it (its writer ended, or died: the OS frees a
    SIGKILLed process's lock); False while a process holds it; None when we cannot tell."""
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


def with_article(word: str) -> str:
    """`an expert`, `a gail`: the indefinite article a stage name takes."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def open_for_resume(run_dir: Path, *, stage: str) -> dict[str, Any]:
    """Check that `run_dir` is an unfinished run of `stage`; returns its summary."""
    run_dir = Path(run_dir)
    if not is_run_dir(run_dir):
        raise UsageError(f"--resume {run_dir}: not a gailctl run folder (no config.yaml/command.txt)")
    summary = read_summary(run_dir)
    if summary.get("stage") != stage:
        other = summary.get("stage", "unknown")
        raise UsageError(f"--resume {run_dir}: this is {with_article(other)} run, not {with_article(stage)} run "
                         f"(`gailctl {other} --resume` continues it)")
    if summary.get("status") == "finished":
        raise UsageError(f"--resume {run_dir}: already finished; start a new run instead")
    from gailctl.core.checkpoints import latest_checkpoint

    if latest_checkpoint(run_dir) is None:  # resuming would silently start again from zero
        raise UsageError(
            f"--resume {run_dir}: no checkpoint was written before it stopped, so there is nothing to "
            f"continue from; start a new run instead (its first command is in {run_dir / 'command.txt'})"
        )
    return summary


def elapsed_before(run_dir: Path, summary: dict[str, Any]) -> float:
    """Wall seconds the run's earlier invocations took, for a resume to continue the clock from.

    `summary.json` has it after an interruption or failure; a SIGKILL leaves it `running` with the
    time at that invocation's start, so the last metrics row's `wall_s` (the same clock) may be later.
    """
    seconds = float(summary.get("wall_s") or 0.0)
    try:
        with open(Path(run_dir) / "metrics.csv", newline="", encoding="utf-8") as fh:
            walls = [row.get("wall_s") for row in csv.DictReader(fh)]
        seconds = max([seconds, *(float(w) for w in walls if w)])
    except (OSError, ValueError):
        pass  # no metrics (or a row cut by the kill): the summary's figure stands
    return seconds


def is_run_dir(path: Path) -> bool:
    return (Path(path) / "config.yaml").is_file() and (Path(path) / "command.txt").is_file()


def resolve_policy_zip(path: Path, *, flag: str) -> Path:
    """A run folder (expert or gail), an SB3 .zip, a Hub-layout folder (`core.hub_experts`) or
    `hf:ORG/REPO` from the local Hub cache -> the .zip to load."""
    from gailctl.core.hub_experts import HF_SCHEME, hub_policy_zip, hub_snapshot

    if str(path).startswith(HF_SCHEME):
        repo_id = str(path)[len(HF_SCHEME):]
        folder = hub_snapshot(repo_id, flag=flag)
        found = hub_policy_zip(folder, flag=flag)
        if found is None:
            raise UsageError(f"{flag} {path}: its snapshot {folder} holds no ALGO-ENV.zip (rl-zoo's Hub layout)")
        return found
    path = Path(path)
    if path.is_file():
        if path.suffix != ".zip":
            raise UsageError(f"{flag} {path}: expected a run folder or a stable-baselines3 .zip")
        return path
    if path.is_dir():
        for name in FINAL_POLICY_FILES:
            if (path / name).is_file():
                return path / name
        hub = hub_policy_zip(path, flag=flag)
        if hub is not None:
            return hub
        summary = read_summary(path) if (path / "summary.json").is_file() else {}
        if summary.get("stage") == "record" or (path / "demos" / "dataset_info.json").is_file():
            raise UsageError(f"{flag} {path}: {_record_run_holds_demos(path, summary)}")
        raise UsageError(
            f"{flag} {path}: no {' or '.join(FINAL_POLICY_FILES)} or ALGO-ENV.zip in this folder "
            "(an unfinished run? its checkpoints/ hold .zip files you can pass directly)"
        )
    raise UsageError(f"{flag} {path}: no such file or folder")


def _record_run_holds_demos(path: Path, summary: dict[str, Any]) -> str:
    """What to do with a record run where a policy was expected: its demonstrations are not one."""
    expert = summary.get("expert")
    source = (f"evaluate the expert it recorded: gailctl eval {expert}" if isinstance(expert, str) and expert
              else "it was played by a person" if summary.get("source") == "human" else "")
    return (f"a record run: it holds demonstrations ({path / 'demos'}), not a policy; "
            + (f"{source}, or " if source else "") + f"learn a policy from them: gailctl gail --demos {path}")


def resolve_stats_file(path: Path, *, flag: str) -> Path:
    """A VecNormalize statistics file: SB3's pickle (.pkl) or gailctl's checkpoint file (.pt)."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{flag} {path}: no such file" + (" (a folder)" if path.is_dir() else ""))
    if path.suffix not in (".pkl", ".pt"):
        raise UsageError(f"{flag} {path}: expected VecNormalize statistics, a .pkl written by VecNormalize.save "
                         "or a gailctl checkpoint's vecnormalize.pt")
    return path
