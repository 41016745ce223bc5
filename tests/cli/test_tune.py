"""`gailctl tune` through the command line: a real two-trial study on Ray Tune (embedded) on a
tiny budget, its resume, and the bad inputs refused before any folder exists.

The study (two trials of 2 GAIL rounds each, one seed, run at once) and its resume by one trial
take about a minute together on a loaded 2-core machine; the bad-input cases train nothing.
"""

from __future__ import annotations

import csv
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest
import yaml
from click.testing import Result
from typer.testing import CliRunner

from gailctl.cli import app
from gailctl.experiments.tune_space import objective_of_run


ROOT = Path(__file__).resolve().parents[2]
CARTPOLE = str(ROOT / "configs/cartpole.yaml")
OWN = yaml.safe_load(Path(CARTPOLE).read_text())["gail"]  # the baseline trial's values: the config's own
TINY = ["--set", "gail.total_timesteps=1024", "--set", "gail.eval_every=512", "--set", "gail.final_eval_episodes=2",
        "--set", "gail.eval_episodes=2"]
SPACE = """\
objective: auc
params:
  gail.ppo.learning_rate: {float: [2.0e-4, 3.0e-3], log: true}
  gail.n_disc_updates_per_round: {int: [1, 8]}
"""


def invoke(*args: str) -> Result:
    """Run the command in-process, with sys.argv as the shell would set it (command.txt records it)."""
    with mock.patch.object(sys, "argv", ["gailctl", *args]):
        return CliRunner().invoke(app, list(args))


def read_trials(tune_dir: Path) -> list[dict[str, str]]:
    with open(tune_dir / "trials.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("tune")
    space = tmp / "space.yaml"
    space.write_text(SPACE)
    cwd = os.getcwd()
    os.chdir(tmp)  # run folders under a relative --runs-dir, as the default `runs` is
    try:
        result = invoke("tune", "-c", CARTPOLE, "--space", str(space), "--trials", "2", "--seeds", "0", *TINY, "--runs-dir", "runs")
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    tune_dir = Path(result.stdout.strip().splitlines()[-1])
    assert tune_dir.parent == tmp / "runs" and tune_dir.name.startswith("tune__seals-CartPole-v0__s0__")
    return tune_dir


@pytest.mark.slow  # a Ray study
def test_study_outputs_are_consistent(study: Path) -> None:
    for name in ("config.yaml", "command.txt", "tune.json", "space.yaml", "study.db", "trials.jsonl", "summary.json",
                 "trials.csv", "best.yaml", "results.md"):
        assert (study / name).is_file(), name
    # Ray Tune ran the trials: its experiment folder and the embedded cluster's session are in the tune folder
    assert (study / "tune-1").is_dir() and list((study / "ray").glob("session_*/logs"))
    assert json.loads((study / "summary.json").read_text())["ray"]["address"] == "embedded"
    rows = read_trials(study)
    assert [r["trial"] for r in rows] == ["0", "1"] and {r["state"] for r in rows} == {"complete"}

    # trial 0 is the baseline: the config's own values
    assert float(rows[0]["gail.ppo.learning_rate"]) == OWN["ppo"]["learning_rate"]
    assert rows[0]["gail.n_disc_updates_per_round"] == str(OWN["n_disc_updates_per_round"])

    for row in rows:  # the stored objective is what the trial's own metrics.csv gives
        run_dirs = row["run_dirs"].split(";")
        assert len(run_dirs) == 1 and Path(run_dirs[0]).parent == Path("trials")  # relative to the tune folder
        run = study / run_dirs[0]
        assert json.loads((run / "summary.json").read_text())["status"] == "finished"
        assert (run / "command.txt").read_text().split(" && ")[-1].startswith("gailctl gail -c ")
        run_cfg = yaml.safe_load((run / "config.yaml").read_text())
        assert run_cfg["gail"]["ppo"]["learning_rate"] == pytest.approx(float(row["gail.ppo.learning_rate"]))
        assert run_cfg["gail"]["n_disc_updates_per_round"] == int(row["gail.n_disc_updates_per_round"])
        assert float(row["objective_s0"]) == pytest.approx(objective_of_run("auc", run))
        assert float(row["objective"]) == pytest.approx(float(row["objective_s0"]))

    best = yaml.safe_load((study / "best.yaml").read_text())
    top = max(rows, key=lambda r: (float(r["objective"]), -int(r["trial"])))
    assert best["trial"] == int(top["trial"]) and best["value"] == pytest.approx(float(top["objective"]))
    assert best["objective"] == "auc" and best["seeds"] == [0]
    assert best["params"]["gail.ppo.learning_rate"] == pytest.approx(float(top["gail.ppo.learning_rate"]))
    assert best["params"]["gail.n_disc_updates_per_round"] == int(top["gail.n_disc_updates_per_round"])
    assert best["set"] == " ".join(f"--set {k}={v}" for k, v in best["params"].items())
    assert best["as_config"]["gail"]["n_disc_updates_per_round"] == best["params"]["gail.n_disc_updates_per_round"]
    assert shlex.split(best["command"].split(" && ")[-1])[:4] == ["gailctl", "tune", "-c", CARTPOLE]  # as typed
    # run from where the study started (an empty folder): the shipped config outside it, by its name
    assert best["gail_command"].startswith("gailctl gail -c cartpole --set gail.total_timesteps=1024")

    md = (study / "results.md").read_text()
    assert f"Best: trial {best['trial']}" in md and md.count("| complete |") == 2
    for shared in ("results.md", "trials.csv"):  # trials named relative to the tune folder, the study by its file
        assert str(study) not in (study / shared).read_text(), shared  # (the command keeps --runs-dir as typed)
    assert best["runs"] == [r["run_dirs"] for r in rows if r["trial"] == str(best["trial"])]
    summary = json.loads((study / "summary.json").read_text())
    assert summary["stage"] == "tune" and summary["status"] == "finished" and summary["best"]["trial"] == best["trial"]


@pytest.mark.slow  # a Ray study
def test_resume_adds_trials_to_the_same_study(study: Path) -> None:
    import optuna

    refused = invoke("tune", "--resume", str(study))
    assert refused.exit_code == 2 and "already has 2 trial(s) of --trials 2" in refused.stderr

    result = invoke("tune", "--resume", str(study), "--trials", "3")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert Path(result.stdout.strip().splitlines()[-1]) == study
    rows = read_trials(study)
    assert [r["trial"] for r in rows] == ["0", "1", "2"] and rows[2]["state"] == "complete"
    loaded = optuna.load_study(study_name="gailctl-tune", storage=f"sqlite:///{study / 'study.db'}")
    assert len(loaded.trials) == 3
    assert len((study / "command.txt").read_text().splitlines()) == 2  # the start and the resume
    journal = [json.loads(line) for line in (study / "trials.jsonl").read_text().splitlines()]
    assert sorted(e["trial"] for e in journal) == [0, 1, 2]  # one line per trial: nothing ran twice
    assert (study / "tune-2").is_dir()  # the resume is a second Tune experiment on the same study
    summary = json.loads((study / "summary.json").read_text())
    assert summary["n_trials"] == 3 and summary["n_complete"] == 3 and len(summary["resumed"]) == 1
    assert json.loads((study / "tune.json").read_text())["options"]["n_trials"] == 3
    assert len(list((study / "trials").iterdir())) == 3

    # a config that now resolves differently would mix incomparable trials: refused, nothing run
    original = (study / "config.yaml").read_text()
    assert "  disc_lr: 0.001\n" in original  # the resolved config lists every key
    (study / "config.yaml").write_text(original.replace("  disc_lr: 0.001\n", "  disc_lr: 0.5\n"))
    try:
        changed = invoke("tune", "--resume", str(study), "--trials", "4")
    finally:
        (study / "config.yaml").write_text(original)
    assert changed.exit_code == 2 and "gail.disc_lr was 0.5, is 0.001" in changed.stderr, changed.stderr
    assert len(read_trials(study)) == 3


BAD_SPACES = [
    ("typo in a key", "params:\n  gail.ppo.learnin_rate: {float: [1.0e-4, 1.0e-3]}\n",
     "gail.ppo.learnin_rate: unknown key (did you mean gail.ppo.learning_rate?)"),
    ("a choice the config refuses", "params:\n  gail.demo_batch_size: {choice: [-4, 256]}\n",
     "gail.demo_batch_size = -4: input should be greater than 0"),
    ("a bound past a cross-key limit", "params:\n  gail.ppo.batch_size: {int: [32, 1024]}\n",
     "gail.ppo.batch_size = 1024: must be at most one rollout"),
    ("a section, not a value", "params:\n  gail: {choice: [1, 2]}\n", "gail = 1: input should be a valid dictionary"),
    ("bad distribution", "params:\n  gail.disc_lr: {float: [1.0e-3, 1.0e-4]}\n", "params.gail.disc_lr: float = [0.001, 0.0001]: low must be below high"),
    ("unknown objective", "objective: best\nparams:\n  gail.disc_lr: {float: [1.0e-4, 1.0e-3]}\n", "objective = best: expected one of"),
    ("invalid YAML", "params: {gail.disc_lr: {float: [1, 2]}\n", "invalid YAML at line 2"),
]


@pytest.mark.parametrize("name,text,message", BAD_SPACES, ids=[c[0] for c in BAD_SPACES])
def test_bad_space_is_one_line_exit_2_and_no_folder(name: str, text: str, message: str, tmp_path: Path) -> None:
    space = tmp_path / "space.yaml"
    space.write_text(text)
    runs = tmp_path / "runs"
    result = invoke("tune", "-c", CARTPOLE, "--space", str(space), "--runs-dir", str(runs))
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {space}: "), result.stderr
    assert message in lines[0]
    assert not runs.exists() or not any(runs.iterdir())


@pytest.mark.parametrize("args,message", [
    (["--set", "gail.disc_lr=0.01"], "params.gail.disc_lr: also given with --set"),
    (["--set", "seed=3"], "--set seed: a tune takes its seeds from --seeds"),
    (["--workers", str((len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1) + 1)],
     "at most --workers"),
    (["--trials", "0"], "--trials 0: must be at least 1"),
    (["--seeds", "3-1"], "runs backwards"),
    (["--address", "127.0.0.1:1"], "--address 127.0.0.1:1: no Ray cluster answers there"),
], ids=["space key also in --set", "--set seed", "more workers than cores", "no trials", "bad seeds", "nobody at --address"])
def test_bad_options_exit_2_and_no_folder(args: list[str], message: str, tmp_path: Path) -> None:
    space = tmp_path / "space.yaml"
    space.write_text("params:\n  gail.disc_lr: {float: [1.0e-4, 1.0e-3], log: true}\n")
    runs = tmp_path / "runs"
    result = invoke("tune", "-c", CARTPOLE, "--space", str(space), *args, "--runs-dir", str(runs))
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
    assert not runs.exists()


def test_a_ray_that_cannot_be_joined_leaves_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gailctl.experiments.tune
    from gailctl.core.errors import UsageError

    def unreachable(*args: object, **kwargs: object) -> None:
        raise UsageError("--address 127.0.0.1:6379: cannot join a Ray cluster: ConnectionError: no token")

    monkeypatch.setattr(gailctl.experiments.tune, "run_on_ray", unreachable)
    space = tmp_path / "space.yaml"
    space.write_text("params:\n  gail.disc_lr: {float: [1.0e-4, 1.0e-3], log: true}\n")
    runs = tmp_path / "runs"
    result = invoke("tune", "-c", CARTPOLE, "--space", str(space), "--address", "auto", "--runs-dir", str(runs))
    assert result.exit_code == 2 and "cannot join a Ray cluster" in result.stderr, (result.stdout, result.stderr)
    assert not runs.exists() or not any(runs.iterdir())


def test_resume_refuses_settings_and_non_tune_folders(tmp_path: Path) -> None:
    result = invoke("tune", "--resume", str(tmp_path), "--seeds", "0-1")
    assert result.exit_code == 2 and "drop --seeds" in result.stderr
    result = invoke("tune", "--resume", str(tmp_path))
    assert result.exit_code == 2 and "not a gailctl tune folder" in result.stderr


@pytest.mark.slow  # a Ray study
def test_ctrl_c_stops_the_study_and_resume_runs_the_baseline_again(tmp_path: Path) -> None:
    """Ctrl-C during trial 0, after its first checkpoint: exit 130, the trial recorded as interrupted
    (not an outcome) and its run saying so; the resume runs the config's own values again as its
    first trial, going on from the interrupted run's checkpoint, and the counts add up."""
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    runs = tmp_path / "runs"
    err = tmp_path / "stderr.txt"
    argv = [sys.executable, "-m", "gailctl", "tune", "-c", CARTPOLE, "--space", str(space), "--trials", "2", "--seeds", "0",
            "--workers", "1", *TINY, "--set", "gail.total_timesteps=6144", "--set", "gail.checkpoint_every=512",
            "--runs-dir", str(runs)]
    with open(err, "w") as fh:
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=fh, text=True,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 120
        while "trial 0 [1/2]" not in err.read_text() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
        assert "trial 0 [1/2]" in err.read_text(), err.read_text()
        while not list(runs.glob("tune__*/trials/*/checkpoints/*/state.pt")) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)  # its first round's checkpoint: the interrupted trial has something to go on from
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err.read_text()
    (tune_dir,) = runs.iterdir()
    assert "gailctl tune --resume" in err.read_text().strip().splitlines()[-1]
    assert [(r["trial"], r["state"]) for r in read_trials(tune_dir)] == [("0", "interrupted")]
    assert json.loads((tune_dir / "summary.json").read_text())["status"] == "interrupted"
    (run,) = (tune_dir / "trials").iterdir()
    assert json.loads((run / "summary.json").read_text())["status"] == "interrupted"  # never `running` once the tune ended

    result = invoke("tune", "--resume", str(tune_dir), "--trials", "1")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    rows = read_trials(tune_dir)
    assert [(r["trial"], r["state"]) for r in rows] == [("0", "interrupted"), ("1", "complete")]
    assert float(rows[1]["gail.ppo.learning_rate"]) == OWN["ppo"]["learning_rate"]
    assert rows[1]["gail.n_disc_updates_per_round"] == str(OWN["n_disc_updates_per_round"])
    best = yaml.safe_load((tune_dir / "best.yaml").read_text())
    assert best["trial"] == 1 and best["baseline"]["trial"] == 1
    summary = json.loads((tune_dir / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["n_trials"] == 1 and summary["n_target"] == 1
    # The baseline goes on from the interrupted trial's checkpoint, in its run folder: each round once.
    assert list((tune_dir / "trials").iterdir()) == [run]
    run_summary = json.loads((run / "summary.json").read_text())
    assert run_summary["status"] == "finished" and len(run_summary["resumed"]) == 1 and run_summary["n_env_steps"] == 6144
    with open(run / "metrics.csv", newline="") as fh:
        assert [int(r["round"]) for r in csv.DictReader(fh)] == list(range(13))
