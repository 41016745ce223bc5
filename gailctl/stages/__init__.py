"""One module per command, each `run(cfg, run_dir, ...)` returning its result model (`core.summaries`).

`expert`, `record`, `gail` (GAIL and AIRL), `bc`, `dagger` and `evaluate` (`gailctl eval`). A stage never
imports another: what two stages share lives in `gailctl.rl` (learning pieces) or `gailctl.core`
(run folders, the run loop, metrics, checkpoints). `stage_run` is the one registry the command
line and the experiment runner look a stage up in; `gailctl.core.execution.execute` runs it in
its run folder.
"""

from __future__ import annotations

from typing import Any, Callable

from gailctl.core.summaries import STAGES


def stage_run(name: str) -> Callable[..., Any]:
    """The `run` function of stage `name`; importing it loads torch, stable-baselines3 and imitation."""
    if name == "expert":
        from gailctl.stages import expert as module
    elif name == "record":
        from gailctl.stages import record as module
    elif name == "gail":
        from gailctl.stages import gail as module
    elif name == "bc":
        from gailctl.stages import bc as module
    elif name == "dagger":
        from gailctl.stages import dagger as module
    elif name == "eval":
        from gailctl.stages import evaluate as module
    else:
        raise ValueError(f"no stage {name!r}; the stages are {', '.join(STAGES)}")
    return module.run
