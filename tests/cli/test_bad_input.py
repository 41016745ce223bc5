"""Every bad input: one line naming the file, key or value, exit 2 (usage) or 1 (failure),
no traceback, and no run folder left behind that claims success."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

import pytest
from typer.testing import CliRunner

from gailctl.cli import app
from gailctl.core.config_load import config_to_yaml, load_config

ROOT = Path(__file__).resolve().parents[2]
CARTPOLE = str(ROOT / "configs/cartpole.yaml")
EXPERT = str(ROOT / "experts/cartpole/model.zip")
DEMOS = str(ROOT / "experts/cartpole/demos")


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def fake_run(tmp: Path, stage: str, status: str) -> str:
    run = tmp / f"{stage}-run"
    run.mkdir()
    # as a real run folder records it: the config with its paths resolved (absolute)
    (run / "config.yaml").write_text(config_to_yaml(load_config(Path(CARTPOLE))))
    (run / "command.txt").write_text("gailctl ...\n")
    (run / "summary.json").write_text(json.dumps({"stage": stage, "status": status}))
    return str(run)


def record_run(tmp: Path) -> str:
    run = Path(fake_run(tmp, "record", "finished"))
    shutil.copytree(DEMOS, run / "demos")
    (run / "summary.json").write_text(json.dumps({"stage": "record", "status": "finished", "source": "expert", "expert": EXPERT}))
    return str(run)


def gail_run_with_corrupt_reward_net(tmp: Path) -> str:
    import torch

    from gailctl.core.checkpoints import STATE_FORMAT, capture_rng

    run = Path(fake_run(tmp, "gail", "interrupted"))
    ckpt = run / "checkpoints" / "round_000001"
    ckpt.mkdir(parents=True)
    shutil.copy(EXPERT, ckpt / "policy.zip")
    (ckpt / "reward_net.pt").write_bytes(b"\x80\x04not a checkpoint at all")
    torch.save({"format": STATE_FORMAT, "round": 1, "n_env_steps": 512, "wall_s": 0.0, "rng": capture_rng()}, ckpt / "state.pt")
    return str(run)


def corrupt_demos(tmp: Path) -> str:
    folder = tmp / "demos"
    shutil.copytree(DEMOS, folder)
    for arrow in folder.glob("*.arrow"):
        arrow.write_bytes(b"garbage" * 10)
    return str(folder)


def truncated_zip(tmp: Path) -> str:
    data = Path(EXPERT).read_bytes()
    return write_bytes(tmp / "cut.zip", data[: len(data) // 2])


def write_bytes(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def not_writable_runs_dir(tmp: Path) -> str:
    (tmp / "file").write_text("x")
    return str(tmp / "file" / "runs")


# (name, argv builder, exit code, text the one-line error must contain)
CASES: list[tuple[str, Callable[[Path], list[str]], int, str]] = [
    ("missing config", lambda t: ["expert", "-c", str(t / "nope.yaml")], 2, "nope.yaml: config file not found"),
    ("unreadable config", lambda t: ["expert", "-c", str(t)], 2, "cannot read config"),
    ("invalid YAML", lambda t: ["expert", "-c", write(t / "c.yaml", "env: [1, 2\n")], 2, "invalid YAML at line"),
    ("unknown key", lambda t: ["gail", "-c", write(t / "c.yaml", "gail:\n  demo_batchsize: 3\n")], 2,
     "gail.demo_batchsize: unknown key (did you mean gail.demo_batch_size?)"),
    ("wrong type", lambda t: ["expert", "-c", write(t / "c.yaml", "env:\n  n_envs: eight\n")], 2, "env.n_envs = eight"),
    ("out of range", lambda t: ["gail", "-c", write(t / "c.yaml", "gail:\n  demo_batch_size: -4\n")], 2,
     "gail.demo_batch_size = -4: input should be greater than 0"),
    ("bad override", lambda t: ["expert", "-c", CARTPOLE, "--set", "expert.ppo.gamma=2"], 2, "--set expert.ppo.gamma: expert.ppo.gamma = 2"),
    ("expert budget under one rollout", lambda t: ["expert", "-c", CARTPOLE, "--set", "expert.total_timesteps=500"], 2,
     "--set expert.total_timesteps: expert.total_timesteps = 500: must be at least one rollout, expert.ppo.n_steps x env.n_envs = 512"),
    ("unknown env id", lambda t: ["expert", "-c", CARTPOLE, "--set", "env.id=CartPole-v9"], 2,
     "env.id = CartPole-v9: unknown environment (did you mean CartPole-v1"),
    ("expert from another env", lambda t: ["record", "-c", CARTPOLE, "--set", "env.id=Pendulum-v1", "--expert", EXPERT], 2,
     "policy does not match env Pendulum-v1"),
    ("no expert at all", lambda t: ["record", "-c", write(t / "c.yaml", "seed: 1\n")], 2, "no expert given"),
    ("missing demos", lambda t: ["gail", "-c", CARTPOLE, "--demos", str(t / "none")], 2, "no such file or folder"),
    ("empty demos folder", lambda t: ["gail", "-c", CARTPOLE, "--demos", str(t)], 2, "not a demonstrations folder"),
    ("corrupt demos", lambda t: ["gail", "-c", CARTPOLE, "--demos", corrupt_demos(t)], 2, "cannot load demonstrations"),
    ("demos for another env", lambda t: ["gail", "-c", CARTPOLE, "--set", "env.id=Pendulum-v1", "--demos", DEMOS], 2,
     "recorded on seals/CartPole-v0, but env.id = Pendulum-v1"),
    ("too few demos", lambda t: ["gail", "-c", CARTPOLE, "--set", "gail.n_demos=999"], 2, "gail.n_demos = 999: only 20"),
    ("truncated zip", lambda t: ["eval", truncated_zip(t), "-c", CARTPOLE], 2, "cut.zip: not a stable-baselines3 model zip"),
    ("not a zip", lambda t: ["eval", write(t / "x.txt", "hi"), "-c", CARTPOLE], 2, "expected a run folder or a stable-baselines3 .zip"),
    ("corrupt reward_net.pt", lambda t: ["gail", "--resume", gail_run_with_corrupt_reward_net(t)], 2,
     "reward_net.pt: not a tensors-only checkpoint"),
    ("resume a finished run", lambda t: ["gail", "--resume", fake_run(t, "gail", "finished")], 2, "already finished"),
    ("resume a foreign run", lambda t: ["gail", "--resume", fake_run(t, "expert", "interrupted")], 2, "this is an expert run, not a gail run (`gailctl expert --resume` continues it)"),
    ("gail resume without a checkpoint", lambda t: ["gail", "--resume", fake_run(t, "gail", "interrupted")], 2,
     "no checkpoint was written before it stopped, so there is nothing to continue from; start a new run instead"),
    ("resume another stage's run as an expert", lambda t: ["expert", "--resume", fake_run(t, "gail", "interrupted")], 2,
     "this is a gail run, not an expert run (`gailctl gail --resume` continues it)"),
    ("expert resume without a checkpoint", lambda t: ["expert", "--resume", fake_run(t, "expert", "interrupted")], 2,
     "no checkpoint was written before it stopped"),
    ("budget below one round", lambda t: ["gail", "-c", CARTPOLE, "--set", "gail.total_timesteps=511"], 2,
     "gail.total_timesteps = 511: must be at least one round, gail.ppo.n_steps x env.n_envs = 512"),
    ("resume a non-run", lambda t: ["expert", "--resume", str(t)], 2, "not a gailctl run folder"),
    ("resume with settings", lambda t: ["expert", "--resume", str(t), "--set", "seed=3"], 2, "drop --set"),
    ("sweep resume of a non-sweep", lambda t: ["sweep", "--resume", str(t)], 2, "not a sweep folder"),
    ("sweep resume with settings", lambda t: ["sweep", "--resume", str(t), "--seeds", "0-1"], 2, "drop --seeds"),
    ("negative max failures", lambda t: ["sweep", "-c", CARTPOLE, "--stage", "gail", "--max-failures", "-1"], 2,
     "--max-failures -1: must be 0 (no retries) or more"),
    ("runs dir not writable", lambda t: ["eval", EXPERT, "-c", CARTPOLE, "--runs-dir", not_writable_runs_dir(t)], 2, "--runs-dir"),
    ("video that exists", lambda t: ["eval", EXPERT, "-c", CARTPOLE, "--video", write(t / "v.mp4", "")], 2, "already exists"),
    ("eval without config", lambda t: ["eval", EXPERT], 2, "pass -c CONFIG"),
    ("eval a record run", lambda t: ["eval", record_run(t)], 2,
     f"demos), not a policy; evaluate the expert it recorded: gailctl eval {EXPERT}, or learn a policy from them: gailctl gail --demos "),
    # Click's own usage errors, in the same one-line form
    ("seed not a number", lambda t: ["expert", "-c", CARTPOLE, "--seed", "abc"], 2, "error: --seed abc: expected a whole number"),
    ("episodes not whole", lambda t: ["eval", EXPERT, "-c", CARTPOLE, "--episodes", "2.5"], 2,
     "error: --episodes 2.5: expected a whole number"),
    ("short option with its value glued", lambda t: ["record", "-c", CARTPOLE, "-n2.5"], 2, "error: -n 2.5: expected a whole number"),
    ("option=value", lambda t: ["sweep", "--max-concurrent=two"], 2, "error: --max-concurrent two: expected a whole number"),
    ("unknown option", lambda t: ["gail", "--bogus"], 2, "error: gail: no such option: --bogus (see gailctl gail --help)"),
    ("missing argument", lambda t: ["eval"], 2, "error: eval: missing argument 'RUN_OR_ZIP'"),
    ("option without its value", lambda t: ["gail", "--runs-dir", str(t / "runs"), "--seed"], 2,
     "error: gail: option '--seed' requires an argument"),
    ("unknown command", lambda t: ["evl"], 2, "error: no such command 'evl'. Did you mean 'eval'?"),
]


@pytest.mark.parametrize("name,build,code,text", CASES, ids=[c[0] for c in CASES])
def test_bad_input(name: str, build: Callable, code: int, text: str, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    runs = tmp_path / "runs"
    args = build(work)
    if "--runs-dir" not in args:
        args += ["--runs-dir", str(runs)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert text in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    for summary in runs.glob("*/summary.json") if runs.exists() else []:
        assert json.loads(summary.read_text())["status"] != "finished"
    assert not runs.exists() or not any(runs.iterdir()), "a refused input left a run folder"


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--debug", "eval", EXPERT, "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2 and "Traceback" in result.stderr


def test_disk_full_while_checkpointing_keeps_the_previous_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    import torch

    from gailctl.core import checkpoints

    def model_zip(data: bytes):  # a learner's `save`: its files, then its plain state
        def save(folder: Path) -> dict:
            (folder / "model.zip").write_bytes(data)
            return {}

        return save

    folder = tmp_path / "checkpoints" / "step_000000001"
    checkpoints.write_checkpoint(folder, model_zip(b"v1"), {"n_env_steps": 1})
    real_save = torch.save

    def full_disk(obj, f, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(f))

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(OSError):
        checkpoints.write_checkpoint(folder, model_zip(b"v2"), {"n_env_steps": 2})
    monkeypatch.setattr(torch, "save", real_save)
    assert (folder / "model.zip").read_bytes() == b"v1"
    assert checkpoints.read_state(folder)["n_env_steps"] == 1
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no temporary left over
    assert checkpoints.latest_checkpoint(tmp_path) == folder


def test_disk_full_is_one_line_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    import gailctl.core.execution
    import gailctl.stages

    def full_disk(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x" / "model.zip"))

    monkeypatch.setattr(gailctl.core.execution, "execute", full_disk)
    result = CliRunner().invoke(app, ["expert", "-c", CARTPOLE, "--runs-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: no space left on device ({tmp_path / 'x' / 'model.zip'}); the previous checkpoint and files are intact"
