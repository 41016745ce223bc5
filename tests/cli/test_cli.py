"""The `gailctl` command line: what reaches the stage, what the user sees, exit codes.

The heavy call, `gailctl.core.execution.execute`, is replaced by a fake that records what it received
and returns a plausible summary; nothing trains.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
from typer.testing import CliRunner
from tests.workdirs import make_workdir

import gailctl.core.execution
import gailctl.stages
from gailctl.cli import app
from gailctl.core.config import Config
from gailctl.core.demo_sources import DemoSource
from gailctl.core.errors import GailctlError, UsageError

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
  expert: expert_run
  n_episodes: 4
gail:
  demos: demos_run
  total_timesteps: 1000
  demo_batch_size: 16
  ppo: {n_steps: 32, batch_size: 32, net_arch: [8]}
eval:
  episodes: 6
  deterministic: true
"""


@dataclass
class Call:
    stage: str
    fn: Callable
    cfg: Config
    runs_dir: Path
    kwargs: dict[str, Any]


def _summary(stage: str, cfg: Config, kwargs: dict[str, Any]) -> dict[str, Any]:
    final = {"return_mean": 480.0, "return_std": 12.5, "return_min": 450.0, "normalized_score": cfg.references.normalize(480.0)}
    if stage == "expert":
        return {"n_env_steps": 1024, "wall_s": 3.0, "final": final, "best": {"return_mean": 490.0, "n_env_steps": 512},
                "eval_episodes": cfg.expert.eval_episodes}
    if stage == "record":
        return {
            "deterministic": cfg.record.deterministic,
            "demos": {
                "n_traj": cfg.record.n_episodes, "n_transitions": 500 * cfg.record.n_episodes,
                "return_mean": 500.0, "return_std": 0.0, "return_min": 500.0, "return_max": 500.0,
                "len_mean": 500.0, "len_min": 500.0, "len_max": 500.0, "normalized_return_mean": 1.0,
            },
        }
    if stage == "gail":
        return {"n_rounds": 2, "n_env_steps": 128, "wall_s": 2.0, "n_demo_trajectories": 4, "final": final, "eval_episodes": 5}
    policy = kwargs.get("policy_zip")
    return {
        "env_id": cfg.env.id, "policy": "random" if policy is None else str(policy), "episodes": cfg.eval.episodes,
        "deterministic": cfg.eval.deterministic, "return_mean": 480.0, "return_std": 12.5, "return_min": 450.0,
        "return_max": 500.0, "episode_len_mean": 480.0, "normalized_score": cfg.references.normalize(480.0),
    }


@dataclass
class FakeExecute:
    calls: list[Call] = field(default_factory=list)
    raises: Optional[BaseException] = None

    def __call__(self, stage, fn, cfg, *, runs_dir, argv=None, **kwargs):
        self.calls.append(Call(stage, fn, cfg, Path(runs_dir), kwargs))
        if self.raises is not None:
            raise self.raises
        run_dir = Path(runs_dir) / f"{stage}__{cfg.env.id.replace('/', '-')}__s{cfg.seed}__fake{len(self.calls)}"
        run_dir.mkdir(parents=True)
        return run_dir, {"stage": stage, "status": "finished", **_summary(stage, cfg, kwargs)}

    @property
    def only(self) -> Call:
        assert len(self.calls) == 1, self.calls
        return self.calls[0]


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """A working directory with a config, an expert run folder and a record run folder."""
    make_workdir(tmp_path, monkeypatch, CONFIG)
    make_run(tmp_path / "expert_run", seed=11)
    (tmp_path / "expert_run" / "model.zip").write_bytes(b"PK")
    return tmp_path


def make_run(folder: Path, *, seed: int, env_id: str = "CartPole-v1", eval_episodes: int = 9) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = CONFIG.replace("seed: 0", f"seed: {seed}").replace("id: CartPole-v1", f"id: {env_id}")
    text = text.replace("episodes: 6", f"episodes: {eval_episodes}")
    (folder / "config.yaml").write_text(text)
    (folder / "command.txt").write_text("cd /x && gailctl expert -c exp.yaml\n")
    return folder


@pytest.fixture
def fake(monkeypatch) -> FakeExecute:
    fake = FakeExecute()
    monkeypatch.setattr(gailctl.core.execution, "execute", fake)
    return fake


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def last_line(result) -> str:
    return result.stdout.rstrip("\n").splitlines()[-1]


def one_line_error(result, code: int) -> str:
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    return lines[0]


# --- help and start-up -----------------------------------------------------------------


def test_help_lists_the_four_commands():
    result = invoke("--help")
    assert result.exit_code == 0
    for name, blurb in [("expert", "Train a PPO expert"), ("record", "Roll out an expert"), ("gail", "Run GAIL"), ("eval", "Score a saved policy")]:
        assert name in result.stdout and blurb in result.stdout, name


@pytest.mark.parametrize("command", ["expert", "record", "gail", "eval"])
def test_each_command_has_help(command):
    result = invoke(command, "-h")
    assert result.exit_code == 0
    assert "--set" in result.stdout and "--runs-dir" in result.stdout


@pytest.mark.parametrize("command", ["expert", "record", "gail", "bc", "eval", "sweep", "bench", "tune"])
def test_help_shows_set_as_key_value(command):
    result = invoke(command, "-h")
    assert "--set KEY=VALUE" in result.stdout and "list[str]" not in result.stdout, result.stdout


def test_python_dash_m_names_the_command_gailctl():
    """`python -m gailctl` is the same command: its usage errors and help say `gailctl`, not `python -m gailctl`."""
    bad = subprocess.run([sys.executable, "-m", "gailctl", "gail", "--bogus"], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert bad.returncode == 2 and bad.stderr.strip() == "error: gail: no such option: --bogus (see gailctl gail --help)", bad.stderr
    shown = subprocess.run([sys.executable, "-m", "gailctl", "gail", "--help"], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert shown.returncode == 0 and "Usage: gailctl gail [OPTIONS]" in shown.stdout, shown.stdout


def test_startup_does_not_import_heavy_libraries():
    code = "import gailctl.cli, sys; print('torch' in sys.modules, 'stable_baselines3' in sys.modules, 'imitation' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60, check=True)
    assert out.stdout.strip() == "False False False"


# --- config values reaching the stage --------------------------------------------------


def test_set_overrides_reach_the_stage_typed(workdir, fake):
    result = invoke("expert", "-c", "exp.yaml", "--set", "gail.total_timesteps=20000", "--set", "seed=3",
                    "--set", "expert.ppo.learning_rate=3e-4", "--set", "expert.ppo.net_arch=[16,16]")
    assert result.exit_code == 0, result.output
    call = fake.only
    assert call.stage == "expert" and call.fn is gailctl.stages.expert.run
    assert call.cfg.gail.total_timesteps == 20000 and type(call.cfg.gail.total_timesteps) is int
    assert call.cfg.seed == 3
    assert type(call.cfg.expert.ppo.learning_rate) is float and call.cfg.expert.ppo.learning_rate == pytest.approx(3e-4)
    assert call.cfg.expert.ppo.net_arch == (16, 16)
    assert call.cfg.env.n_envs == 2  # the rest comes from the file


def test_seed_flag_sets_the_seed(workdir, fake):
    assert invoke("expert", "-c", "exp.yaml", "--seed", "5").exit_code == 0
    assert fake.only.cfg.seed == 5


def test_seed_flag_wins_over_set_seed(workdir, fake):
    assert invoke("expert", "-c", "exp.yaml", "--set", "seed=3", "--seed", "5").exit_code == 0
    assert fake.only.cfg.seed == 5


def test_without_config_the_defaults_are_used(workdir, fake, monkeypatch):
    result = invoke("expert", "--set", "env.id=CartPole-v1")
    assert result.exit_code == 0, result.output
    assert fake.only.cfg == Config.model_validate({"env": {"id": "CartPole-v1"}})


def test_runs_dir_is_passed_through_and_run_folder_is_last_line(workdir, fake):
    result = invoke("expert", "-c", "exp.yaml", "--runs-dir", "elsewhere/runs")
    assert result.exit_code == 0, result.output
    assert fake.only.runs_dir == Path("elsewhere/runs")
    run_dir = Path(last_line(result))
    assert run_dir.parent == Path("elsewhere/runs") and run_dir.is_dir()
    assert "expert:" in result.stdout  # the human summary comes first


def test_default_runs_dir_is_runs(workdir, fake):
    assert invoke("expert", "-c", "exp.yaml").exit_code == 0
    assert fake.only.runs_dir == Path("runs")


@pytest.mark.parametrize("command", ["expert", "record", "gail"])
def test_run_folder_is_the_last_stdout_line_and_nothing_on_stderr(workdir, fake, command):
    result = invoke(command, "-c", "exp.yaml")
    assert result.exit_code == 0, result.output
    run_dir = Path(last_line(result))
    assert run_dir.is_dir() and run_dir.parent == Path("runs")
    assert run_dir.name.startswith(f"{command}__")
    assert "error" not in result.stderr


# --- record: --expert ------------------------------------------------------------------


def test_record_expert_flag_wins_over_config(workdir, fake):
    other = workdir / "other_run"
    other.mkdir()
    (other / "policy.zip").write_bytes(b"PK")
    result = invoke("record", "-c", "exp.yaml", "--expert", "other_run")
    assert result.exit_code == 0, result.output
    call = fake.only
    assert call.kwargs["expert_zip"] == (other / "policy.zip").resolve()
    assert call.cfg.record.expert == str((other / "policy.zip").resolve())  # what config.yaml will say


def test_record_uses_config_expert_when_flag_absent(workdir, fake):
    result = invoke("record", "-c", "exp.yaml")
    assert result.exit_code == 0, result.output
    expected = (workdir / "expert_run" / "model.zip").resolve()
    assert fake.only.kwargs["expert_zip"] == expected
    assert fake.only.cfg.record.expert == str(expected)
    assert Path(fake.only.cfg.record.expert).is_absolute()


def test_record_bare_zip_flag(workdir, fake):
    (workdir / "ckpt.zip").write_bytes(b"PK")
    assert invoke("record", "-c", "exp.yaml", "--expert", "ckpt.zip").exit_code == 0
    assert fake.only.kwargs["expert_zip"] == (workdir / "ckpt.zip").resolve()


def test_record_episodes_shortcut(workdir, fake):
    result = invoke("record", "-c", "exp.yaml", "--episodes", "7")
    assert result.exit_code == 0, result.output
    assert fake.only.cfg.record.n_episodes == 7
    assert "recorded 7 episodes" in result.stdout


def test_record_of_one_episode_says_one_episode(workdir, fake):
    result = invoke("record", "-c", "exp.yaml", "-n", "1")
    assert result.exit_code == 0, result.output
    assert "recorded 1 episode, 500 transitions" in result.stdout


def test_record_min_upright_share_flag_reaches_the_config(workdir, fake):
    result = invoke("record", "-c", "exp.yaml", "--set", "env.id=seals/Hopper-v1", "--min-upright-share", "0.9")
    assert result.exit_code == 0, result.output
    assert fake.only.cfg.record.min_upright_share == 0.9


def test_record_min_upright_share_on_a_task_without_an_upright_test_is_exit_2(workdir, fake):
    line = one_line_error(invoke("record", "-c", "exp.yaml", "--min-upright-share", "0.9"), 2)
    assert "--min-upright-share" in line and "record.min_upright_share = 0.9" in line and "CartPole-v1" in line
    assert not fake.calls


def test_record_min_upright_share_is_refused_with_human(workdir, fake):
    line = one_line_error(invoke("record", "-c", "exp.yaml", "--human", "--set", "env.id=seals/Hopper-v1",
                                 "--min-upright-share", "0.9"), 2)
    assert "record.min_upright_share" in line and "--human" in line


def test_expert_says_over_how_many_episodes_its_final_return_was_measured(workdir, fake):
    result = invoke("expert", "-c", "exp.yaml", "--set", "expert.eval_episodes=7")
    assert result.exit_code == 0, result.output
    assert "final return 480.0 ± 12.5 (normalized 0.958, 7 episodes);" in result.stdout, result.stdout


def test_record_without_any_expert_is_exit_2(workdir, fake):
    (workdir / "noexpert.yaml").write_text(CONFIG.replace("  expert: expert_run\n", ""))
    result = invoke("record", "-c", "noexpert.yaml")
    line = one_line_error(result, 2)
    assert "--expert" in line and "record.expert" in line
    assert fake.calls == []


def test_record_missing_expert_flag_path_names_flag_and_path(workdir, fake):
    line = one_line_error(invoke("record", "-c", "exp.yaml", "--expert", "nope_run"), 2)
    assert line == "error: --expert nope_run: no such file or folder"
    assert fake.calls == []


def test_record_missing_config_expert_names_config_key(workdir, fake):
    (workdir / "bad.yaml").write_text(CONFIG.replace("expert: expert_run", "expert: gone_run"))
    line = one_line_error(invoke("record", "-c", "bad.yaml"), 2)
    assert "record.expert" in line and "gone_run" in line


# --- gail: --demos ---------------------------------------------------------------------


def test_gail_demos_flag_wins_over_config(workdir, fake):
    other = workdir / "my_demos"
    other.mkdir()
    (other / "dataset_info.json").write_text("{}")
    result = invoke("gail", "-c", "exp.yaml", "--demos", "my_demos")
    assert result.exit_code == 0, result.output
    assert fake.only.kwargs["demos"] == DemoSource("imitation", str(other.resolve()))
    assert fake.only.cfg.gail.demos == str(other.resolve())


@pytest.mark.parametrize("algorithm, n_rounds, expected", [
    ("gail", 2, "gail: 2 rounds, 128 env steps"), ("airl", 1, "airl: 1 round, 128 env steps")])
def test_gail_summary_names_the_algorithm_and_counts_rounds(workdir, fake, monkeypatch, algorithm, n_rounds, expected):
    real = _summary

    def summary(stage, cfg, kwargs):
        return {**real(stage, cfg, kwargs), "n_rounds": n_rounds} if stage == "gail" else real(stage, cfg, kwargs)

    monkeypatch.setitem(globals(), "_summary", summary)
    result = invoke("gail", "-c", "exp.yaml", "--demos", "demos_run", "--set", f"gail.algorithm={algorithm}")
    assert result.exit_code == 0, result.output
    assert expected in result.output, result.output


def test_gail_uses_config_demos_when_flag_absent(workdir, fake):
    result = invoke("gail", "-c", "exp.yaml")
    assert result.exit_code == 0, result.output
    expected = (workdir / "demos_run" / "demos").resolve()  # the record run folder's demos/
    assert fake.only.kwargs["demos"] == DemoSource("imitation", str(expected))
    assert fake.only.cfg.gail.demos == str(expected)


def test_gail_without_any_demos_is_exit_2(workdir, fake):
    (workdir / "nodemos.yaml").write_text(CONFIG.replace("  demos: demos_run\n", ""))
    line = one_line_error(invoke("gail", "-c", "nodemos.yaml"), 2)
    assert "--demos" in line and "gail.demos" in line
    assert fake.calls == []


def test_gail_demos_flag_not_a_demos_folder(workdir, fake):
    (workdir / "empty").mkdir()
    line = one_line_error(invoke("gail", "-c", "exp.yaml", "--demos", "empty"), 2)
    assert line.startswith("error: --demos empty: not a demonstrations folder")


# --- errors at the boundary ------------------------------------------------------------


def test_bad_config_is_exit_2_one_line_no_traceback(workdir, fake):
    (workdir / "bad.yaml").write_text(CONFIG.replace("n_envs: 2", "n_envs: eight"))
    line = one_line_error(invoke("expert", "-c", "bad.yaml"), 2)
    assert line == "error: bad.yaml: env.n_envs = eight: input should be a valid integer"
    assert fake.calls == []
    assert not (workdir / "runs").exists()  # no run folder for a refused config


def test_bad_set_is_exit_2_naming_the_flag(workdir, fake):
    line = one_line_error(invoke("gail", "-c", "exp.yaml", "--set", "gail.demo_batch_size=-4"), 2)
    assert line.startswith("error: --set gail.demo_batch_size: gail.demo_batch_size = -4")


def test_malformed_set_is_exit_2(workdir, fake):
    line = one_line_error(invoke("expert", "-c", "exp.yaml", "--set", "seed"), 2)
    assert "--set 'seed'" in line and "KEY=VALUE" in line


def test_missing_config_file_is_exit_2(workdir, fake):
    assert one_line_error(invoke("expert", "-c", "missing.yaml"), 2) == (
        "error: missing.yaml: config file not found, and no shipped config has that name (`gailctl configs` lists them)")


def test_unknown_env_id_is_exit_2_with_a_hint(workdir, fake):
    line = one_line_error(invoke("expert", "-c", "exp.yaml", "--set", "env.id=CartPol-v1"), 2)
    assert "env.id = CartPol-v1: unknown environment" in line and "CartPole-v1" in line
    assert fake.calls == []


def test_debug_shows_the_traceback(workdir, fake):
    (workdir / "bad.yaml").write_text(CONFIG.replace("n_envs: 2", "n_envs: eight"))
    result = invoke("--debug", "expert", "-c", "bad.yaml")
    assert result.exit_code == 2
    assert "Traceback" in result.stderr and "ConfigError" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: bad.yaml: env.n_envs = eight")


def test_debug_is_off_again_for_the_next_invocation(workdir, fake):
    (workdir / "bad.yaml").write_text(CONFIG.replace("n_envs: 2", "n_envs: eight"))
    invoke("--debug", "expert", "-c", "bad.yaml")
    one_line_error(invoke("expert", "-c", "bad.yaml"), 2)


def test_unexpected_exception_in_stage_is_exit_1_one_line(workdir, fake):
    fake.raises = RuntimeError("CUDA went away\nsecond line of detail")
    line = one_line_error(invoke("expert", "-c", "exp.yaml"), 1)
    assert line == "error: RuntimeError: CUDA went away (rerun with --debug for the traceback)"


def test_unexpected_exception_with_debug_has_traceback(workdir, fake):
    fake.raises = RuntimeError("CUDA went away")
    result = invoke("--debug", "expert", "-c", "exp.yaml")
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and "RuntimeError: CUDA went away" in result.stderr


def test_gailctl_error_in_stage_is_exit_1_with_its_message(workdir, fake):
    fake.raises = GailctlError("env.id = CartPole-v1: the generator's episodes have different lengths")
    line = one_line_error(invoke("gail", "-c", "exp.yaml"), 1)
    assert line == "error: env.id = CartPole-v1: the generator's episodes have different lengths"


def test_usage_error_in_stage_is_exit_2(workdir, fake):
    fake.raises = UsageError("--demos x: holds no trajectories")
    assert one_line_error(invoke("gail", "-c", "exp.yaml"), 2) == "error: --demos x: holds no trajectories"


def test_ctrl_c_is_exit_130(workdir, fake):
    fake.raises = KeyboardInterrupt()
    line = one_line_error(invoke("expert", "-c", "exp.yaml"), 130)
    assert "interrupted" in line


def test_unwritable_runs_dir_is_exit_2_with_the_real_execute(workdir, monkeypatch):
    (workdir / "a_file").write_text("x")
    monkeypatch.setattr(gailctl.stages.expert, "run", lambda cfg, run_dir: pytest.fail("stage must not run"))
    line = one_line_error(invoke("expert", "-c", "exp.yaml", "--runs-dir", "a_file/runs"), 2)
    assert line.startswith("error: --runs-dir a_file/runs: ")


# --- eval ------------------------------------------------------------------------------


def test_eval_takes_config_from_the_run_folder(workdir, fake):
    run = make_run(workdir / "runs" / "gail_run", seed=11, eval_episodes=9)
    (run / "policy.zip").write_bytes(b"PK")
    result = invoke("eval", run)
    assert result.exit_code == 0, result.output
    call = fake.only
    assert call.stage == "eval" and call.fn is gailctl.stages.evaluate.run
    assert call.kwargs["policy_zip"] == run / "policy.zip"
    assert call.cfg.seed == 11 and call.cfg.eval.episodes == 9  # the run's config, not defaults
    assert call.kwargs["render"] is False and call.kwargs["video"] is None


def test_eval_records_the_policy_as_typed_and_as_the_absolute_file_it_scored(workdir, fake):
    run = make_run(workdir / "runs" / "gail_run", seed=11)
    (run / "policy.zip").write_bytes(b"PK")
    assert invoke("eval", "runs/gail_run").exit_code == 0
    call = fake.only
    assert call.kwargs["policy_zip"] == (run / "policy.zip").resolve() and call.kwargs["policy_zip"].is_absolute()
    assert call.kwargs["inputs"] == {"policy_as_typed": "runs/gail_run", "cwd": str(workdir)}


def test_eval_checkpoint_inside_a_run_folder_finds_the_run_config(workdir, fake):
    run = make_run(workdir / "runs" / "gail_run", seed=12)
    ckpt = run / "checkpoints" / "round_000004" / "policy.zip"
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b"PK")
    result = invoke("eval", ckpt)
    assert result.exit_code == 0, result.output
    assert fake.only.cfg.seed == 12 and fake.only.kwargs["policy_zip"] == ckpt


def test_eval_config_flag_wins_over_the_run_folder(workdir, fake):
    run = make_run(workdir / "runs" / "expert_run2", seed=11)
    (run / "model.zip").write_bytes(b"PK")
    result = invoke("eval", run, "-c", "exp.yaml")
    assert result.exit_code == 0, result.output
    assert fake.only.cfg.seed == 0


def test_eval_bare_zip_outside_a_run_folder_needs_config(workdir, fake):
    (workdir / "loose").mkdir()
    (workdir / "loose" / "model.zip").write_bytes(b"PK")
    line = one_line_error(invoke("eval", "loose/model.zip"), 2)
    assert "loose/model.zip" in line and "-c" in line
    assert fake.calls == []
    result = invoke("eval", "loose/model.zip", "-c", "exp.yaml")
    assert result.exit_code == 0, result.output
    assert fake.only.kwargs["policy_zip"] == (workdir / "loose/model.zip").resolve()


def test_eval_episodes_and_stochastic_reach_cfg_eval(workdir, fake):
    result = invoke("eval", "expert_run", "--episodes", "3", "--stochastic")
    assert result.exit_code == 0, result.output
    assert fake.only.cfg.eval.episodes == 3
    assert fake.only.cfg.eval.deterministic is False
    assert "stochastic" in result.stdout


def test_eval_deterministic_flag_and_config_default(workdir, fake):
    (workdir / "stoch.yaml").write_text(CONFIG.replace("deterministic: true", "deterministic: false"))
    assert invoke("eval", "expert_run/model.zip", "-c", "stoch.yaml").exit_code == 0
    assert fake.calls[-1].cfg.eval.deterministic is False  # config value when no flag
    assert invoke("eval", "expert_run/model.zip", "-c", "stoch.yaml", "--deterministic").exit_code == 0
    assert fake.calls[-1].cfg.eval.deterministic is True
    assert fake.calls[-1].cfg.eval.episodes == 6


def test_eval_prints_a_table_then_the_run_folder(workdir, fake):
    result = invoke("eval", "expert_run")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "480.00 ± 12.50" in out  # return mean ± std
    assert "0.958" in out  # normalized (480 - 20) / (500 - 20)
    run_dir = Path(last_line(result))
    assert run_dir.is_dir() and run_dir.name.startswith("eval__")


def test_eval_prints_the_upright_share_on_locomotion_tasks_only(workdir, fake, monkeypatch):
    assert "upright" not in invoke("eval", "expert_run").stdout  # CartPole has no healthy conditions

    class Locomotion(FakeExecute):
        def __call__(self, *args, **kwargs):
            run_dir, summary = super().__call__(*args, **kwargs)
            return run_dir, {**summary, "upright_share": 0.987, "upright_share_min": 0.95}

    monkeypatch.setattr(gailctl.core.execution, "execute", Locomotion())
    result = invoke("eval", "expert_run", "--runs-dir", "runs-locomotion")
    assert result.exit_code == 0, result.output
    assert "upright" in result.stdout and "0.99 (0.95)" in result.stdout  # mean share (worst episode's)


def test_eval_missing_target_is_exit_2(workdir, fake):
    line = one_line_error(invoke("eval", "nowhere"), 2)
    assert "nowhere" in line and "no such file or folder" in line


@pytest.mark.parametrize("video, fragment", [("clip.avi", ".mp4"), ("existing.mp4", "already exists"), ("nodir/clip.mp4", "does not exist")])
def test_eval_bad_video_path_is_exit_2_before_the_stage(workdir, fake, video, fragment):
    (workdir / "existing.mp4").write_bytes(b"keep me")
    line = one_line_error(invoke("eval", "expert_run", "--video", video), 2)
    assert f"--video {video}" in line and fragment in line
    assert fake.calls == []
    assert (workdir / "existing.mp4").read_bytes() == b"keep me"


def test_eval_video_and_render_reach_the_stage(workdir, fake):
    result = invoke("eval", "expert_run", "--video", "clip.gif", "--render")
    assert result.exit_code == 0, result.output
    assert fake.only.kwargs["video"] == Path("clip.gif") and fake.only.kwargs["render"] is True


def test_eval_random_policy_with_config(workdir, fake):
    """`gailctl eval random -c CONFIG` scores uniform random actions (no zip to resolve)."""
    result = invoke("eval", "random", "-c", "exp.yaml")
    assert result.exit_code == 0, result.output
    assert fake.only.kwargs["policy_zip"] is None
    assert "uniform random" in result.stdout


# --- with the real `execute` (only the stage body is faked) ----------------------------


def test_real_execute_writes_a_reproducible_run_folder(workdir, monkeypatch):
    seen = {}

    def fake_run(cfg, run_dir):
        seen["cfg"], seen["run_dir"] = cfg, run_dir
        return {"n_env_steps": 64, "final": {"return_mean": 9.0, "return_std": 1.0, "normalized_score": None},
                "best": {"return_mean": 9.5, "n_env_steps": 32}}

    monkeypatch.setattr(gailctl.stages.expert, "run", fake_run)
    result = invoke("expert", "-c", "exp.yaml", "--set", "expert.total_timesteps=640", "--seed", "4")
    assert result.exit_code == 0, result.output
    run_dir = Path(last_line(result))
    assert run_dir == seen["run_dir"] and run_dir.parent == Path("runs")
    from gailctl.core.config_load import load_config

    assert load_config(run_dir / "config.yaml") == seen["cfg"]  # the resolved config, overrides included
    assert seen["cfg"].expert.total_timesteps == 640 and seen["cfg"].seed == 4
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["seed"] == 4 and summary["n_env_steps"] == 64
    assert "torch" in summary["versions"]
    assert (run_dir / "command.txt").is_file()
    assert "normalized" not in result.stdout.splitlines()[0]  # no references: no normalized figure at all


def test_expert_whose_best_is_the_untrained_policy_says_so(workdir, monkeypatch):
    from gailctl.stages.expert import best_note

    def fake_run(cfg, run_dir):
        return {"n_env_steps": 1024, "final": {"return_mean": 30.0, "return_std": 1.0, "normalized_score": None},
                "best": {"return_mean": 377.1, "n_env_steps": 0, "note": best_note(0)}}

    monkeypatch.setattr(gailctl.stages.expert, "run", fake_run)
    result = invoke("expert", "-c", "exp.yaml", "--set", "expert.total_timesteps=640")
    assert result.exit_code == 0, result.output
    assert "best 377.1 at 0 steps (the untrained policy scored best: best_model.zip is the initial policy" in result.stdout


def test_real_execute_marks_a_crashed_run_failed(workdir, monkeypatch):
    def crash(cfg, run_dir):
        raise ValueError("nan in the policy")

    monkeypatch.setattr(gailctl.stages.expert, "run", crash)
    result = invoke("expert", "-c", "exp.yaml")
    assert result.exit_code == 1
    (run_dir,) = (workdir / "runs").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "failed" and "nan in the policy" in summary["error"]


def test_real_execute_removes_the_folder_of_refused_input(workdir, monkeypatch):
    def refuse(cfg, run_dir, *, demos):
        raise UsageError(f"--demos {demos}: holds no trajectories")

    monkeypatch.setattr(gailctl.stages.gail, "run", refuse)
    line = one_line_error(invoke("gail", "-c", "exp.yaml"), 2)
    assert "holds no trajectories" in line
    assert list((workdir / "runs").iterdir()) == []
