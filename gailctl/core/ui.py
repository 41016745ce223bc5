"""Human output: a rich console on stderr (stdout is kept for results and the run path)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

console = Console(stderr=True)
"""Progress, warnings and notes: stderr, so stdout stays parseable."""
results = Console(width=None if Console().is_terminal else 1000)
"""Result tables: stdout, before the run folder's path on the last line."""


@contextmanager
def progress_bar(description: str, total: int) -> Iterator["Bar"]:
    """A progress bar on stderr; `bar.update(done, latest="...")` moves it."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[latest]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(description, total=total, latest="")
        yield Bar(progress, task)


class Bar:
    def __init__(self, progress: Progress, task: int):
        self._progress, self._task = progress, task

    def update(self, completed: int, latest: str | None = None) -> None:
        fields = {} if latest is None else {"latest": latest}
        self._progress.update(self._task, completed=completed, **fields)
