"""One module per command, each `run(cfg, run_dir, ...) -> dict` of summary fields.

`execute` owns the run folder's life: it creates the folder, writes what reproduces the run,
and leaves a `summary.json` whose `status` is the truth (running, finished, interrupted,
failed) whatever happens inside the stage.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any, Callable, Optional

from gailctl.config import Config, config_to_yaml
from gailctl.errors import GailctlError, UsageError
from gailctl.runs import create_run, write_run_header, write_summary

StageFn = Callable[..., dict[str, Any]]


def setup_torch() -> None:
    """One torch thread: small MLPs run faster, and results repeat exactly on CPU."""
    import torch

    torch.set_num_threads(1)


def execute(
    stage: str,
    fn: StageFn,
    cfg: Config,
    *,
    runs_dir: Path,
    argv: Optional[list[str]] = None,
    **kwargs: Any,
) -> tuple[Path, dict[str, Any]]:
    """Run `fn(cfg, run_dir, **kwargs)` in a new run folder and record how it ended."""
    run_dir = create_run(runs_dir, stage=stage, env_id=cfg.env.id, seed=cfg.seed)
    write_run_header(run_dir, config_yaml=config_to_yaml(cfg), argv=argv)
    base = {
        "stage": stage,
        "env_id": cfg.env.id,
        "seed": cfg.seed,
        "run_dir": str(run_dir),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    write_summary(run_dir, {**base, "status": "running"})
    t0 = time.monotonic()
    try:
        result = fn(cfg, run_dir, **kwargs)
    except UsageError:
        # Input refused before anything was produced: leave no folder behind.
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    except KeyboardInterrupt:
        write_summary(run_dir, {**base, "status": "interrupted", "wall_s": time.monotonic() - t0})
        raise
    except BaseException as exc:
        error = str(exc) if isinstance(exc, GailctlError) else f"{type(exc).__name__}: {exc}"
        write_summary(run_dir, {**base, "status": "failed", "error": error, "wall_s": time.monotonic() - t0})
        raise
    summary = {**base, "status": "finished", "wall_s": round(time.monotonic() - t0, 3), **result}
    write_summary(run_dir, summary)
    return run_dir, summary
