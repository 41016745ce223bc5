"""Network and process namespaces of a test's own (`unshare -n -p -f --mount-proc`), for servers on loopback.

In a network namespace whose only interface is loopback a server can reach, and be reached from,
127.0.0.1 alone; in a process namespace of its own, whatever it leaves running dies with the
namespace's first process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Optional


def unshare_command() -> list[str]:
    # As root (.ci/run) plain unshare works; otherwise map ourselves to root in a user namespace.
    return ["unshare", *([] if os.geteuid() == 0 else ["-r"]), "-n", "-p", "-f", "--mount-proc"]


def why_no_namespace() -> Optional[str]:
    """None when this machine lets us make the namespaces, else why not (the only reason to skip)."""
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed"
    try:
        probe = subprocess.run([*unshare_command(), "ip", "link", "set", "lo", "up"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot unshare: {exc}"
    return None if probe.returncode == 0 else f"cannot unshare network and process namespaces: {probe.stderr.strip()}"
