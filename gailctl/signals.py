"""Graceful stop: the first SIGINT/SIGTERM asks the training loop to stop at a safe point."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Any, Iterator, Optional


class StopFlag:
    """Set by a signal; the training loop polls it between steps and checkpoints before leaving."""

    def __init__(self) -> None:
        self.signal_name: Optional[str] = None

    @property
    def requested(self) -> bool:
        return self.signal_name is not None


@contextmanager
def graceful_stop(*, note: str = "stopping after the current step and writing a checkpoint") -> Iterator[StopFlag]:
    """Within the block, SIGINT/SIGTERM set the flag; a second one raises KeyboardInterrupt.

    `note` is what the first signal prints: what the loop does before it leaves.
    """
    flag = StopFlag()
    if threading.current_thread() is not threading.main_thread():  # signals only reach the main thread
        yield flag
        return

    def handler(signum: int, _frame: Any) -> None:
        if flag.requested:
            raise KeyboardInterrupt
        flag.signal_name = signal.Signals(signum).name
        from gailctl.ui import console

        console.print(f"[yellow]{flag.signal_name}:[/] {note} (send it again to stop at once)")

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
