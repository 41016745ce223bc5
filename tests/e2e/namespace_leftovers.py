"""Write every process left in the namespace but its first process (pid 1) and this one to a file.

The namespaced drivers (ray_cluster_driver.sh, mlflow_server_driver.sh) run it after stopping what
they started: what they signalled may take a moment to go, so it looks for up to WAIT seconds.

    python namespace_leftovers.py OUT WAIT
"""

import os
import sys
import time


def others() -> list[str]:
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if int(pid) in (1, os.getpid()):
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                out.append(f"{pid} {fh.read().replace(bytes(1), b' ').decode(errors='replace').strip()}")
        except OSError:  # gone meanwhile
            pass
    return out


if __name__ == "__main__":
    deadline = time.monotonic() + float(sys.argv[2])
    while (left := others()) and time.monotonic() < deadline:
        time.sleep(0.2)
    with open(sys.argv[1], "w") as fh:
        fh.writelines(line + "\n" for line in left)
