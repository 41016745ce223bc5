"""`gailctl sweep` without Ray (plans, runner.run_trial, the sweep command): parsing --seeds and --grid, grid x seeds, validating every trial
up front, one trial's outcome, the aggregated files, and the command's exit codes.

Ray itself is exercised by tests/e2e/test_sweep.py; here `run_on_ray` is replaced by a loop
that runs each trial in-process, with the stage's `execute` faked.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.workdirs import make_workdir
from typer.testing import CliRunner

import gailctl.core.execution
import gailctl.stages
from gailctl.core.demo_sources import DemoSource
from gailctl.experiments import sweep
from gailctl.cli import app
from gailctl.core.errors import ConfigError, GailctlError, UsageError
from gailctl.experiments import ray_session
from gailctl.experiments.plans import expand_trials, parse_grid, parse_seeds, plan_sweep, trial_payload
from gailctl.experiments.ray_session import RAY_SOCKET_TAIL, UNIX_SOCKET_MAX, ray_temp_dir
from gailctl.experiments.runner import run_trial

REPO = Path(__file__).resolve().parents[2]

CONFIG = """\
seed: 0
env:
  id: CartPole-v1
  n_envs: 2
references:
  random_return: 20.0
  expert_return: 500.0
expert:
  total_timesteps: 1000
  ppo: {n_steps: 32, batch_size: 32, net_arch: [8]}
record:
  expert: expert_run/model.zip
gail:
  demos: demos_run
  total_timesteps: 1000
  demo_batch_size: 16
  ppo: {n_steps: 32, batch_size: 32, net_arch: [8]}
"""


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """A working directory with a config and a demonstrations folder, as the CLI tests use."""
    return make_workdir(tmp_path, monkeypatch, CONFIG)


# --- --seeds ---------------------------------------------------------------------------


@pytest.mark.parametrize("text, seeds", [
    ("0-4", [0, 1, 2, 3, 4]),
    ("0,2,5", [0, 2, 5]),
    ("3", [3]),
    ("0-2,7", [0, 1, 2, 7]),
    (" 1 , 3-4 ", [1, 3, 4]),
    ("5-5", [5]),
])
def test_parse_seeds(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text, says", [
    ("", "expected a range"),
    ("a", "expected a range"),
    ("-1", "expected a range"),
    ("0-", "expected a range"),
    ("1.5", "expected a range"),
    ("4-0", "runs backwards"),
    ("0-2,1", "seed 1 is listed twice"),
])
def test_parse_seeds_refuses(text, says):
    with pytest.raises(UsageError, match=says) as info:
        parse_seeds(text)
    assert str(info.value).startswith("--seeds ")


# --- --grid ----------------------------------------------------------------------------


def test_parse_grid_types_values_like_set():
    lr, hid, absorb, env = parse_grid([
        "gail.disc_lr=0.001,0.0003",
        "gail.reward_net.hid_sizes=[32,32],[64, 64]",
        "env.absorb_after_done=true,false",
        "env.id=seals/CartPole-v0,CartPole-v1",
    ])
    assert (lr.key, lr.raw, lr.values) == ("gail.disc_lr", ("0.001", "0.0003"), (0.001, 0.0003))
    assert hid.raw == ("[32,32]", "[64, 64]") and hid.values == ([32, 32], [64, 64])
    assert absorb.values == (True, False)
    assert env.values == ("seals/CartPole-v0", "CartPole-v1")


@pytest.mark.parametrize("item, says", [
    ("gail.disc_lr", "expected KEY=V1,V2"),
    ("=1,2", "expected KEY=V1,V2"),
    ("gail..disc_lr=1,2", "expected KEY=V1,V2"),
    ("gail.disc_lr=", "expected KEY=V1,V2"),
    ("seed=1,2", "seeds come from --seeds"),
    ("gail.disc_lr=0.1,,0.2", "an empty value"),
    ("gail.disc_lr=0.1,0.1", "the value 0.1 is listed twice"),
])
def test_parse_grid_refuses(item, says):
    with pytest.raises(UsageError, match=says):
        parse_grid([item])


def test_parse_grid_refuses_a_key_given_twice():
    with pytest.raises(UsageError, match="given twice"):
        parse_grid(["gail.disc_lr=0.1", "gail.disc_lr=0.2"])


# --- grid x seeds ----------------------------------------------------------------------


def test_expand_trials_is_the_cartesian_product_with_seeds_innermost():
    grid = parse_grid(["gail.disc_lr=0.001,0.0003", "gail.n_demos=2,4"])
    trials = expand_trials([0, 1], grid, ["env.n_envs=2"])
    assert len(trials) == 2 * 2 * 2
    assert [t.index for t in trials] == list(range(8))
    assert [t.seed for t in trials] == [0, 1] * 4
    assert trials[0].overrides == ("env.n_envs=2", "gail.disc_lr=0.001", "gail.n_demos=2", "seed=0")
    assert trials[7].overrides == ("env.n_envs=2", "gail.disc_lr=0.0003", "gail.n_demos=4", "seed=1")
    assert trials[3].label == "seed=1, gail.disc_lr=0.001, gail.n_demos=4"
    assert len({t.overrides for t in trials}) == 8


def test_expand_trials_without_a_grid_is_one_trial_per_seed():
    trials = expand_trials([3, 5], [])
    assert [(t.seed, t.point, t.overrides) for t in trials] == [(3, (), ("seed=3",)), (5, (), ("seed=5",))]


# --- validating every trial before Ray -------------------------------------------------


def test_plan_validates_every_trial_and_makes_inputs_absolute(workdir):
    plan = plan_sweep(stage="gail", config_path=Path("exp.yaml"), seeds="0-1", overrides=["gail.total_timesteps=640"],
                      grid=["gail.disc_lr=0.001,0.0003"])
    assert len(plan.trials) == len(plan.configs) == 4
    assert [c.seed for c in plan.configs] == [0, 1, 0, 1]
    assert [c.gail.disc_lr for c in plan.configs] == [0.001, 0.001, 0.0003, 0.0003]
    assert all(c.gail.total_timesteps == 640 for c in plan.configs)
    demos = (workdir / "demos_run" / "demos").resolve()
    assert all(c.gail.demos == str(demos) for c in plan.configs)
    assert all(c.record.expert == str((workdir / "expert_run" / "model.zip").resolve()) for c in plan.configs)
    assert plan.config_path == workdir / "exp.yaml"
    assert plan.base_config.seed == 0 and plan.base_config.gail.disc_lr == 1e-3  # before any --grid value


def test_a_bad_grid_value_fails_fast_naming_the_grid_key(workdir):
    t0 = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        plan_sweep(stage="expert", config_path=Path("exp.yaml"), seeds="0-4", grid=["expert.ppo.batch_size=32,99999"])
    assert time.perf_counter() - t0 < 0.5
    assert str(info.value) == (
        "--grid expert.ppo.batch_size: expert.ppo.batch_size = 99999: must be at most one rollout, "
        "expert.ppo.n_steps x env.n_envs = 64"
    )


def test_a_grid_value_of_the_wrong_type_is_refused(workdir):
    with pytest.raises(ConfigError, match=r"^--grid gail.n_demos: gail.n_demos = many: "):
        plan_sweep(stage="gail", config_path=Path("exp.yaml"), seeds="0", grid=["gail.n_demos=2,many"])


def test_a_setting_refused_only_with_a_grid_point_says_which(workdir):
    # batch 64 fits a rollout of 64 x 2 envs, not of 16 x 2: the file's value is blamed, with the grid point.
    with pytest.raises(ConfigError, match=r"\(with --grid expert.ppo.n_steps=16\)$"):
        plan_sweep(stage="expert", config_path=Path("exp.yaml"), seeds="0", overrides=["expert.ppo.batch_size=64"],
                   grid=["expert.ppo.n_steps=64,16"])


@pytest.mark.parametrize("kwargs, says", [
    ({"stage": None}, "--stage is required"),
    ({"stage": "record"}, "a sweep runs one of expert, gail"),
    ({"overrides": ["seed=3"]}, "seeds from --seeds"),
    ({"overrides": ["gail.disc_lr=0.1"], "grid": ["gail.disc_lr=0.1,0.2"]}, "also given with --set"),
    ({"stage": "expert", "demos": Path("demos_run")}, "only for --stage gail"),
    ({"demos": Path("demos_run"), "grid": ["gail.demos=a,b"]}, "--demos would override"),
    ({"overrides": ["gail.demos=nowhere"]}, "gail.demos = /.*/nowhere: no such file or folder"),  # --set paths: from the cwd, absolute
    ({"demos": Path("nowhere")}, "--demos nowhere: no such file or folder"),
])
def test_plan_refuses_clashing_or_missing_inputs(workdir, kwargs, says):
    args = {"stage": "gail", "config_path": Path("exp.yaml"), "seeds": "0", **kwargs}
    with pytest.raises(UsageError, match=says):
        plan_sweep(**args)


def test_gail_without_demonstrations_says_how_to_give_them(workdir):
    (workdir / "nodemos.yaml").write_text(CONFIG.replace("  demos: demos_run\n", ""))
    with pytest.raises(UsageError, match="pass --demos DEMOS or set gail.demos"):
        plan_sweep(stage="gail", config_path=Path("nodemos.yaml"), seeds="0")


def test_trial_commands_reproduce_each_trial_from_the_sweeps_working_folder(workdir):
    plan = plan_sweep(stage="gail", config_path=Path("exp.yaml"), seeds="0,2", overrides=["gail.total_timesteps=640"],
                      grid=["gail.disc_lr=0.001,0.0003"], demos=Path("demos_run"))
    described = plan.describe(workdir / "sweep" / "trials")
    assert described["seeds"] == [0, 2] and described["grid"] == {"gail.disc_lr": [0.001, 0.0003]}
    last = described["trials"][3]
    assert last["grid"] == {"gail.disc_lr": 0.0003} and last["seed"] == 2
    assert last["overrides"] == ["gail.total_timesteps=640", "gail.disc_lr=0.0003", "seed=2"]
    assert last["command"] == [  # paths relative to where the sweep started: no absolute path of this machine
        "gailctl", "gail", "-c", "exp.yaml", "--set", "gail.total_timesteps=640",
        "--set", "gail.disc_lr=0.0003", "--seed", "2", "--demos", "demos_run/demos",
        "--runs-dir", "sweep/trials",
    ]
    assert str(workdir) not in json.dumps(described)
    json.dumps(described)  # sweep.json is plain JSON


# --- Ray's temp dir --------------------------------------------------------------------


def test_ray_temp_dir_is_inside_the_sweep_folder_and_linked_when_too_long_for_sockets():
    short = Path("/s")
    assert ray_temp_dir(short) == (short / "ray", False)
    long = Path("/runs") / ("x" * 80)
    real, needs_link = ray_temp_dir(long)
    assert real == long / "ray" and needs_link
    limit = Path("/" + "y" * (UNIX_SOCKET_MAX - RAY_SOCKET_TAIL - len("/ray") - 1))
    assert ray_temp_dir(limit)[1] is False and ray_temp_dir(Path(str(limit) + "y"))[1] is True


class FakeRay:
    """Stands in for the `ray` module in `ray_session.ray_session`: records what `init` was given."""

    def __init__(self, fail: BaseException | None = None) -> None:
        self.inits: list[dict[str, Any]] = []
        self.fail = fail
        self.temp_dir_seen: Path | None = None

    def is_initialized(self) -> bool:
        return False

    def init(self, **kwargs: Any) -> None:
        self.inits.append(kwargs)
        self.temp_dir_seen = Path(kwargs["_temp_dir"]).resolve()  # what Ray would write into
        if self.fail is not None:
            raise self.fail

    def shutdown(self) -> None:
        pass


def test_ray_session_from_a_relative_runs_dir_links_to_the_real_folder(tmp_path, monkeypatch):
    """`--runs-dir runs` (the default): the short /tmp link Ray gets must lead into the folder, not dangle."""
    monkeypatch.chdir(tmp_path)
    run_dir = Path("runs") / ("bench__seals-CartPole-v0__s0-1__20260101-000000" + "x" * 60)  # too long for Ray's sockets
    run_dir.mkdir(parents=True)
    ray, info = FakeRay(), {}
    with ray_session.ray_session(ray, run_dir=run_dir, address=None, info=info):
        link = Path(info["temp_dir_link"])
        assert link.is_dir(), f"{link} dangles: it points at {os.readlink(link)}"
    assert ray.temp_dir_seen == (tmp_path / run_dir / "ray").resolve()
    assert info["temp_dir"] == str(tmp_path / run_dir / "ray")
    assert not link.exists() and not link.parent.exists()  # the /tmp link is removed at the end


def test_a_killed_drivers_short_link_is_removed_when_its_experiment_starts_ray_again(tmp_path):
    """A SIGKILLed driver cannot remove its /tmp link; the experiment's next Ray start (its resume) does,
    and leaves alone the links of other experiments."""
    run_dir = tmp_path / ("sweep__" + "x" * 90)
    (run_dir / "ray").mkdir(parents=True)
    other = tmp_path / "other" / "ray"
    other.mkdir(parents=True)
    stale, foreign = (Path(tempfile.mkdtemp(prefix="gailctl-ray-", dir="/tmp")) / "r" for _ in range(2))
    stale.symlink_to(run_dir / "ray", target_is_directory=True)
    foreign.symlink_to(other, target_is_directory=True)
    try:
        info: dict[str, Any] = {}
        with ray_session.ray_session(FakeRay(), run_dir=run_dir, address=None, info=info):
            assert not stale.parent.exists() and Path(info["temp_dir_link"]).is_dir()
        assert foreign.is_symlink() and not Path(info["temp_dir_link"]).exists()
    finally:
        for link in (stale, foreign):
            if link.is_symlink():
                link.unlink()
            if link.parent.exists():
                link.parent.rmdir()


def test_ray_that_cannot_start_is_one_line_that_says_where_and_what_to_do(tmp_path):
    run_dir = tmp_path / ("x" * 90)
    run_dir.mkdir()
    with pytest.raises(GailctlError) as caught:
        with ray_session.ray_session(FakeRay(fail=FileExistsError(17, "File exists")), run_dir=run_dir, address=None, info={}):
            pass
    message = str(caught.value)
    assert message.startswith("Ray could not start its embedded cluster (its files go to ") and "\n" not in message
    assert str(run_dir / "ray") in message and "File exists" in message and "--address" in message
    assert not isinstance(caught.value, UsageError)  # a failure of the machine, exit 1, not bad input


def test_tune_runs_quietly_and_puts_the_environment_back(monkeypatch):
    """Tune's own reporter, which prints a TensorBoard path into Ray's temporary session folder, is off while trials run."""
    import os

    monkeypatch.delenv("RAY_AIR_NEW_OUTPUT", raising=False)
    with ray_session.quiet_tune():
        assert os.environ["RAY_AIR_NEW_OUTPUT"] == "0"
    assert "RAY_AIR_NEW_OUTPUT" not in os.environ
    assert ray_session.tensorboard_hint(Path("/runs/sweep x/trials")) == "TensorBoard: tensorboard --logdir '/runs/sweep x/trials'"


# --- one trial -------------------------------------------------------------------------


class FakeExecute:
    """Stands in for gailctl.core.execution.execute: a run folder, a summary; fails for `fail_seeds`."""

    def __init__(self, fail_seeds=()):
        self.calls: list[dict[str, Any]] = []
        self.fail_seeds = set(fail_seeds)

    def __call__(self, stage, fn, cfg, *, runs_dir, argv=None, **kwargs):
        self.calls.append({"stage": stage, "cfg": cfg, "runs_dir": Path(runs_dir), "argv": argv, "kwargs": kwargs,
                           "cwd": Path.cwd()})
        if cfg.seed in self.fail_seeds:
            raise GailctlError(f"seed {cfg.seed}: the discriminator exploded")
        run_dir = Path(runs_dir) / f"{stage}__s{cfg.seed}__{len(self.calls)}"
        run_dir.mkdir(parents=True)
        final = {"return_mean": 100.0 + cfg.seed, "return_std": 1.0, "normalized_score": 0.2 + cfg.seed / 100}
        summary = {"stage": stage, "env_id": cfg.env.id, "seed": cfg.seed, "run_dir": str(run_dir), "status": "finished",
                   "n_env_steps": 640, "wall_s": 1.5, "final": final}
        if stage == "gail":  # as the gail stage writes it: `final` is the last round, `final_eval` the run's score
            summary.update(eval_episodes=5, final_eval={
                "episodes": 10,
                "deterministic": {"return_mean": 200.0 + cfg.seed, "return_std": 2.0, "normalized_score": 0.4 + cfg.seed / 100},
                "stochastic": {"return_mean": 150.0, "return_std": 9.0, "normalized_score": 0.3}})
        return run_dir, summary


def test_run_trial_runs_execute_with_the_trial_config_and_reports_scores(workdir, monkeypatch):
    fake = FakeExecute()
    monkeypatch.setattr(gailctl.core.execution, "execute", fake)
    plan = plan_sweep(stage="gail", config_path=Path("exp.yaml"), seeds="0-1", grid=["gail.disc_lr=0.001,0.0003"])
    payload = json.loads(json.dumps(trial_payload(plan, workdir / "sweep" / "trials")))  # what crosses to a worker
    elsewhere = workdir / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # a Ray worker's own working directory

    result = run_trial(payload, 3)

    call = fake.calls[0]
    assert call["stage"] == "gail" and call["cfg"] == plan.configs[3]
    assert call["cfg"].seed == 1 and call["cfg"].gail.disc_lr == 0.0003
    assert call["kwargs"] == {"demos": DemoSource("imitation", str((workdir / "demos_run" / "demos").resolve()))}
    assert call["runs_dir"] == workdir / "sweep" / "trials"
    assert call["argv"] == plan.trial_argv(plan.trials[3], workdir / "sweep" / "trials")
    assert call["cwd"] == workdir  # command.txt's `cd` is where the sweep was started
    assert result["status"] == "finished" and result["error"] is None
    # The run's final evaluation (10 episodes, argmax and sampled), not its last per-round one.
    assert result["return_mean"] == 201.0 and result["normalized_score"] == pytest.approx(0.41)
    assert result["sampled_normalized_score"] == 0.3 and result["final_episodes"] == 10
    assert result["last_round_normalized_score"] == pytest.approx(0.21)
    assert result["n_env_steps"] == 640 and Path(result["run_dir"]).is_dir()


def test_a_failing_trial_is_recorded_not_raised(workdir, monkeypatch):
    monkeypatch.setattr(gailctl.core.execution, "execute", FakeExecute(fail_seeds={0}))
    plan = plan_sweep(stage="expert", config_path=Path("exp.yaml"), seeds="0")
    result = run_trial(trial_payload(plan, workdir / "trials"), 0)
    assert result["status"] == "failed"
    assert result["error"] == "seed 0: the discriminator exploded"
    assert result["return_mean"] is None and result["run_dir"] is None


# --- the command, with Ray replaced by an in-process loop ------------------------------


@pytest.fixture
def no_ray(monkeypatch):
    """`run_payload` runs each trial in this process; `execute` is faked."""
    fake = FakeExecute()
    monkeypatch.setattr(gailctl.core.execution, "execute", fake)
    seen: dict[str, Any] = {}

    def run_here(payload, labels, *, what, run_dir, address, max_concurrent, max_failures, info, name, record):
        seen.update(payload=payload, sweep_dir=run_dir, address=address, max_concurrent=max_concurrent, max_failures=max_failures)
        assert (run_dir / "sweep.json").is_file() and (run_dir / "config.yaml").is_file() and (run_dir / "trials.json").is_file()
        return [run_trial(payload, i) for i in range(len(labels))]

    monkeypatch.setattr(sweep, "run_payload", run_here)
    fake.seen = seen
    return fake


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_sweep_command_writes_the_sweep_folder(workdir, no_ray, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["gailctl", "sweep", "-c", "exp.yaml"])  # command.txt's words: the process's argv
    result = invoke("sweep", "-c", "exp.yaml", "--stage", "expert", "--seeds", "0-1", "--grid", "expert.ppo.n_epochs=1,2",
                    "--set", "expert.total_timesteps=640", "--runs-dir", "runs", "--max-concurrent", "3")
    assert result.exit_code == 0, result.output
    sweep_dir = Path(result.stdout.strip().splitlines()[-1])
    assert sweep_dir.parent == workdir / "runs" and sweep_dir.name.startswith("sweep__CartPole-v1__s0-1__")  # named by its seeds
    assert no_ray.seen["max_concurrent"] == 3 and no_ray.seen["address"] is None
    assert len(no_ray.calls) == 4 and all(c["cfg"].expert.total_timesteps == 640 for c in no_ray.calls)

    summary = json.loads((sweep_dir / "summary.json").read_text())
    assert summary["stage"] == "sweep" and summary["sweep_stage"] == "expert" and summary["status"] == "finished"
    assert [t["status"] for t in summary["trials"]] == ["finished"] * 4
    assert [t["expert.ppo.n_epochs"] for t in summary["trials"]] == [1, 1, 2, 2]
    described = json.loads((sweep_dir / "sweep.json").read_text())
    assert [t["overrides"][-2:] for t in described["trials"]] == [
        ["expert.ppo.n_epochs=1", "seed=0"], ["expert.ppo.n_epochs=1", "seed=1"],
        ["expert.ppo.n_epochs=2", "seed=0"], ["expert.ppo.n_epochs=2", "seed=1"],
    ]
    assert (sweep_dir / "command.txt").read_text() == "cd ../.. && gailctl sweep -c exp.yaml\n"
    with open(sweep_dir / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["trial"], r["expert.ppo.n_epochs"], r["seed"], r["status"], r["return_mean"]) for r in rows] == [
        ("0", "1", "0", "finished", "100.0"), ("1", "1", "1", "finished", "101.0"),
        ("2", "2", "0", "finished", "100.0"), ("3", "2", "1", "finished", "101.0"),
    ]
    md = (sweep_dir / "results.md").read_text()
    assert md.count("| finished |") == 4 and "Mean ± std over seeds" in md and "| 2/2 | 100.5 ± 0.7 |" in md
    for shared in ("results.md", "results.csv", "sweep.json", "command.txt"):  # trials named relative to the sweep folder
        assert str(workdir) not in (sweep_dir / shared).read_text(), shared
    assert "mean ± std over seeds" in result.stdout


def test_grid_values_read_as_typed_in_tables_and_typed_in_json(workdir, no_ray):
    result = invoke("sweep", "-c", "exp.yaml", "--stage", "expert", "--grid", "expert.ppo.net_arch=[8],[16, 16]",
                    "--grid", "expert.eval_deterministic=false", "--runs-dir", "runs")
    assert result.exit_code == 0, result.output
    sweep_dir = Path(result.stdout.strip().splitlines()[-1])
    assert [c["cfg"].expert.ppo.net_arch for c in no_ray.calls] == [(8,), (16, 16)]
    with open(sweep_dir / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["expert.ppo.net_arch"], r["expert.eval_deterministic"]) for r in rows] == [("[8]", "false"), ("[16, 16]", "false")]
    assert "| [16, 16] | false | 0 | finished |" in (sweep_dir / "results.md").read_text()
    trials = json.loads((sweep_dir / "summary.json").read_text())["trials"]
    assert [(t["expert.ppo.net_arch"], t["expert.eval_deterministic"]) for t in trials] == [([8], False), ([16, 16], False)]


def test_a_failed_trial_makes_exit_1_after_the_table(workdir, no_ray):
    no_ray.fail_seeds = {1}
    result = invoke("sweep", "-c", "exp.yaml", "--stage", "expert", "--seeds", "0-1", "--runs-dir", "runs")
    assert result.exit_code == 1, result.output
    sweep_dir = Path(result.stdout.strip().splitlines()[-1])
    assert sweep_dir.is_dir()
    assert result.stderr.strip().splitlines()[-1] == (f"error: sweep: 1 of 2 trial(s) failed; errors in {sweep_dir / 'results.md'}; "
                                                       f"`gailctl sweep --resume {sweep_dir}` runs the unfinished ones again")
    summary = json.loads((sweep_dir / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["n_failed"] == 1 and summary["n_finished"] == 1
    assert summary["trials"][1]["error"] == "seed 1: the discriminator exploded"
    assert "seed 1: the discriminator exploded" in (sweep_dir / "results.md").read_text()


def test_a_bad_grid_value_is_one_line_exit_2_and_leaves_no_folder(workdir, no_ray):
    result = invoke("sweep", "-c", "exp.yaml", "--stage", "expert", "--grid", "expert.ppo.n_steps=32,0", "--runs-dir", "runs")
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: --grid expert.ppo.n_steps: expert.ppo.n_steps = 0: input should be greater than 0"
    assert not (workdir / "runs").exists() and no_ray.calls == []


def test_without_ray_the_command_says_how_to_install_it(workdir, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails, as when the extra is absent
    result = invoke("sweep", "-c", "exp.yaml", "--stage", "expert", "--seeds", "0-4", "--runs-dir", "runs")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "pip install 'gailctl[ray]'" in lines[0]
    assert not (workdir / "runs").exists()


def test_cli_start_up_does_not_import_ray():
    code = "import gailctl.cli, sys; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60, check=True)
    assert out.stdout.strip() == "False"


def test_an_address_nobody_listens_on_is_refused_at_once():
    import socket

    with socket.socket() as s:  # a port that was free a moment ago: nothing listens on it
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}"):
        with pytest.raises(UsageError, match=rf"^--address {address}: no Ray cluster answers there"):
            ray_session.check_address(address, timeout_s=2)
    ray_session.check_address("auto")  # left to ray.init
    with pytest.raises(UsageError, match="empty"):
        ray_session.check_address(" ")


def test_progress_lines_number_trials_as_the_table_does(monkeypatch):
    """Trial 0 in the table is trial 0 in the progress lines (they counted from 1)."""
    from types import SimpleNamespace

    from rich.console import Console

    import gailctl.core.ui

    console = Console(record=True, width=200, color_system=None)
    monkeypatch.setattr(gailctl.core.ui, "console", console)
    sweep._say(["seed=0", "seed=1"], SimpleNamespace(config={"trial": 0}), "started")
    sweep._say(["seed=0", "seed=1"], SimpleNamespace(config={"trial": 1}), "finished", done=2)
    assert console.export_text().splitlines() == ["trial 0 of 0-1 (seed=0): started", "trial 1 of 0-1 (seed=1): finished [2/2 done]"]
