"""The installed tool, not the checkout: build the wheel, install it (no -e) into a fresh venv,
and run the main job by name from an empty folder.

The fresh venv gets gailctl from the wheel alone; its dependencies come from the test's own
environment through a `.pth` line (installing torch and imitation again would take minutes and
gigabytes). A `.pth` path line does not run that environment's own `.pth` files, so the
checkout's editable gailctl cannot leak in; the test asserts which gailctl was imported anyway.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "gailctl", "configs", "experts")


def shipped_bytes() -> int:
    """Bytes of what the wheel should carry: the package, configs and experts (MuJoCo demonstrations
    hold float64 observations, a few MB per task). A wheel that outgrows this picked up something else."""
    return sum(f.stat().st_size for name in ("gailctl", "configs", "experts") for f in (ROOT / name).rglob("*")
               if f.is_file() and "__pycache__" not in f.parts and not f.name.endswith(".pyc"))
TINY = [
    "--set", "gail.total_timesteps=1024", "--set", "gail.eval_every=512", "--set", "gail.eval_episodes=1",
    "--set", "gail.checkpoint_every=1024", "--set", "gail.final_eval_episodes=2",
]


def _run(cmd: list, *, cwd: Path, env: dict, timeout: int = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd}: exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict]:
    """(the fresh venv's bin folder, an environment to run it in) with the built wheel installed."""
    tmp = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)

    # Build from a clean copy, so no build/ or egg-info of the checkout gets in (or is left behind).
    src = tmp / "src"
    src.mkdir()
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist", "runs")
    for name in SOURCES:
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy2)(ROOT / name, src / name, **({"ignore": skip} if (ROOT / name).is_dir() else {}))
    dist = tmp / "dist"
    _run([sys.executable, "-m", "pip", "wheel", src, "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", dist],
         cwd=tmp, env=env)
    (wheel,) = dist.glob("gailctl-*.whl")
    assert wheel.stat().st_size < shipped_bytes() + 200_000, f"wheel is {wheel.stat().st_size} bytes"

    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp, env=env)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel], cwd=tmp, env=env)
    purelib = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp, env=env).stdout.strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (purelib / "_gailctl_test_deps.pth").write_text("".join(f"{d}\n" for d in sorted(deps)))

    where = _run([python, "-c", "import gailctl; print(gailctl.__file__)"], cwd=tmp, env=env).stdout.strip()
    assert Path(where).is_relative_to(purelib), f"imported {where}, not the installed wheel"
    return venv / "bin", env


def test_the_wheel_carries_configs_and_experts(installed):
    bin_dir, env = installed
    python = bin_dir / "python"
    code = "from gailctl.core import shipped; print(shipped.shipped_root()); print(shipped.config_names())"
    out = _run([python, "-c", code], cwd=bin_dir, env=env).stdout.splitlines()
    root = Path(out[0])
    assert root.name == "_shipped" and not root.is_relative_to(ROOT)
    assert out[1] == str(["acrobot", "ant", "cartpole", "cartpole-v1", "halfcheetah", "hopper", "lunarlander", "mountaincar", "pendulum", "swimmer", "walker2d"])
    for task in ("cartpole", "acrobot", "mountaincar", "pendulum"):
        assert (root / "experts" / task / "model.zip").is_file()
        assert (root / "experts" / task / "demos" / "dataset_info.json").is_file()


def test_installed_gailctl_runs_the_main_job_by_name_from_an_empty_folder(installed, tmp_path):
    bin_dir, env = installed
    gailctl = bin_dir / "gailctl"
    work = tmp_path / "empty"
    work.mkdir()

    listing = _run([gailctl, "configs"], cwd=work, env={**env, "COLUMNS": "200"}).stdout
    assert "cartpole" in listing and "seals/CartPole-v0" in listing

    proc = _run([gailctl, "gail", "-c", "cartpole", *TINY], cwd=work, env=env)
    run = work / proc.stdout.strip().splitlines()[-1]  # the run folder, as printed (relative to the cwd)
    assert run.parent == work / "runs" and run.is_dir()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["n_env_steps"] >= 1024
    recorded = (run / "config.yaml").read_text()
    demos = next(line.split(": ", 1)[1] for line in recorded.splitlines() if line.strip().startswith("demos: /"))
    assert Path(demos).parts[-3:] == ("experts", "cartpole", "demos") and "_shipped" in Path(demos).parts

    proc = _run([gailctl, "eval", run, "--episodes", "2"], cwd=work, env=env)
    evaluated = work / proc.stdout.strip().splitlines()[-1]
    assert evaluated.parent == work / "runs" and evaluated != run
    assert json.loads((evaluated / "summary.json").read_text())["status"] == "finished"

    # --video as the README shows it, on the shipped expert: a 1,024-step GAIL policy drives the cart
    # far off screen, where gymnasium's pygame drawing overflows (a rendering limit, not packaging).
    root = _run([bin_dir / "python", "-c", "from gailctl.core import shipped; print(shipped.shipped_root())"], cwd=work, env=env)
    expert = Path(root.stdout.strip()) / "experts" / "cartpole" / "model.zip"
    _run([gailctl, "eval", expert, "-c", "cartpole", "--episodes", "1", "--video", "policy.mp4"], cwd=work, env=env)
    assert (work / "policy.mp4").stat().st_size > 0
    assert sorted(p.name for p in work.iterdir()) == ["policy.mp4", "runs"]
    assert len(list((work / "runs").iterdir())) == 3
