"""`gailctl runs`, `plot` and `compare` through the CLI, on run folders the stages really made."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from unittest import mock

import pytest
from typer.testing import CliRunner

from gailctl.cli import app
from gailctl.core.config_load import load_config
from gailctl.core.demo_sources import resolve_demos
from gailctl.core.execution import execute

ROOT = Path(__file__).resolve().parents[2]
TINY = ["env.n_envs=2", "gail.total_timesteps=256", "gail.ppo.n_steps=32", "gail.ppo.batch_size=32",
        "gail.demo_batch_size=32", "gail.gen_replay_buffer_capacity=64", "gail.eval_every=64",
        "gail.eval_episodes=1", "gail.n_demos=2", "gail.final_eval_episodes=2"]


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two GAIL seeds and one AIRL run, made by the real stage on a tiny budget."""
    from gailctl.core import run_loop
    from gailctl.stages import gail

    runs = tmp_path_factory.mktemp("runs")
    demos = ROOT / "experts/cartpole/demos"
    real_bar = run_loop.progress_bar

    def recorded_bar(description: str, total: int):  # noqa: ANN202
        BARS.append(description)
        return real_bar(description, total)

    with mock.patch.object(run_loop, "progress_bar", recorded_bar):
        for extra in (["seed=0"], ["seed=1"], ["gail.algorithm=airl"]):
            cfg = load_config(ROOT / "configs/cartpole.yaml", TINY + extra)
            execute("gail", gail.run, cfg, runs_dir=runs, demos=resolve_demos(demos, flag="--demos"))
    return runs


BARS: list[str] = []
"""The progress bars the fixture's runs showed, in order."""


def test_each_runs_progress_bar_names_its_algorithm(runs_dir: Path) -> None:
    assert BARS == ["gail rounds", "gail rounds", "airl rounds"]


def invoke(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return result


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_runs_lists_and_filters(runs_dir: Path) -> None:
    rows = json.loads(invoke("runs", str(runs_dir), "--json").stdout)
    assert len(rows) == 3 and {r["status"] for r in rows} == {"finished"}
    assert all(r["stage"] == "gail" and r["n_env_steps"] == 256 for r in rows)
    assert json.loads(invoke("runs", str(runs_dir), "--json", "--env", "mountaincar").stdout) == []
    table = invoke("runs", str(runs_dir)).stdout
    assert "seals-CartPole-v0" in table and "finished" in table


def test_runs_refuses_an_unknown_stage(runs_dir: Path) -> None:
    result = CliRunner().invoke(app, ["runs", str(runs_dir), "--stage", "gial"])
    assert result.exit_code == 2 and result.stderr.startswith("error: ")


def test_plot_writes_a_png_and_never_overwrites(runs_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runs = sorted(str(p) for p in runs_dir.iterdir())
    out = tmp_path / "cmp.png"
    assert invoke("plot", *runs, "-o", str(out), "--group").stdout.strip() == str(out)
    width, height = png_size(out)
    assert width > 300 and height > 300
    first = invoke("plot", *runs).stdout.strip()
    second = invoke("plot", *runs).stdout.strip()
    assert (first, second) == ("curves.png", "curves_2.png") and Path(second).is_file()


def test_every_gail_run_has_its_curves(runs_dir: Path) -> None:
    for run in runs_dir.iterdir():
        assert png_size(run / "curves.png")[0] > 300
        assert json.loads((run / "summary.json").read_text())["artifacts"]["curves"] == "curves.png"


def test_compare_shows_what_differs(runs_dir: Path) -> None:
    runs = sorted(str(p) for p in runs_dir.iterdir())
    out = invoke("compare", *runs).stdout
    assert "gail.algorithm" in out and "seed" in out
    assert "gail.demo_batch_size" not in out  # equal in all three runs


# --- runs and compare on folders they do not expect -----------------------------------------


def _by_algorithm(runs_dir: Path) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    for run in sorted(runs_dir.iterdir()):
        found.setdefault(run.name.split("__")[0], []).append(run)
    return found


def test_runs_and_compare_show_the_final_evaluation_not_the_last_round(runs_dir: Path) -> None:
    """The scores listed are summary.json's final_eval (argmax and sampled, with its
    episode count); the last per-round evaluation appears only under its own name."""
    rows = {r["id"]: r for r in json.loads(invoke("runs", str(runs_dir), "--json").stdout)}
    for run in runs_dir.iterdir():
        summary = json.loads((run / "summary.json").read_text())
        final, last = summary["final_eval"], summary["final"]
        row = rows[run.name]
        assert row["final_episodes"] == final["episodes"] == 2 and row["final_deterministic"] is True
        assert row["final_return"] == final["deterministic"]["return_mean"]
        assert row["normalized_score"] == final["deterministic"]["normalized_score"]
        assert row["sampled_return"] == final["stochastic"]["return_mean"]
        assert row["last_round_return"] == last["return_mean"]
        for mode in ("deterministic", "stochastic"):  # each episode's return kept, for the bench's steady-policy count
            returns = final[mode]["returns"]
            assert len(returns) == 2 and sum(returns) / 2 == pytest.approx(final[mode]["return_mean"])
    table = invoke("runs", str(runs_dir)).stdout
    for run in runs_dir.iterdir():
        summary = json.loads((run / "summary.json").read_text())
        line = next(ln for ln in table.splitlines() if run.name in ln).split()
        det, sto = summary["final_eval"]["deterministic"], summary["final_eval"]["stochastic"]
        assert line[3:7] == [f"{det['return_mean']:.1f}", f"{det['normalized_score']:.2f}", f"{sto['normalized_score']:.2f}", "2"]
    out = invoke("compare", *sorted(str(p) for p in runs_dir.iterdir())).stdout
    assert "last per-round evaluation (1 episode)" in " ".join(out.split())
    for run in sorted(runs_dir.iterdir()):
        summary = json.loads((run / "summary.json").read_text())
        line = next(ln for ln in out.splitlines() if run.name in ln).split()
        det, sto = summary["final_eval"]["deterministic"], summary["final_eval"]["stochastic"]
        assert line[4:9] == [f"{det['return_mean']:.1f}", f"{det['normalized_score']:.2f}", f"{sto['normalized_score']:.2f}", "2",
                             f"{summary['final']['normalized_score']:.2f}"]


def test_piped_tables_fit_120_columns(runs_dir: Path) -> None:
    """Piped `runs` and `compare` stay within 120 columns, one name column per run."""
    runs = sorted(str(p) for p in runs_dir.iterdir())
    for out in (invoke("runs", str(runs_dir)).stdout, invoke("compare", *runs).stdout):
        assert max(len(line) for line in out.splitlines()) <= 120
        assert all(out.count(Path(r).name) == 1 for r in runs)


def test_airl_runs_are_named_listed_and_labelled_as_airl(runs_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The folder, `runs` (table and JSON), `--stage airl` and plot legends name AIRL;
    `--resume` still recognises the folder as a gail-stage run."""
    from matplotlib.figure import Figure

    by_alg = _by_algorithm(runs_dir)
    assert len(by_alg["airl"]) == 1 and len(by_alg["gail"]) == 2
    airl = by_alg["airl"][0]
    rows = {r["id"]: r for r in json.loads(invoke("runs", str(runs_dir), "--json").stdout)}
    assert rows[airl.name]["algorithm"] == "airl" and rows[airl.name]["stage"] == "gail"
    assert {rows[g.name]["algorithm"] for g in by_alg["gail"]} == {"gail"}
    assert [r["id"] for r in json.loads(invoke("runs", str(runs_dir), "--json", "--stage", "airl").stdout)] == [airl.name]
    assert len(json.loads(invoke("runs", str(runs_dir), "--json", "--stage", "gail").stdout)) == 3

    saved: list = []
    original = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda self, *a, **k: (saved.append(self), original(self, *a, **k))[1])
    invoke("plot", *(str(p) for p in (*by_alg["gail"], airl)), "-o", str(tmp_path / "legend.png"))
    labels = {line.get_label() for line in saved[0].axes[0].get_lines() if not line.get_label().startswith("_")}
    assert {"gail seed 0", "gail seed 1", "airl seed 0"} <= labels

    resumed = CliRunner().invoke(app, ["gail", "--resume", str(airl)])
    assert resumed.exit_code == 2 and "already finished" in resumed.stderr  # a gail run, found by its folder


def _experiment_folder(root: Path, kind: str, trials: list[Path]) -> Path:
    """A sweep/tune/bench folder as those commands leave it, its trials copies of real runs."""
    import shutil

    folder = root / f"{kind}__seals-CartPole-v0__s0-1__20261127-120000"
    (folder / "trials").mkdir(parents=True)
    (folder / "config.yaml").write_text((trials[0] / "config.yaml").read_text())
    (folder / "command.txt").write_text(f"cd /tmp && gailctl {kind}\n")
    (folder / "summary.json").write_text(json.dumps({"stage": kind, "status": "finished"}))
    for t in trials:
        shutil.copytree(t, folder / "trials" / t.name)
    return folder


def test_runs_stage_accepts_every_stage_it_lists(runs_dir: Path, tmp_path: Path) -> None:
    """`runs --stage tune` lists tune folders; --help names every stage accepted."""
    from gailctl.report.run_info import STAGES

    tune = _experiment_folder(tmp_path, "tune", _by_algorithm(runs_dir)["gail"])
    rows = json.loads(invoke("runs", str(tmp_path), "--json", "--stage", "tune").stdout)
    assert [r["id"] for r in rows] == [tune.name]
    help_text = " ".join(invoke("runs", "--help").stdout.split())
    assert all(stage in help_text for stage in STAGES)
    for stage in STAGES:
        invoke("runs", str(tmp_path), "--stage", stage)  # none refused


@pytest.mark.parametrize("kind", ["sweep", "tune", "bench"])
def test_plot_and_eval_of_a_sweep_folder(runs_dir: Path, tmp_path: Path, kind: str) -> None:
    """`plot SWEEP_DIR` draws every trial, grouped; `eval SWEEP_DIR` says what the
    folder is and what to pass, instead of calling it an unfinished run."""
    folder = _experiment_folder(tmp_path, kind, _by_algorithm(runs_dir)["gail"])
    out = tmp_path / "sweep.png"
    assert invoke("plot", str(folder), "-o", str(out)).stdout.strip() == str(out)
    assert png_size(out)[0] > 300
    result = CliRunner().invoke(app, ["eval", str(folder)])
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: eval {folder}: a {kind} folder, not a run; pass one of its trials ({folder / 'trials'}/*)")
    assert "unfinished" not in line
    compared = invoke("compare", str(folder)).stdout
    assert all(t.name in compared for t in (folder / "trials").iterdir())


def test_one_rule_for_output_files(runs_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`plot -o` and `eval --video` both refuse an existing file unless --overwrite."""
    run = str(_by_algorithm(runs_dir)["gail"][0])
    png = tmp_path / "keep.png"
    png.write_bytes(b"precious")
    refused = CliRunner().invoke(app, ["plot", run, "-o", str(png)])
    assert refused.exit_code == 2 and png.read_bytes() == b"precious"
    assert refused.stderr.strip() == f"error: --out {png}: already exists; pass --overwrite to replace it, or choose another name"
    assert invoke("plot", run, "-o", str(png), "--overwrite").stdout.strip() == str(png)
    assert png_size(png)[0] > 300

    video = tmp_path / "keep.mp4"
    video.write_bytes(b"precious")
    refused = CliRunner().invoke(app, ["eval", run, "--video", str(video), "-n", "1"])
    assert refused.exit_code == 2 and video.read_bytes() == b"precious"
    assert refused.stderr.strip() == f"error: --video {video}: already exists; pass --overwrite to replace it, or choose another name"
    seen: dict = {}
    monkeypatch.setattr("gailctl.cli.stage_commands._run_stage", lambda stage, cfg, **kw: (seen.update(kw), (_ for _ in ()).throw(SystemExit(0))))
    CliRunner().invoke(app, ["eval", run, "--video", str(video), "--overwrite", "-n", "1"])
    assert seen["video"] == video  # accepted, handed to the stage
