"""Shipped configs by name: `-c NAME`, `gailctl configs [show NAME]`, shell completion, config-relative paths.

The heavy call, `gailctl.core.execution.execute`, is replaced by a fake that records what it received.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import gailctl.core.execution
import gailctl.stages
from gailctl.core import shipped
from gailctl.cli import app
from gailctl.core.config_load import load_config
from gailctl.core.demo_sources import DemoSource

from .test_cli import FakeExecute, one_line_error

REPO = Path(__file__).resolve().parents[2]
SHIPPED = ["acrobot", "ant", "cartpole", "cartpole-v1", "halfcheetah", "hopper", "lunarlander", "mountaincar", "pendulum", "swimmer", "walker2d"]


@pytest.fixture
def fake(monkeypatch) -> FakeExecute:
    fake = FakeExecute()
    monkeypatch.setattr(gailctl.core.execution, "execute", fake)
    return fake


@pytest.fixture
def empty(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str, **kw):
    return CliRunner().invoke(app, [str(a) for a in args], **kw)


def test_source_checkout_ships_the_top_level_folders():
    assert shipped.shipped_root() == REPO
    assert shipped.config_names() == SHIPPED
    assert shipped.config_names("tune") == ["cartpole", "lunarlander"]


def test_gail_by_name_from_an_empty_folder_uses_the_shipped_config_and_demos(empty, fake):
    result = invoke("gail", "-c", "cartpole", "--set", "gail.total_timesteps=1024")
    assert result.exit_code == 0, result.output
    call = fake.only
    assert call.cfg.env.id == "seals/CartPole-v0"
    assert call.kwargs["demos"] == DemoSource("imitation", str((REPO / "experts" / "cartpole" / "demos").resolve()))
    assert call.runs_dir == Path("runs")
    assert (empty / "runs").is_dir()


@pytest.mark.parametrize("name", ["cartpole", "cartpole.yaml"])
def test_record_by_name_finds_the_shipped_expert(empty, fake, name):
    result = invoke("record", "-c", name)
    assert result.exit_code == 0, result.output
    assert fake.only.kwargs["expert_zip"] == (REPO / "experts" / "cartpole" / "model.zip").resolve()


def test_a_file_path_wins_over_a_shipped_name(empty, fake):
    (empty / "cartpole").write_text("env: {id: CartPole-v1, n_envs: 1}\nexpert: {ppo: {n_steps: 64}}\n")
    result = invoke("expert", "-c", "cartpole")
    assert result.exit_code == 0, result.output
    assert fake.only.cfg.env.id == "CartPole-v1"


def test_a_folder_of_that_name_does_not_hide_the_shipped_config(empty, fake):
    (empty / "cartpole").mkdir()
    result = invoke("gail", "-c", "cartpole")
    assert result.exit_code == 0, result.output
    assert fake.only.cfg.env.id == "seals/CartPole-v0"


def test_an_unknown_name_is_exit_2_with_a_hint(empty, fake):
    line = one_line_error(invoke("gail", "-c", "cartpol"), 2)
    assert line == "error: cartpol: config file not found, and no shipped config has that name (`gailctl configs` lists them)"


def test_eval_by_name(empty, fake):
    result = invoke("eval", str(REPO / "experts/cartpole/model.zip"), "-c", "pendulum")
    assert result.exit_code == 0, result.output
    assert fake.only.cfg.env.id == "Pendulum-v1"


def test_a_config_elsewhere_reads_its_paths_from_its_own_folder(empty, fake):
    """`-c /path/to/configs/x.yaml` from another folder finds the demonstrations its config names."""
    folder = empty / "proj" / "configs"
    folder.mkdir(parents=True)
    (folder / "exp.yaml").write_text(f"gail:\n  demos: ../demos\n")
    demos = empty / "proj" / "demos"
    demos.mkdir()
    (demos / "dataset_info.json").write_text("{}")
    work = empty / "work"
    work.mkdir()
    result = invoke("gail", "-c", folder / "exp.yaml", "--runs-dir", work / "runs")
    assert result.exit_code == 0, result.output
    assert fake.only.kwargs["demos"] == DemoSource("imitation", str(demos.resolve()))
    assert fake.only.cfg.gail.demos == str(demos.resolve())  # what the run folder records


def test_an_old_meaning_config_is_exit_2_naming_both_paths(empty, fake):
    demos = empty / "experts" / "demos"
    demos.mkdir(parents=True)
    (demos / "dataset_info.json").write_text("{}")
    (empty / "configs").mkdir()
    (empty / "configs" / "exp.yaml").write_text("gail:\n  demos: experts/demos\n")
    line = one_line_error(invoke("gail", "-c", "configs/exp.yaml"), 2)
    assert str(empty / "configs" / "experts" / "demos") in line and str(demos) in line
    assert fake.calls == []


def test_configs_lists_every_shipped_config(empty):
    result = invoke("configs", env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
            for line in result.stdout.splitlines() if line.startswith("│")}
    assert sorted(rows) == SHIPPED
    assert rows["cartpole"][:3] == ["seals/CartPole-v0", "yes", "yes"]
    assert rows["pendulum"][0] == "Pendulum-v1"
    assert all(r[3] for r in rows.values()), "every shipped config has a one-line description"


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_description_is_a_whole_sentence(name):
    assert shipped.describe(shipped.shipped_config(name)).description.endswith(".")


def test_a_description_running_over_several_comment_lines_is_not_cut():
    text = "# A task made fixed-horizon: it ends on\n# landing or crashing.\n# More detail.\nseed: 0\n"
    assert shipped.description_of(text) == "A task made fixed-horizon: it ends on landing or crashing."
    assert shipped.description_of("seed: 0\n# not a description\n") == ""


def test_describe_says_when_no_expert_or_demos_ship(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("# My own.\n# More.\nrecord: {expert: nothing.zip}\n")
    c = shipped.describe(path)
    assert (c.name, c.env_id, c.description, c.expert, c.demos) == ("mine", "seals/CartPole-v0", "My own.", False, False)


def test_configs_show_prints_a_copy_that_runs_from_anywhere(empty, fake):
    result = invoke("configs", "show", "cartpole")
    assert result.exit_code == 0, result.output
    original = (REPO / "configs" / "cartpole.yaml").read_text()
    assert result.stdout.splitlines()[0] == original.splitlines()[0]  # comments kept
    data = yaml.safe_load(result.stdout)
    assert data["gail"]["demos"] == str(REPO / "experts" / "cartpole" / "demos")
    copy = empty / "sub" / "my.yaml"
    copy.parent.mkdir()
    copy.write_text(result.stdout)
    assert load_config(copy) == load_config(REPO / "configs" / "cartpole.yaml")
    assert invoke("gail", "-c", copy).exit_code == 0


def test_configs_show_unknown_name_is_exit_2_listing_the_names(empty):
    line = one_line_error(invoke("configs", "show", "nope"), 2)
    assert "nope" in line and "cartpole, cartpole-v1" in line


def test_tune_space_by_name(empty, monkeypatch):
    seen = {}

    def fake_run_tune(**kw):
        seen.update(kw)
        raise gailctl.core.errors.UsageError("stop here")

    import gailctl.core.errors
    import gailctl.experiments.tune

    monkeypatch.setattr(gailctl.experiments.tune, "run_tune", fake_run_tune)
    invoke("tune", "-c", "cartpole", "--space", "cartpole")
    assert seen["config_path"] == REPO / "configs" / "cartpole.yaml"
    assert seen["space_path"] == REPO / "configs" / "tune" / "cartpole.yaml"


def _complete(words: str) -> list[str]:
    env = {"_GAILCTL_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split(" ")) - 1),
           "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "True"}
    result = CliRunner().invoke(app, [], env=env, prog_name="gailctl")
    assert result.exit_code == 0, result.output
    return result.stdout.split()


def test_completion_of_commands_and_options(empty):
    assert {"gail", "configs"} <= set(_complete("gailctl g")) | set(_complete("gailctl c"))
    assert "--demos" in _complete("gailctl gail --de")


def test_completion_of_shipped_config_names(empty):
    (empty / "cartpole-mine.yaml").write_text("{}")
    assert _complete("gailctl gail -c cart") == ["cartpole", "cartpole-v1", "cartpole-mine.yaml"]
    assert _complete("gailctl configs show m") == ["mountaincar"]
    assert _complete("gailctl tune --space ca") == ["cartpole", "cartpole-mine.yaml"]


def test_configs_and_completion_do_not_import_torch(tmp_path):
    import subprocess
    import sys

    code = ("import sys; from typer.testing import CliRunner; from gailctl.cli import app; "
            "r = CliRunner().invoke(app, ['configs']); assert r.exit_code == 0, r.output; "
            "r = CliRunner().invoke(app, [], env={'_GAILCTL_COMPLETE': 'complete_bash', 'COMP_WORDS': 'gailctl gail -c c', "
            "'COMP_CWORD': '3'}, prog_name='gailctl'); assert 'cartpole' in r.stdout, r.output; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60,
                         env={**__import__("os").environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
