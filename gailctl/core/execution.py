"""Running one stage in its run folder: `execute(stage, fn, cfg, ...)`, the one way every command
and every trial runs a stage function `fn(cfg, run_dir, ...)` returning its result model
(`gailctl.core.summaries`).

`execute` owns the run folder's life: it creates the folder (or reopens one to resume),
writes what reproduces the run, holds the run's lock, and leaves a `summary.json` whose
`status` is the truth (running, finished, interrupted, failed) whatever happens inside.
"""

from __future__ import annotations

import shutil
import time
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Callable, Optional

from gailctl.core.config import Config
from gailctl.core.config_load import config_to_yaml
from gailctl.core.errors import GailctlError, Interrupted, UsageError
from gailctl.core.lost_runs import died_unasked, restart_entry
from gailctl.core.runs import (
    append_command,
    create_run,
    elapsed_before,
    now_iso,
    open_for_resume,
    read_summary,
    run_lock,
    write_run_header,
    write_summary,
)
from gailctl.core.summaries import SCHEMA

StageFn = Callable[..., Any]


def folder_prefix(stage: str, cfg: Config) -> str:
    """A run folder's first name part: the stage, or for the gail stage its algorithm (`airl__...`)."""
    return cfg.gail.algorithm if stage == "gail" else stage


def execute(
    stage: str,
    fn: StageFn,
    cfg: Config,
    *,
    runs_dir: Optional[Path] = None,
    resume_dir: Optional[Path] = None,
    argv: Optional[list[str]] = None,
    inputs: Optional[dict[str, Any]] = None,
    **kwargs: Any,
) -> tuple[Path, dict[str, Any]]:
    """Run `fn(cfg, run_dir, **kwargs)` in a new run folder (or `resume_dir`) and record how it ended.

    `inputs`: what the command line gave as typed (eval's `policy_as_typed` and its `cwd`), kept
    in summary.json beside what the stage resolved.

    When resuming, `fn` also receives `resume=True` and finds its own last checkpoint; the resume
    command is appended to `command.txt` with its time. `wall_s` is one clock over all
    invocations: a resumed stage continues it from `run_clock_start(run_dir)`. A resumed run whose
    process had died (`core.lost_runs`) gets a `restarts` entry: how far it had got, and the
    checkpoint it goes on from.
    """
    if resume_dir is None:
        assert runs_dir is not None
        run_dir = create_run(runs_dir, stage=folder_prefix(stage, cfg), env_id=cfg.env.id, seed=cfg.seed)
        write_run_header(run_dir, config_yaml=config_to_yaml(cfg), argv=argv)
        base = {"schema": SCHEMA, "stage": stage, "env_id": cfg.env.id, "seed": cfg.seed, "run_dir": str(run_dir),
                "started": now_iso(), **(inputs or {})}
        before = 0.0
    else:
        run_dir = Path(resume_dir)
        previous = open_for_resume(run_dir, stage=stage)
        base = {"schema": SCHEMA, **{k: previous[k] for k in ("stage", "env_id", "seed", "run_dir", "started", "restarts")
                                     if k in previous}}
        base["resumed"] = [*previous.get("resumed", []), now_iso()]
        before = elapsed_before(run_dir, previous)
        prev_status = previous.get("status", "interrupted")
        kwargs["resume"] = True
        lost = died_unasked(previous, run_dir)  # read before we hold the lock: its process died, this is a restart
    with run_lock(run_dir):
        if resume_dir is not None and lost:
            from gailctl.core.checkpoints import latest_checkpoint

            base["restarts"] = [*previous.get("restarts", []), restart_entry(run_dir, previous, checkpoint=latest_checkpoint(run_dir))]
        # While running, wall_s is what the earlier invocations took: the stage's clock starts there.
        write_summary(run_dir, {**base, "status": "running", "wall_s": round(before, 3)})
        t0 = time.monotonic() - before
        clock = _CLOCK_START.set(t0)

        def wall_s() -> float:
            return round(time.monotonic() - t0, 3)

        try:
            if resume_dir is not None:
                append_command(run_dir, argv=argv, note=f"resumed {base['resumed'][-1]}")
            result = fn(cfg, run_dir, **kwargs)
        except UsageError:
            if resume_dir is None:  # input refused before anything was produced: leave no folder
                shutil.rmtree(run_dir, ignore_errors=True)
            else:  # the run is as it was: say so again
                write_summary(run_dir, {**previous, "status": prev_status})
            raise
        except (Interrupted, KeyboardInterrupt) as exc:
            said = stopped_message(stage, run_dir, str(exc) if isinstance(exc, Interrupted) else "interrupted")
            write_summary(run_dir, {**base, "status": "interrupted", "error": said, "wall_s": wall_s()})
            raise Interrupted(said) from exc
        except BaseException as exc:
            error = str(exc) if isinstance(exc, GailctlError) else f"{type(exc).__name__}: {exc}"
            write_summary(run_dir, {**base, "status": "failed", "error": error, "wall_s": wall_s()})
            raise
        finally:
            _CLOCK_START.reset(clock)
        summary = {**base, "status": "finished", "wall_s": wall_s(), **result_fields(result)}
        write_summary(run_dir, summary)
    return run_dir, summary


def result_fields(result: Any) -> dict[str, Any]:
    """A stage's result model as summary.json fields (what it set, so optional fields it left out stay out)."""
    from pydantic import BaseModel

    return result.model_dump(mode="json", exclude_unset=True) if isinstance(result, BaseModel) else dict(result)


_CLOCK_START: ContextVar[Optional[float]] = ContextVar("gailctl_run_clock_start", default=None)


def run_clock_start(run_dir: Path) -> float:
    """The `time.monotonic()` at which the run's clock reads zero, counting earlier invocations.

    Inside `execute` it is the clock summary.json's `wall_s` is read from, so a stage that
    measures `wall_s` from here agrees with it across resumes (setup and imports included).
    Called elsewhere: the earlier invocations' time from the run's summary.
    """
    start = _CLOCK_START.get()
    return start if start is not None else time.monotonic() - float(read_summary(run_dir).get("wall_s") or 0.0)


RESUMABLE_STAGES = ("expert", "gail", "dagger")
"""Stages whose runs `gailctl STAGE --resume RUN` continues from their last checkpoint."""


def stopped_message(stage: str, run_dir: Path, reason: str) -> str:
    """What a stopped run says: `reason`, the run folder, and what `--resume` can do with it.

    A stage's own stop after a checkpoint already names the resume command (`resume_hint`); a stop
    before the first checkpoint (or of a stage without --resume) says there is nothing to continue
    and where the command that starts it again is.
    """
    from gailctl.core.checkpoints import latest_checkpoint

    if str(run_dir) in reason:
        return reason
    if stage in RESUMABLE_STAGES and latest_checkpoint(run_dir) is not None:
        return f"{reason}; continue from its last checkpoint with: gailctl {stage} --resume {run_dir}"
    why = (f"it stopped before its first checkpoint, so `gailctl {stage} --resume` has nothing to continue from"
           if stage in RESUMABLE_STAGES else f"`gailctl {stage}` has no --resume")
    return (f"{reason}; {run_dir} keeps what was written (summary.json: interrupted), but {why}; "
            f"to start over, run its command again ({run_dir / 'command.txt'})")


def resume_hint(stage: str, run_dir: Path, n_env_steps: int) -> str:
    return f"stopped at {n_env_steps} env steps after a checkpoint; continue with: gailctl {stage} --resume {run_dir}"
