"""One run loop for every stage that trains: metric rows, evaluation and checkpoint cadence, stop and resume.

A learner trains unit after unit (an expert's PPO rollout, a GAIL round, a BC epoch, a DAgger round) and calls
`RunLoop.unit_done` after each. The loop writes the unit's metrics row, evaluates the policy and
writes a checkpoint when they are due, keeps the best policy by each criterion it is given
(`core.selection`), and leaves at a safe
point when SIGINT/SIGTERM asked it to. A stop that arrives inside a unit (`StoppedMidUnit`, raised
from a rollout) rewinds the learner to the unit's start and checkpoints there, so `--resume`
continues exactly where an uninterrupted run would have been. Stage modules say only what
differs (`LoopPlan`) and build the learner.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Protocol

from gailctl.core.checkpoints import (
    capture_rng,
    restore_rng,
    truncate_metrics_after,
    write_checkpoint,
)
from gailctl.core.errors import Interrupted
from gailctl.core.execution import resume_hint, run_clock_start
from gailctl.core.metrics import MetricsWriter, read_metrics
from gailctl.core.runs import atomic_path
from gailctl.core.selection import KeepBest, pick
from gailctl.core.signals import StoppedMidUnit, graceful_stop
from gailctl.core.ui import console, progress_bar

BEST_FOLDER = "best"
"""A checkpoint's copy of the kept policies as they stood then: a resume puts them back, so a kept
file from a round the resume trains again never outlives its metrics row."""

EVAL_KEYS = ("return_mean", "return_std", "return_min", "episode_len_mean", "normalized_score", "upright_share")
"""The evaluation's columns in a metrics row (`evaluation.Score.as_row`); empty where a row has none
(`upright_share` is empty on tasks without healthy conditions, `gailctl.rl.upright`)."""


def final_scores(last_eval: dict[str, Any]) -> dict[str, float]:
    """A run's last evaluation as `summaries.Scores` fields; a key its rows lack (a run resumed from a
    gailctl that did not measure it) is NaN, which the summary writes as null."""
    return {k: float(last_eval.get(k, math.nan)) for k in EVAL_KEYS}


class Learner(Protocol):
    """What the loop needs of a learner (`GailLearner`, `PPOLearner`, `BCEpochs`, `DaggerLearner`)."""

    @property
    def n_env_steps(self) -> int: ...

    @property
    def units_done(self) -> int:
        """Units trained so far (a learner loaded from a checkpoint continues its count)."""

    def save(self, folder: Path) -> dict[str, Any]:
        """Write a checkpoint's files into `folder`; return the plain state that goes into state.pt."""

    def snapshot(self) -> Any:
        """What a partial unit changes before anything learns from it (at a unit boundary)."""

    def rewind(self, snapshot: Any) -> None:
        """Undo a partial unit, back to `snapshot`."""


def next_multiple(n: int, every: int) -> int:
    """The first multiple of `every` strictly after `n`: where the next step-based event falls."""
    return (n // every + 1) * every


@dataclass
class EveryUnits:
    """Due at every k-th unit (rounds 10, 20, ... for k = 10)."""

    k: int

    def due(self, unit: int, n_env_steps: int) -> bool:
        return unit % self.k == 0


@dataclass
class EverySteps:
    """Due at the first unit boundary at or past each multiple of `every` env steps, counted from `start`."""

    every: int
    start: int = 0
    _next: int = field(init=False)

    def __post_init__(self) -> None:
        self._next = next_multiple(self.start, self.every)

    def due(self, unit: int, n_env_steps: int) -> bool:
        if n_env_steps < self._next:
            return False
        self._next = next_multiple(n_env_steps, self.every)
        return True


@dataclass
class Never:
    """Never due (the final unit is evaluated all the same)."""

    def due(self, unit: int, n_env_steps: int) -> bool:
        return False


@dataclass(frozen=True)
class LoopPlan:
    """What differs between stages.

    `unit`: the unit's name in messages (round, rollout, epoch). `unit_column`: the metrics column
    that numbers units (`round`, `epoch`), which checkpoints are named and a resume truncates by;
    None numbers rows by env steps (checkpoints `step_N`). `rows_every_unit`: a row per unit, else
    only where the policy was evaluated. `checkpoint_every`: None for a stage without checkpoints.
    """

    stage: str
    unit: str
    n_units: int
    columns: tuple[str, ...]
    unit_column: Optional[str]
    eval_every: Any
    checkpoint_every: Any
    rows_every_unit: bool = True
    eval_at_start: bool = True
    bar_label: str = ""
    bar_total: Optional[int] = None
    """Progress bar length in env steps (the bar then counts env steps); None: in units."""


@dataclass(frozen=True)
class Resumed:
    """A checkpoint a run continues from: its folder and its state.pt."""

    folder: Path
    state: dict[str, Any]

    @property
    def n_env_steps(self) -> int:
        return int(self.state["n_env_steps"])


class RunLoop:
    """Drive a learner's units through one run folder; use as a context manager, then `run(learn)`.

    `evaluate()` returns the evaluation's row fields (EVAL_KEYS); `describe(stats)` the text the
    progress bar adds for a unit's own statistics. `keep_best(path)` saves the policy at `path`; it
    is called, for each criterion in `keep`, where an evaluation beat every earlier one by that
    criterion (by default best_model.zip, the highest return). `picks[file]` is the row that chose
    each kept file (a resumed run's from its earlier rows).
    """

    def __init__(self, run_dir: Path, plan: LoopPlan, learner: Learner, *, evaluate: Callable[[], dict[str, Any]],
                 resumed: Optional[Resumed] = None, describe: Callable[[dict[str, Any]], str] = lambda stats: "",
                 keep_best: Optional[Callable[[Path], None]] = None,
                 keep: tuple[KeepBest, ...] = (KeepBest("best_model.zip"),)):
        self.run_dir, self.plan, self.learner = Path(run_dir), plan, learner
        self.evaluate, self.describe, self.keep_best, self.resumed = evaluate, describe, keep_best, resumed
        self.keep = keep if keep_best is not None else ()
        self.eval_s = float(resumed.state.get("eval_s", 0.0)) if resumed else 0.0
        self.last_eval: dict[str, Any] = {}
        self.last_stats: dict[str, Any] = {}
        self.picks: dict[str, dict[str, Any]] = {}
        self._snapshot: Any = None
        self._watchers: list[Callable[[dict[str, Any]], Any]] = []

    # --- life of the loop ---------------------------------------------------------------------

    def __enter__(self) -> "RunLoop":
        p, resumed = self.plan, self.resumed
        if resumed is not None:
            restore_rng(resumed.state["rng"])  # last: building the learner drew from them
            key = p.unit_column or "n_env_steps"
            dropped = truncate_metrics_after(self.run_dir, key=key, last=int(resumed.state[key]))
            console.print(f"resuming {self.run_dir.name} from {resumed.folder.name} "
                          f"({self._position_text()}; {dropped} later metric rows dropped)")
            self._read_earlier_rows()
            self._restore_kept(resumed.folder)
        self.t0 = run_clock_start(self.run_dir)  # one clock over every invocation, as summary.json's wall_s
        purge = resumed.n_env_steps + 1 if resumed is not None else None  # TensorBoard hides the later events
        self._stack = contextlib.ExitStack()
        self.stop = self._stack.enter_context(graceful_stop())
        self.writer = self._stack.enter_context(MetricsWriter(self.run_dir, columns=list(p.columns), purge_step=purge))
        self.bar = self._stack.enter_context(progress_bar(p.bar_label, p.bar_total if p.bar_total is not None else p.n_units))
        self.bar.update(self._bar_position(self.learner.units_done, self.learner.n_env_steps))
        return self

    def __exit__(self, *exc: Any) -> Optional[bool]:
        return self._stack.__exit__(*exc)

    @property
    def best(self) -> dict[str, Any]:
        """The first criterion's pick as the expert's summary states it (`summaries.Best`)."""
        row = self.picks.get(self.keep[0].file) if self.keep else None
        if row is None:
            return {"return_mean": -math.inf, "n_env_steps": 0}
        return {"return_mean": float(row["return_mean"]), "n_env_steps": int(float(row["n_env_steps"]))}

    def watch(self, watcher: Callable[[dict[str, Any]], Any]) -> None:
        """Call `watcher(row)` with every metrics row once it is written (the live doctor reads them)."""
        self._watchers.append(watcher)

    def run(self, train: Callable[[], None], *, start_stats: Optional[dict[str, Any]] = None) -> None:
        """`train()` runs the learner's remaining units, calling `unit_done` after each; a stop leaves by `Interrupted`.

        `start_stats`: the learner's own statistics for the row before the first unit (with `eval_at_start`).
        """
        if self.resumed is None and self.plan.eval_at_start:
            self._row(0, start_stats or {}, evaluate=True)
        self._snapshot = self._take_snapshot()
        try:
            train()
        except StoppedMidUnit:
            raise self._stopped_mid_unit() from None

    def unit_done(self, unit: int, n_env_steps: int, stats: Optional[dict[str, Any]] = None) -> None:
        """After unit `unit` (1-based) ended with the learner at `n_env_steps`: row, evaluation, checkpoint, stop."""
        p = self.plan
        final = unit >= p.n_units
        self.last_stats = stats or {}
        due = p.eval_every.due(unit, n_env_steps) or final
        if p.rows_every_unit or due:
            self._row(unit, stats or {}, evaluate=due)
        if p.checkpoint_every is not None and (p.checkpoint_every.due(unit, n_env_steps) or final or self.stop.requested):
            self._checkpoint(unit)
        self.bar.update(self._bar_position(unit, n_env_steps), latest=self._latest(stats or {}))
        if self.stop.requested and not final:
            if p.checkpoint_every is None:
                raise Interrupted(f"stopped after {p.unit} {unit}; {p.stage} runs do not checkpoint: start a new run")
            raise Interrupted(resume_hint(p.stage, self.run_dir, n_env_steps))
        self._snapshot = self._take_snapshot()

    # --- pieces ---------------------------------------------------------------------------------

    def _row(self, unit: int, stats: dict[str, Any], *, evaluate: bool) -> None:
        p = self.plan
        row: dict[str, Any] = dict.fromkeys(p.columns, "")
        if p.unit_column:
            row[p.unit_column] = unit
        row["n_env_steps"] = self.learner.n_env_steps
        row.update(stats)
        if evaluate:
            started = time.monotonic()
            self.last_eval = self.evaluate()
            self.eval_s += time.monotonic() - started
            row.update(self.last_eval)
        row["wall_s"] = round(time.monotonic() - self.t0, 3)
        if "train_wall_s" in row:
            row["train_wall_s"] = round(row["wall_s"] - self.eval_s, 3)
        self.writer.write(row)
        for watcher in self._watchers:
            watcher(row)
        if evaluate and self.keep_best is not None:
            for keep in self.keep:
                if keep.beats(row, self.picks.get(keep.file)):
                    self.picks[keep.file] = dict(row)
                    self.keep_best(self.run_dir / keep.file)

    def _checkpoint_path(self, unit: int) -> Path:
        name = f"{self.plan.unit_column}_{unit:06d}" if self.plan.unit_column else f"step_{self.learner.n_env_steps:09d}"
        return self.run_dir / "checkpoints" / name

    def _checkpoint(self, unit: int) -> None:
        def fill(folder: Path) -> dict[str, Any]:
            kept = [self.run_dir / k.file for k in self.keep if (self.run_dir / k.file).is_file()]
            if kept:
                (folder / BEST_FOLDER).mkdir()
                for path in kept:
                    shutil.copy2(path, folder / BEST_FOLDER / path.name)
            return self.learner.save(folder)

        write_checkpoint(self._checkpoint_path(unit), fill, {"wall_s": time.monotonic() - self.t0, "eval_s": self.eval_s})

    def _restore_kept(self, checkpoint: Path) -> None:
        """Put back the kept policies the checkpoint holds (a killed run may have kept a later round's)."""
        for keep in self.keep:
            saved = checkpoint / BEST_FOLDER / keep.file
            if saved.is_file():
                with atomic_path(self.run_dir / keep.file) as tmp:
                    shutil.copy2(saved, tmp)

    def _take_snapshot(self) -> tuple[dict[str, Any], Any]:
        return capture_rng(), self.learner.snapshot()

    def _stopped_mid_unit(self) -> Interrupted:
        """Back to the last unit boundary (random states and what the partial unit touched), checkpointed."""
        rng, snapshot = self._snapshot
        restore_rng(rng)
        self.learner.rewind(snapshot)
        unit = self.learner.units_done
        if not (self._checkpoint_path(unit) / "state.pt").is_file():
            self._checkpoint(unit)
        hint = resume_hint(self.plan.stage, self.run_dir, self.learner.n_env_steps)
        return Interrupted(f"{hint} ({self.plan.unit} {unit + 1}'s partial rollout was discarded)")

    def _read_earlier_rows(self) -> None:
        """A resumed run's last evaluation and picks, from the rows its earlier invocations wrote."""
        rows = [row for row in read_metrics(self.run_dir) if row.get("return_mean", "") != ""]
        if rows:
            self.last_eval = {k: float(rows[-1][k]) for k in EVAL_KEYS if rows[-1].get(k, "") != ""}
        self.picks = {keep.file: row for keep in self.keep if (row := pick(rows, keep)) is not None}

    def _bar_position(self, unit: int, n_env_steps: int) -> int:
        return n_env_steps if self.plan.bar_total is not None else unit

    def _latest(self, stats: dict[str, Any]) -> Optional[str]:
        parts = [f"return {float(self.last_eval['return_mean']):.1f}"] if self.last_eval else []
        extra = self.describe(stats) if stats else ""
        return "  ".join([*parts, *([extra] if extra else [])]) or None

    def _position_text(self) -> str:
        if self.plan.unit_column:
            return f"{self.plan.unit_column} {self.learner.units_done}"
        return f"{self.learner.n_env_steps} env steps"
