"""`gailctl record --human` refuses what cannot work at once: one line, exit 2, no run folder, no torch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def record_human(tmp_path: Path, *args: str, display: str | None = None) -> subprocess.CompletedProcess:
    """Run the CLI in a fresh interpreter and report whether torch got imported."""
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from gailctl.cli import app\n"
        f"r = CliRunner().invoke(app, ['record', '--human', '--runs-dir', {str(tmp_path / 'runs')!r}, *{list(args)!r}])\n"
        "sys.stderr.write(r.stderr)\n"
        "print('torch' in sys.modules)\n"
        "sys.exit(r.exit_code)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    if display is not None:
        env["DISPLAY"] = display
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=120)


def test_no_display_is_one_line_exit_2(tmp_path: Path) -> None:
    proc = record_human(tmp_path, "-c", "configs/cartpole.yaml", "-n", "5")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: record --human: no display (DISPLAY is not set)") and proc.stderr.count("\n") == 1
    assert proc.stdout.strip() == "False"  # answered without loading torch
    assert not (tmp_path / "runs").exists()


def test_key_map_outside_the_action_space_is_refused_before_the_window(tmp_path: Path) -> None:
    proc = record_human(tmp_path, "-c", "configs/acrobot.yaml", "--set", "record.human.keys={left: 0, right: 3}")
    assert proc.returncode == 2
    assert proc.stderr == ("error: record.human.keys.right = 3: not an action of Acrobot-v1 "
                           "(Discrete(3): an integer from 0 to 2)\n")
    assert not (tmp_path / "runs").exists()


def test_human_and_expert_together_are_refused(tmp_path: Path) -> None:
    proc = record_human(tmp_path, "-c", "configs/cartpole.yaml", "--expert", "experts/cartpole/model.zip")
    assert proc.returncode == 2
    assert proc.stderr == "error: record: --human records a person, --expert a policy; pass one of them\n"


@pytest.mark.slow  # tries to open a window on a display that is not there
def test_a_display_that_cannot_be_opened_is_one_line_exit_2(tmp_path: Path) -> None:
    proc = record_human(tmp_path, "-c", "configs/cartpole.yaml", display=":4242")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: record --human: cannot open a window on display ':4242'") and proc.stderr.count("\n") == 1
    assert not list((tmp_path / "runs").glob("*"))  # the refused run's folder is removed
