"""What input is refused and why: the error names the flag as typed (`-n` or `--episodes`), whole numbers
in scientific notation are integers, absurd values are refused with a reason, and a config error
answers without importing torch."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gailctl.cli import app

ROOT = Path(__file__).resolve().parents[2]
CARTPOLE = str(ROOT / "configs/cartpole.yaml")
EXPERT = str(ROOT / "experts/cartpole/model.zip")


def one_error_line(args: list[str], tmp_path: Path) -> str:
    result = CliRunner().invoke(app, [*args, "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    return lines[0]


# --- errors name the flag the user typed -------------------------------------------


@pytest.mark.parametrize(
    "args,named",
    [
        (["expert", "-c", CARTPOLE, "--seed", "-1"], "--seed: seed = -1"),
        (["gail", "-c", CARTPOLE, "--seed", "-1"], "--seed: seed = -1"),
        (["eval", EXPERT, "-c", CARTPOLE, "-n", "0"], "-n: eval.episodes = 0"),
        (["eval", EXPERT, "-c", CARTPOLE, "--episodes", "0"], "--episodes: eval.episodes = 0"),
        (["eval", EXPERT, "-c", CARTPOLE, "--episodes=0"], "--episodes: eval.episodes = 0"),
        (["record", "-c", CARTPOLE, "--expert", EXPERT, "-n", "0"], "-n: record.n_episodes = 0"),
        (["expert", "-c", CARTPOLE, "--set", "seed=-1"], "--set seed: seed = -1"),
    ],
    ids=["expert --seed", "gail --seed", "eval -n", "eval --episodes", "eval --episodes=", "record -n", "--set seed"],
)
def test_errors_name_the_flag_typed(args: list[str], named: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setattr(sys, "argv", ["gailctl", *args])  # as the shell hands it over
    line = one_error_line(args, tmp_path)
    assert line.startswith(f"error: {named}"), line
    if "--set" not in args:
        assert "--set" not in line, line


def test_without_the_command_line_both_spellings_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from gailctl.cli import base

    monkeypatch.setattr(sys, "argv", ["gailctl"])  # called as a library: no command line to read
    monkeypatch.setitem(base._state, "argv", None)
    _items, flags = base.shortcuts(episodes=("-n/--episodes", "eval.episodes", 0))
    assert flags == {"eval.episodes": "-n/--episodes"}


def test_the_app_names_the_spelling_it_was_given_without_sys_argv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setattr(sys, "argv", ["gailctl"])  # a test runner hands the app its arguments directly
    line = one_error_line(["eval", EXPERT, "-c", CARTPOLE, "-n", "0"], tmp_path)
    assert line.startswith("error: -n: eval.episodes = 0"), line


# --- scientific notation for integer keys, and a ceiling on budgets ----------------


@pytest.mark.parametrize("typed,steps", [("1e6", 1_000_000), ("1.5e5", 150_000), ("2.0e5", 200_000), ("1E6", 1_000_000)])
def test_whole_numbers_in_scientific_notation_are_integers(typed: str, steps: int, monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    seen = {}

    def fake_run_stage(stage, cfg, **kwargs):  # noqa: ANN001, ANN003, ANN202
        seen["cfg"] = cfg
        raise SystemExit(0)

    monkeypatch.setattr("gailctl.cli.stage_commands._run_stage", fake_run_stage)
    result = CliRunner().invoke(app, ["expert", "-c", CARTPOLE, "--set", f"expert.total_timesteps={typed}",
                                      "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.stderr
    assert seen["cfg"].expert.total_timesteps == steps
    assert type(seen["cfg"].expert.total_timesteps) is int


def test_scientific_notation_in_a_yaml_file(tmp_path: Path) -> None:
    from gailctl.core.config_load import load_config

    path = tmp_path / "c.yaml"
    path.write_text("gail:\n  total_timesteps: 3e5\nexpert:\n  total_timesteps: 1.5e5\n")
    cfg = load_config(path)
    assert (cfg.gail.total_timesteps, cfg.expert.total_timesteps) == (300_000, 150_000)


@pytest.mark.parametrize(
    "item,text",
    [
        ("gail.total_timesteps=1.5", "gail.total_timesteps = 1.5: expected a whole number (integer), got 1.5"),
        ("gail.n_demos=2.5", "gail.n_demos = 2.5: expected a whole number"),
        ("gail.total_timesteps=1e12", "gail.total_timesteps = 1e12: at most 1,000,000,000 env steps: "),
        ("expert.total_timesteps=2000000000", "expert.total_timesteps = 2000000000: at most 1,000,000,000 env steps"),
        ("gail.total_timesteps=1e400", "1e400 is far too large"),
        ("env.n_envs=true", "env.n_envs = true: input should be a valid integer"),
    ],
)
def test_refused_integers_say_why(item: str, text: str, tmp_path: Path) -> None:
    line = one_error_line(["gail", "-c", CARTPOLE, "--set", item], tmp_path)
    assert f"--set {item.split('=')[0]}: " in line and text in line, line


# --- env.n_envs has a ceiling --------------------------------------------------------


def test_absurd_n_envs_is_refused_with_a_reason(tmp_path: Path) -> None:
    line = one_error_line(["gail", "-c", CARTPOLE, "--set", "env.n_envs=100000"], tmp_path)
    assert "env.n_envs = 100000: at most 256: the envs step one after another in one process" in line, line


def test_config_errors_do_not_import_torch(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = ("import sys\nfrom typer.testing import CliRunner\nfrom gailctl.cli import app\n"
            f"r = CliRunner().invoke(app, ['gail', '-c', {CARTPOLE!r}, '--set', 'gail.total_timesteps=1e12', '--seed', '-1'])\n"
            "assert r.exit_code == 2, r.stderr\nassert 'torch' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
