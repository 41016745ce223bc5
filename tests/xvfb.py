"""A virtual X display for the tests that open real windows. Xvfb picks a free display number itself
(`-displayfd`), so a test never takes one another X server holds, and the display is known to accept
clients once its number arrives (no fixed sleep that a loaded machine can outrun)."""

from __future__ import annotations

import os
import select
import subprocess
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def virtual_display(timeout: float = 30.0) -> Iterator[str]:
    """Start Xvfb on a free display and yield its name (":N"); stop it afterwards."""
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    try:
        with os.fdopen(read) as fh:  # Xvfb writes the number once it accepts clients; EOF if it died
            ready, _, _ = select.select([fh], [], [], timeout)
            number = fh.readline().strip() if ready else ""
        if not number:
            raise RuntimeError(f"Xvfb gave no display within {timeout:.0f} s (exit code {xvfb.poll()})")
        yield f":{number}"
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)
