"""The whole pipeline through the real command line, on tiny budgets.

Each command runs in a subprocess exactly as a user types it; the test then opens every file
the run folder promises with the library that is meant to read it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import pytest

from tests.xvfb import virtual_display

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TINY = [
    "--set", "env.n_envs=2",
    "--set", "expert.total_timesteps=1024", "--set", "expert.eval_every=512",
    "--set", "expert.eval_episodes=2", "--set", "expert.checkpoint_every=512",
    "--set", "expert.ppo.n_steps=32", "--set", "expert.ppo.batch_size=32",
    "--set", "record.n_episodes=2",
    "--set", "gail.total_timesteps=256", "--set", "gail.ppo.n_steps=32", "--set", "gail.ppo.batch_size=32",
    "--set", "gail.demo_batch_size=32", "--set", "gail.gen_replay_buffer_capacity=64",
    "--set", "gail.n_demos=2", "--set", "gail.eval_every=128", "--set", "gail.eval_episodes=2",
    "--set", "gail.checkpoint_every=128", "--set", "gail.final_eval_episodes=2",
    "--set", "eval.episodes=2",
    "--set", "bc.n_epochs=2", "--set", "bc.eval_episodes=2", "--set", "bc.batch_size=32",
]


def gailctl(*args: str, env: dict | None = None, expect: int = 0) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "gailctl", *args],
        cwd=ROOT, capture_output=True, text=True, env=env or os.environ.copy(), timeout=600,
    )
    assert proc.returncode == expect, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def last_line(proc: subprocess.CompletedProcess) -> Path:
    return Path(proc.stdout.strip().splitlines()[-1])


def no_display_env() -> dict:
    env = os.environ.copy()
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    return env


def check_common(run: Path, stage: str) -> dict:
    for name in ("config.yaml", "command.txt", "metrics.csv", "metrics.jsonl", "summary.json"):
        assert (run / name).is_file(), f"{run} lacks {name}"
    assert list((run / "tb").glob("events.out.tfevents.*")), "no TensorBoard event file"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["stage"] == stage
    for pkg in ("torch", "stable-baselines3", "imitation", "gymnasium"):
        assert summary["versions"][pkg] not in ("", "not installed")
    assert "gailctl" in (run / "command.txt").read_text()
    return summary


def read_csv(path: Path) -> list[dict]:
    import csv

    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


PIPELINE_CONFIGS = ["configs/cartpole.yaml", "configs/cartpole-v1.yaml"]


@pytest.fixture(scope="module")
def pipelines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future]]:
    """Both configs' pipelines at once, one thread each (the work is in the gailctl subprocesses,
    one torch thread each): config -> the future of `run_pipeline`, whose result re-raises its
    first failed assertion in that config's test."""
    # The heavy libraries run_pipeline imports, imported once here before the threads start.
    import imageio.v2  # noqa: F401
    import torch  # noqa: F401
    from imitation.data import serialize  # noqa: F401
    from stable_baselines3 import PPO  # noqa: F401

    with ThreadPoolExecutor(max_workers=len(PIPELINE_CONFIGS)) as pool:
        yield {c: pool.submit(run_pipeline, c, tmp_path_factory.mktemp(Path(c).stem)) for c in PIPELINE_CONFIGS}


@pytest.mark.parametrize("config", PIPELINE_CONFIGS)
def test_four_commands_end_to_end(config: str, pipelines: dict[str, Future]) -> None:
    pipelines[config].result()


def run_pipeline(config: str, tmp_path: Path) -> None:
    from imitation.data import serialize
    from stable_baselines3 import PPO

    runs = ["--runs-dir", str(tmp_path / "runs")]

    # expert
    expert_run = last_line(gailctl("expert", "-c", config, *TINY, *runs))
    summary = check_common(expert_run, "expert")
    rows = read_csv(expert_run / "metrics.csv")
    assert [int(r["n_env_steps"]) for r in rows] == [0, 512, 1024]
    assert all(float(r["wall_s"]) >= 0 and r["return_mean"] for r in rows)
    assert summary["n_env_steps"] == 1024
    assert sorted(p.name for p in (expert_run / "checkpoints").iterdir()) == ["step_000000512", "step_000001024"]
    assert (expert_run / "checkpoints" / "step_000000512" / "model.zip").is_file()
    PPO.load(expert_run / "model.zip", device="cpu")  # our own file: plain SB3 users can open it
    assert (expert_run / "best_model.zip").is_file()

    # record, from the expert run folder
    record_run = last_line(gailctl("record", "-c", config, "--expert", str(expert_run), *TINY, *runs))
    summary = check_common(record_run, "record")
    demos = serialize.load(record_run / "demos")
    assert len(demos) == 2 == summary["demos"]["n_traj"]
    assert summary["demos"]["n_transitions"] == sum(len(t.acts) for t in demos)
    assert summary["demos"]["return_mean"] == pytest.approx(sum(float(t.rews.sum()) for t in demos) / 2)

    # gail, from the record run folder: 256 steps / (32 x 2) = 4 rounds
    gail_run = last_line(gailctl("gail", "-c", config, "--demos", str(record_run), *TINY, *runs))
    summary = check_common(gail_run, "gail")
    rows = read_csv(gail_run / "metrics.csv")
    assert [int(r["round"]) for r in rows] == [0, 1, 2, 3, 4]
    assert [int(r["n_env_steps"]) for r in rows] == [0, 64, 128, 192, 256]
    for r in rows[1:]:
        assert 0.0 <= float(r["disc_acc_expert"]) <= 1.0 and 0.0 <= float(r["disc_acc_gen"]) <= 1.0
        assert float(r["disc_loss"]) > 0
    assert [bool(r["return_mean"]) for r in rows] == [True, False, True, False, True]
    PPO.load(gail_run / "policy.zip", device="cpu")
    import torch

    from gailctl.rl.env.make import make_venv
    from gailctl.core.config_load import load_config
    from gailctl.rl.policies import load_reward_net

    payload = torch.load(gail_run / "reward_net.pt", weights_only=True)
    assert payload["format"] == "gailctl.reward_net/1"
    cfg = load_config(gail_run / "config.yaml")
    net = load_reward_net(gail_run / "reward_net.pt", make_venv(cfg.env, seed=0, n_envs=1))
    assert net.state_dict().keys() == payload["state_dict"].keys()
    assert sorted(p.name for p in (gail_run / "checkpoints").iterdir()) == ["round_000002", "round_000004"]
    assert cfg.gail.demos == str((record_run / "demos").resolve())

    # bc on the same demonstrations: an ordinary SB3 zip that eval can score
    bc_run = last_line(gailctl("bc", "-c", config, "--demos", str(record_run), *TINY, *runs))
    summary = check_common(bc_run, "bc")
    assert summary["n_demo_trajectories"] == 2 and summary["eval_episodes"] == 2
    PPO.load(bc_run / "policy.zip", device="cpu")

    # eval --render without a display writes a real video; --video FILE writes a GIF
    proc = gailctl("eval", str(gail_run), "--render", *runs, env=no_display_env())
    eval_run = last_line(proc)
    summary = check_common(eval_run, "eval")
    assert summary["episodes"] == 2 and summary["rendered"]["mode"] == "video"
    video = eval_run / "video.mp4"
    assert f"video: {video}" in proc.stdout
    import imageio.v2 as imageio

    reader = imageio.get_reader(video)
    frames = [f for f in reader]
    assert len(frames) == summary["rendered"]["frames"] > 1 and frames[0].ndim == 3
    gif = tmp_path / "policy.gif"
    gailctl("eval", str(gail_run / "policy.zip"), "--video", str(gif), "--episodes", "1", *runs)
    assert len(imageio.mimread(gif)) > 1


def test_shipped_expert_scores_500(tmp_path: Path) -> None:
    proc = gailctl("eval", "experts/cartpole/model.zip", "-c", "configs/cartpole.yaml", "--episodes", "10",
                   "--runs-dir", str(tmp_path))
    summary = json.loads((last_line(proc) / "summary.json").read_text())
    assert summary["return_mean"] == 500.0 and summary["normalized_score"] == pytest.approx(1.0)


def test_bad_config_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("gail:\n  demo_batch_size: -4\n")
    proc = gailctl("gail", "-c", str(bad), "--runs-dir", str(tmp_path / "runs"), expect=2)
    assert proc.stderr.strip() == f"error: {bad}: gail.demo_batch_size = -4: input should be greater than 0"
    assert not (tmp_path / "runs").exists()


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Debian's xvfb for a virtual display")
def test_render_opens_a_window_where_a_display_exists(tmp_path: Path) -> None:
    with virtual_display() as display:
        env = {**no_display_env(), "DISPLAY": display}
        proc = gailctl("eval", "experts/cartpole/model.zip", "-c", "configs/cartpole.yaml", "--episodes", "1",
                       "--render", "--runs-dir", str(tmp_path), env=env)
        run = last_line(proc)
        summary = json.loads((run / "summary.json").read_text())
        assert summary["rendered"]["mode"] == "window"
        assert summary["rendered"]["returns"] == [500.0]
        assert not (run / "video.mp4").exists()
