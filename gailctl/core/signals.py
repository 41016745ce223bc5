"""Graceful stop: the first SIGINT/SIGTERM asks the training loop to stop at a safe point.

The run loop polls the flag at its safe points (the end of a round, rollout or epoch);
`mid_rollout_stop` also polls it at every env step of a rollout, so a long rollout (many envs, many steps) stops
within seconds rather than when it ends.
"""

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
        from gailctl.core.ui import console

        console.print(f"[yellow]{flag.signal_name}:[/] {note} (send it again to stop at once)")

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    _active.append(flag)
    try:
        yield flag
    finally:
        _active.remove(flag)
        for sig, old in previous.items():
            signal.signal(sig, old)


_active: list[StopFlag] = []
"""Flags of the `graceful_stop` blocks now open (signals are per process, so is this)."""


def stop_requested() -> bool:
    """True once a signal reached an open `graceful_stop` block."""
    return any(flag.requested for flag in _active)


class OpenStops:
    """The flags of every open `graceful_stop` block, read as one `StopFlag` (for code that runs inside a
    block it did not open, such as a person's window inside the run loop)."""

    @property
    def requested(self) -> bool:
        return stop_requested()

    @property
    def signal_name(self) -> Optional[str]:
        return next((flag.signal_name for flag in _active if flag.requested), None)


class StoppedMidUnit(Exception):
    """A stop request reached a unit of training (a rollout) before it ended; nothing has learned from it."""


def mid_rollout_stop(callback: Any = None) -> Any:
    """`callback` (an SB3 callback or None) plus a check of the stop flag at every env step.

    When a stop is requested during a rollout, raises `StoppedMidUnit` from inside SB3's
    `collect_rollouts`: PPO trains only on a full rollout (and imitation's `train_gen` stores
    generator samples only after `learn` returns), so the learner has learned nothing since the
    rollout began; the run loop rewinds what the partial rollout touched and checkpoints there.
    Returning False instead would let imitation store the partial rollout and train the
    discriminator on it.
    """
    from stable_baselines3.common.callbacks import BaseCallback, CallbackList

    class StopMidRollout(BaseCallback):
        def _on_step(self) -> bool:
            if stop_requested():
                raise StoppedMidUnit
            return True

    return StopMidRollout() if callback is None else CallbackList([callback, StopMidRollout()])
