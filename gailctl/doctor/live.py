"""The doctor while a gail run trains: `LiveDoctor.observe(row)` once a round, with that round's
metrics row, returns the findings that fire for the first time; each is printed once
(`doctor: discriminator-wins at round 140: ...`) and appended to the run's `findings.jsonl`.

The checks are the catalogue's own (`catalogue.LIVE_CHECKS`) over the rows so far, plus, once at
the start, the checks of the demonstrations (another env or horizon, too few for the batch,
below the expert reference).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from gailctl.doctor import checks_data
from gailctl.doctor.catalogue import LIVE_CHECKS
from gailctl.doctor.finding import Finding
from gailctl.core.findings import FindingsFile
from gailctl.doctor.view import DemoFacts, Row, RunView, demo_facts, live_view, read_rows

START_CHECKS = (checks_data.demos_mismatch, checks_data.too_few_transitions, checks_data.expert_below_reference)


class LiveDoctor:
    """Runs the live checks on a training run's rows, each finding once."""

    def __init__(self, view: RunView, *, sink: Optional[Callable[[Finding, int, int], None]] = None,
                 fired: Iterable[str] = ()):
        self.view = view
        self.sink = sink
        self.fired = set(fired)
        self._rows: list[Row] = list(view.rows)

    @property
    def demos(self) -> DemoFacts:
        return self.view.demos

    @classmethod
    def for_gail(cls, run_dir: Path, cfg: Any, *, trajs: Sequence[Any], demos: Any, n_kept: int, start_round: int,
                 echo: Optional[Callable[[str], Any]] = None) -> "LiveDoctor":
        """The live doctor of a gail run (fresh, or resumed at `start_round` with its metrics
        already cut back to that round): checks the demonstrations once, on a fresh start."""
        config = cfg.model_dump(mode="json")
        facts = demo_facts(trajs, demos=demos, n_kept=n_kept, references=config.get("references") or {})
        sink = FindingsFile(run_dir, echo=echo)
        fired = sink.keep_until(start_round) if start_round else set()
        rows = read_rows(run_dir) if start_round else ()
        doctor = cls(live_view(run_dir, config, demos=facts, rows=rows), sink=sink, fired=fired)
        if not start_round:
            doctor.start()
        return doctor

    def _emit(self, found: Iterable[Optional[Finding]], fired_round: int, fired_env_steps: int) -> list[Finding]:
        new = []
        for f in found:
            if f is None or f.name in self.fired:
                continue
            self.fired.add(f.name)
            new.append(f)
            if self.sink is not None:
                self.sink(f, fired_round, fired_env_steps)
        return new

    def start(self) -> list[Finding]:
        """The checks of the demonstrations, before the first round."""
        return self._emit((check(self.view) for check in START_CHECKS), 0, 0)

    def observe(self, row: Mapping[str, Any]) -> list[Finding]:
        """This round's metrics row; the findings that fire for the first time."""
        parsed = Row.from_mapping(row)
        if parsed is None:
            return []
        self._rows.append(parsed)
        view = self.view.with_rows(self._rows)
        pending = [c for c in LIVE_CHECKS if c.name not in self.fired]
        return self._emit((c.fn(view) for c in pending), parsed.round or 0, parsed.n_env_steps)
