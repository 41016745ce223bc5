"""README's tour, run top to bottom as it stands, in a new empty folder, with the installed `gailctl`.

The block after the `<!-- tour -->` marker is handed to bash unchanged; each command's run folder
reaches the next through the last line of its stdout, as the README says. No display: `--render`
writes a video, as it does on any headless machine.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- tour -->"

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def tour_block(readme: str) -> str:
    """The shell commands of the first fenced block after the marker."""
    assert readme.count(MARKER) == 1, f"README.md should mark its tour once with {MARKER}"
    after = readme.split(MARKER, 1)[1]
    match = re.match(r"\s*```[a-z]*\n(.*?)\n```", after, flags=re.S)
    assert match, f"no fenced block right after {MARKER}"
    return match.group(1)


def test_the_tour_block_is_found_right_after_its_marker() -> None:
    text = f"intro\n{MARKER}\n```bash\ngailctl configs\ngailctl runs\n```\nmore\n```\nnot this\n```\n"
    assert tour_block(text) == "gailctl configs\ngailctl runs"


def test_the_readme_tour_runs_in_an_empty_folder(tmp_path: Path) -> None:
    block = tour_block((ROOT / "README.md").read_text(encoding="utf-8"))
    assert "gailctl" in block
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    installed = Path(sys.executable).parent
    assert (installed / "gailctl").is_file(), f"no gailctl console script beside {sys.executable}: install the package first"
    env["PATH"] = os.pathsep.join([str(installed), env.get("PATH", "")])
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    runs = tmp_path / "runs"
    stages = sorted(p.name.split("__")[0] for p in runs.iterdir())
    assert stages == sorted(set(stages)) and {"expert", "record", "gail", "eval"} <= set(stages), stages
    for run in runs.iterdir():
        assert json.loads((run / "summary.json").read_text())["status"] == "finished", run
    last = Path(proc.stdout.strip().splitlines()[-1])
    assert last.name.startswith("eval__") and (tmp_path / last / "video.mp4").stat().st_size > 0
