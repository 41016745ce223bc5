"""A successful command prints no line starting `error:` (only gailctl's own
failures may), even where libraries complain on stderr: SDL without a display or XDG_RUNTIME_DIR."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # subprocesses and Ray studies: minutes

ROOT = Path(__file__).resolve().parents[2]
CARTPOLE = str(ROOT / "configs/cartpole.yaml")
EXPERT = str(ROOT / "experts/cartpole/model.zip")


def headless_env() -> dict[str, str]:
    """This test process's environment without a display, XDG_RUNTIME_DIR or a chosen SDL driver."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_RUNTIME_DIR", "SDL_VIDEODRIVER", "SDL_AUDIODRIVER")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return env


@pytest.mark.parametrize("show", [["--video", "v.mp4"], ["--render"]], ids=["video", "render-headless"])
def test_eval_video_prints_no_false_error(show: list[str], tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gailctl", "eval", EXPERT, "-c", CARTPOLE, "-n", "1", *show, "--runs-dir", str(tmp_path / "runs")],
        cwd=tmp_path, env=headless_env(), capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    output = proc.stdout.splitlines() + proc.stderr.splitlines()
    assert not [line for line in output if line.lstrip().lower().startswith("error")], proc.stderr
    assert "ALSA lib" not in proc.stderr
    video = tmp_path / "v.mp4" if "--video" in show else next((tmp_path / "runs").glob("eval__*/video.mp4"))
    assert video.stat().st_size > 0


def test_bc_prints_no_library_warning(tmp_path: Path) -> None:
    """imitation's BC logs `float()` of tensors that require grad: torch's UserWarning is its noise, not ours."""
    proc = subprocess.run(
        [sys.executable, "-m", "gailctl", "bc", "-c", CARTPOLE, "--demos", str(ROOT / "experts/cartpole/demos"),
         "--set", "bc.n_epochs=1", "--set", "bc.eval_episodes=2", "--runs-dir", str(tmp_path / "runs")],
        cwd=tmp_path, env=headless_env(), capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr and "requires_grad" not in proc.stderr, proc.stderr
