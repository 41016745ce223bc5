"""gailctl.report (run_info, grouping, curves, compare, run_tables): listing, plotting and comparing
run folders built by hand in tmp_path."""

from __future__ import annotations

import copy
import csv
import fcntl
import json
import logging
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

import pytest
import yaml

from gailctl.core.errors import UsageError
from gailctl.report.compare import SCORE_COLUMNS, compare_runs
from gailctl.report.curves import gail_curve_png, plot_runs
from gailctl.report.grouping import differing_keys, flatten_config, group_runs
from gailctl.report.run_info import STATUSES, RunInfo, human_age, list_runs
from gailctl.report.run_tables import render_compare_table, render_runs_table

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
GAIL_COLUMNS = ["round", "n_env_steps", "wall_s", "disc_loss", "disc_acc", "disc_acc_expert", "disc_acc_gen",
                "disc_entropy", "return_mean", "return_std", "return_min", "episode_len_mean", "normalized_score"]
EXPERT_COLUMNS = ["n_env_steps", "wall_s", "return_mean", "return_std", "return_min", "episode_len_mean", "normalized_score"]
EPISODE_COLUMNS = ["episode", "n_env_steps", "return", "length", "normalized_score"]

BASE_CONFIG: dict[str, Any] = {
    "seed": 0,
    "env": {"id": "seals/CartPole-v0", "n_envs": 8, "max_episode_steps": None},
    "references": {"random_return": 40.0, "expert_return": 500.0},
    "gail": {"demos": "/data/demos", "ppo": {"learning_rate": 0.001, "net_arch": [64, 64]}},
    "eval": {"episodes": 10},
}


def _set(config: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node = config
    for p in parents:
        node = node.setdefault(p, {})
    node[last] = value


def write_csv(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, restval="")
        w.writeheader()
        w.writerows(rows)


def make_run(
    root: Path,
    name: str,
    *,
    stage: str = "gail",
    status: Optional[str] = "finished",
    started: str = "2026-01-01T10:00:00+0000",
    set_: Optional[dict[str, Any]] = None,
    summary: Optional[dict[str, Any]] = None,
    columns: Optional[list[str]] = None,
    rows: Optional[list[dict[str, Any]]] = None,
    cwd: str = "/srv/project",
) -> Path:
    """A run folder as the stages leave it: config.yaml, command.txt, summary.json, metrics.csv."""
    run = root / name
    run.mkdir(parents=True)
    config = copy.deepcopy(BASE_CONFIG)
    for key, value in (set_ or {}).items():
        _set(config, key, value)
    (run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (run / "command.txt").write_text(f"cd {cwd} && gailctl {stage} -c configs/cartpole.yaml\n")
    if status is not None:
        base = {"stage": stage, "env_id": config["env"]["id"], "seed": config["seed"], "run_dir": str(run),
                "started": started, "status": status, "wall_s": 12.5}
        (run / "summary.json").write_text(json.dumps({**base, **(summary or {})}))
    if rows is not None:
        write_csv(run / "metrics.csv", columns or GAIL_COLUMNS, rows)
    return run


def gail_rows(returns: list[Optional[float]], *, refs: tuple[float, float] = (40.0, 500.0), step: int = 512) -> list[dict]:
    """One row per round; None = a round without evaluation (its return cells are empty)."""
    rows = []
    for r, ret in enumerate(returns):
        row: dict[str, Any] = {"round": r, "n_env_steps": r * step, "wall_s": r * 0.5}
        if r > 0:
            row.update(disc_loss=0.69 - 0.01 * r, disc_acc=0.6, disc_acc_expert=0.5 + 0.01 * r, disc_acc_gen=0.7, disc_entropy=0.69)
        if ret is not None:
            row.update(return_mean=ret, return_std=1.0, return_min=ret, episode_len_mean=500.0,
                       normalized_score=(ret - refs[0]) / (refs[1] - refs[0]))
        rows.append(row)
    return rows


GAIL_FINAL = {"n_env_steps": 2048, "eval_episodes": 5,
              "final": {"return_mean": 270.0, "return_std": 3.0, "return_min": 260.0, "normalized_score": 0.5},
              "final_eval": {"episodes": 10,
                             "deterministic": {"return_mean": 480.0, "return_std": 4.0, "normalized_score": 0.96},
                             "stochastic": {"return_mean": 250.0, "return_std": 30.0, "normalized_score": 0.46}}}
"""A gail summary as the stage writes it: `final` is the last per-round evaluation (5 episodes),
`final_eval` the run's final one (10 episodes, argmax and sampled)."""


# --- list_runs --------------------------------------------------------------------------


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    # Folder names and start times disagree on purpose: ordering follows `started`.
    make_run(root, "gail__seals-CartPole-v0__s0__A", stage="gail", started="2026-01-01T11:00:00+0000",
             summary=GAIL_FINAL, rows=gail_rows([100.0, None, 200.0]))
    make_run(root, "expert__seals-CartPole-v0__s0__B", stage="expert", started="2026-01-01T09:00:00+0000",
             summary={"n_env_steps": 30000, "final": {"return_mean": 500.0, "return_std": 0.0, "normalized_score": 1.0}},
             columns=EXPERT_COLUMNS, rows=[{"n_env_steps": 0, "return_mean": 10.0}])
    make_run(root, "record__CartPole-v1__s0__C", stage="record", started="2026-01-01T11:55:00+0000",
             set_={"env.id": "CartPole-v1"},
             summary={"demos": {"n_traj": 2, "return_mean": 480.0, "return_std": 5.0, "normalized_return_mean": 0.95}},
             columns=EPISODE_COLUMNS, rows=[{"episode": 0, "n_env_steps": 500, "return": 500.0},
                                            {"episode": 1, "n_env_steps": 960, "return": 460.0}])
    make_run(root, "eval__CartPole-v1__s0__D", stage="eval", status="failed", started="2026-01-01T10:30:00+0000",
             set_={"env.id": "CartPole-v1"}, summary={"error": "boom"})
    make_run(root, "eval__seals-CartPole-v0__s0__E", stage="eval", started="2025-12-30T12:00:00+0000",
             summary={"policy": "random", "return_mean": 33.0, "return_std": 2.0, "normalized_score": -0.015},
             columns=EPISODE_COLUMNS, rows=[{"episode": 0, "n_env_steps": 500, "return": 33.0}])
    (root / "not_a_run").mkdir()  # no config.yaml/command.txt: ignored
    (root / ".hidden.tmp").mkdir()
    return root


def test_list_runs_newest_first_by_start_time(runs_dir):
    ids = [r.id for r in list_runs(runs_dir, now=NOW)]
    assert ids == [
        "record__CartPole-v1__s0__C",
        "gail__seals-CartPole-v0__s0__A",
        "eval__CartPole-v1__s0__D",
        "expert__seals-CartPole-v0__s0__B",
        "eval__seals-CartPole-v0__s0__E",
    ]


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({"stage": "eval"}, {"eval__CartPole-v1__s0__D", "eval__seals-CartPole-v0__s0__E"}),
        ({"status": "failed"}, {"eval__CartPole-v1__s0__D"}),
        ({"env": "cartpole"}, {"record__CartPole-v1__s0__C", "gail__seals-CartPole-v0__s0__A", "eval__CartPole-v1__s0__D",
                               "expert__seals-CartPole-v0__s0__B", "eval__seals-CartPole-v0__s0__E"}),
        ({"env": "CartPole-v1"}, {"record__CartPole-v1__s0__C", "eval__CartPole-v1__s0__D"}),
        ({"env": "SEALS/cartpole-V0"}, {"gail__seals-CartPole-v0__s0__A", "expert__seals-CartPole-v0__s0__B", "eval__seals-CartPole-v0__s0__E"}),
        ({"env": "seals-CartPole-v0"}, {"gail__seals-CartPole-v0__s0__A", "expert__seals-CartPole-v0__s0__B", "eval__seals-CartPole-v0__s0__E"}),
        ({"env": "v1", "stage": "eval", "status": "finished"}, set()),
        ({"env": "seals", "stage": "eval", "status": "finished"}, {"eval__seals-CartPole-v0__s0__E"}),
        ({"env": "pendulum"}, set()),
    ],
)
def test_list_runs_filters(runs_dir, filters, expected):
    assert {r.id for r in list_runs(runs_dir, now=NOW, **filters)} == expected


def test_run_info_json_fields_per_stage(runs_dir):
    by_id = {r.id: r for r in list_runs(runs_dir, now=NOW)}
    gail = by_id["gail__seals-CartPole-v0__s0__A"].to_json()
    assert gail == {
        "id": "gail__seals-CartPole-v0__s0__A",
        "path": str(runs_dir / "gail__seals-CartPole-v0__s0__A"),
        "stage": "gail",
        "algorithm": "gail",
        "env_id": "seals/CartPole-v0",
        "seed": 0,
        "status": "finished",
        "n_env_steps": 2048,
        "final_return": 480.0,
        "normalized_score": 0.96,
        "final_episodes": 10,
        "final_deterministic": True,
        "sampled_return": 250.0,
        "sampled_normalized_score": 0.46,
        "last_round_return": 270.0,
        "last_round_normalized_score": 0.5,
        "started": "2026-01-01T11:00:00+0000",
        "age_s": 3600.0,
        "restarts": 0,
        "findings": [],
    }
    json.dumps(gail, allow_nan=False)  # plain JSON, no Path objects or NaN
    record = by_id["record__CartPole-v1__s0__C"]
    assert (record.final_return, record.normalized_score) == (480.0, 0.95)  # from summary["demos"]
    assert record.n_env_steps == 960  # no summary n_env_steps: the last metrics row's
    assert record.age_s == 300.0
    ev = by_id["eval__seals-CartPole-v0__s0__E"]
    assert (ev.final_return, ev.normalized_score, ev.n_env_steps) == (33.0, -0.015, 500)
    failed = by_id["eval__CartPole-v1__s0__D"]
    assert (failed.status, failed.final_return, failed.normalized_score, failed.n_env_steps) == ("failed", None, None, None)
    assert isinstance(failed, RunInfo)
    with pytest.raises(AttributeError):
        failed.status = "finished"  # type: ignore[misc]  # frozen


def test_nan_scores_become_none(tmp_path):
    # An expert without references writes NaN normalized scores; JSON output must stay valid.
    run = make_run(tmp_path, "expert__x__s0__A", stage="expert",
                   summary={"n_env_steps": 10, "final": {"return_mean": 9.0, "normalized_score": float("nan")}})
    [info] = list_runs(tmp_path, now=NOW)
    assert info.normalized_score is None and info.final_return == 9.0
    json.dumps(info.to_json(), allow_nan=False)
    assert run.is_dir()


def test_missing_or_corrupt_summary_is_unknown_with_config_facts(tmp_path):
    make_run(tmp_path, "gail__seals-CartPole-v0__s3__A", status=None, set_={"seed": 3},
             rows=gail_rows([100.0, None]))
    broken = make_run(tmp_path, "expert__seals-CartPole-v0__s0__B", stage="expert")
    (broken / "summary.json").write_text('{"status": "runn')
    infos = {r.id: r for r in list_runs(tmp_path, now=NOW)}
    a = infos["gail__seals-CartPole-v0__s3__A"]
    assert (a.status, a.stage, a.env_id, a.seed, a.n_env_steps) == ("unknown", "gail", "seals/CartPole-v0", 3, 512)
    b = infos["expert__seals-CartPole-v0__s0__B"]
    assert (b.status, b.stage) == ("unknown", "expert")
    assert [r.id for r in list_runs(tmp_path, status="unknown", now=NOW)] != []


def test_cut_last_metrics_row_is_ignored(tmp_path):
    run = make_run(tmp_path, "record__x__s0__A", stage="record", summary={"demos": {"return_mean": 1.0}},
                   columns=EPISODE_COLUMNS, rows=[{"episode": 0, "n_env_steps": 500, "return": 1.0}])
    with open(run / "metrics.csv", "a") as fh:
        fh.write("1,10")  # a kill mid-row
    assert list_runs(tmp_path, now=NOW)[0].n_env_steps == 500


def test_long_metrics_file_last_row(tmp_path):
    rows = [{"episode": i, "n_env_steps": 500 * (i + 1), "return": 500.0, "length": 500} for i in range(4000)]
    run = make_run(tmp_path, "eval__x__s0__A", stage="eval", summary={"return_mean": 500.0},
                   columns=EPISODE_COLUMNS, rows=rows)
    assert (run / "metrics.csv").stat().st_size > 65536  # only the tail is read
    assert list_runs(tmp_path, now=NOW)[0].n_env_steps == 2_000_000
    assert [r.id for r in list_runs(run, now=NOW)] == ["eval__x__s0__A"]  # a run folder lists itself


def test_running_with_a_free_lock_is_stale(tmp_path):
    held = make_run(tmp_path, "gail__a__s0__A", status="running")
    dead = make_run(tmp_path, "gail__a__s0__B", status="running")
    old = make_run(tmp_path, "gail__a__s0__C", status="running")  # from before run.lock existed
    done = make_run(tmp_path, "gail__a__s0__D", status="finished")
    for run in (held, dead, done):
        (run / "run.lock").write_text("pid 1\n")
    with open(held / "run.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as gailctl.core.runs.run_lock does
        status = {r.id: r.status for r in list_runs(tmp_path, now=NOW)}
        assert [r.id for r in list_runs(tmp_path, status="stale", now=NOW)] == ["gail__a__s0__B"]
    assert status == {"gail__a__s0__A": "running", "gail__a__s0__B": "stale",
                      "gail__a__s0__C": "running", "gail__a__s0__D": "finished"}
    # Looking did not keep the lock: the live run's lock is free again once it lets go.
    with open(held / "run.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_runs_in_sub_folders_are_found(tmp_path):
    make_run(tmp_path / "sweep-lr" / "a", "gail__x__s0__A")
    make_run(tmp_path, "gail__x__s1__B")
    assert sorted(r.id for r in list_runs(tmp_path, now=NOW)) == ["gail__x__s0__A", "gail__x__s1__B"]


def test_list_runs_refuses_a_missing_folder_and_unknown_filters(tmp_path):
    with pytest.raises(UsageError, match=rf"^{tmp_path / 'nope'}: no such runs folder"):
        list_runs(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="expected a runs folder, got a file"):
        list_runs(tmp_path / "file")
    with pytest.raises(UsageError, match=r"stage = 'gial': expected one of expert, record, gail, bc, dagger, eval, sweep, bench, tune"):
        list_runs(tmp_path, stage="gial")
    with pytest.raises(UsageError, match=r"status = 'done': expected one of running, finished"):
        list_runs(tmp_path, status="done")
    assert list_runs(tmp_path) == []
    assert "stale" in STATUSES and "unknown" in STATUSES


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (59, "59s"), (300, "5m"), (3 * 3600 + 5, "3h"), (2 * 86400 + 1, "2d"), (None, "—")])
def test_human_age(seconds, text):
    assert human_age(seconds) == text


def _render(table: Any, width: int = 400) -> str:
    from rich.console import Console

    console = Console(width=width, record=True, color_system=None)
    for t in table if isinstance(table, list) else [table]:
        console.print(t)
    return console.export_text()


def test_runs_table_has_the_columns_and_a_row_per_run(runs_dir):
    runs = list_runs(runs_dir, now=NOW)
    table = render_runs_table(runs)
    assert [c.header for c in table.columns] == ["run", "status", "env steps", "return", "norm", "sampled", "ep", "age"]
    assert table.row_count == 5
    text = _render(table)
    line = next(ln for ln in text.splitlines() if "gail__seals-CartPole-v0__s0__A" in ln)
    # The final evaluation (argmax 0.96, sampled 0.46, 10 episodes), not the last round's 0.50.
    assert line.split() == ["gail__seals-CartPole-v0__s0__A", "finished", "2,048", "480.0", "0.96", "0.46", "10", "1h"]
    assert "0.50" not in line and "270.0" not in line
    failed = next(ln for ln in text.splitlines() if "eval__CartPole-v1__s0__D" in ln)
    assert "failed" in failed and "—" in failed


def test_runs_table_fits_100_columns_with_one_name_column(runs_dir):
    text = _render(render_runs_table(list_runs(runs_dir, now=NOW), root=runs_dir), width=100)
    assert max(len(line) for line in text.splitlines()) <= 100
    assert text.count("gail__seals-CartPole-v0__s0__A") == 1  # one identifying column, never folded here
    assert str(runs_dir) not in text


# --- configs: flatten, differ, group ------------------------------------------------------


def test_flatten_and_differing_keys():
    flat = flatten_config({"a": {"b": {"c": 1}, "l": [1, 2]}, "e": {}, "s": None})
    assert flat == {"a.b.c": 1, "a.l": [1, 2], "e": {}, "s": None}
    configs = [{"x": 1, "y": [1, 2], "z": "p"}, {"x": 1, "y": [1, 2], "z": "q"}, {"x": 1, "y": [1, 3], "z": "p", "w": 0}]
    assert differing_keys(configs) == ["y", "z", "w"]


def test_group_runs_two_seeds_and_another_learning_rate(tmp_path):
    s0 = make_run(tmp_path, "gail__a__s0", set_={"seed": 0})
    s1 = make_run(tmp_path, "gail__a__s1", set_={"seed": 1})
    lr = make_run(tmp_path, "gail__a__s0_lr", set_={"seed": 0, "gail.ppo.learning_rate": 0.0003})
    groups = group_runs([s0, lr, s1])
    assert [g.run_dirs for g in groups] == [(s0, s1), (lr,)]
    assert groups[0].label == "ppo.learning_rate=0.001 (2 seeds)"
    assert groups[1].label == "ppo.learning_rate=0.0003 (seed 0)"


def test_group_runs_keeps_stages_apart_and_labels_a_single_group(tmp_path):
    # The same config file drives every stage: an expert run is not a seed of a GAIL run.
    expert = make_run(tmp_path, "expert__a__s0", stage="expert")
    gail = make_run(tmp_path, "gail__a__s1", stage="gail", set_={"seed": 1})
    assert [g.label for g in group_runs([expert, gail])] == ["expert (seed 0)", "gail (seed 1)"]
    gail2 = make_run(tmp_path, "gail__a__s2", stage="gail", set_={"seed": 2})
    assert [g.label for g in group_runs([gail, gail2])] == ["gail seals/CartPole-v0 (2 seeds)"]


# --- plot_runs ----------------------------------------------------------------------------


@pytest.fixture
def figures(monkeypatch):
    """The matplotlib figures plot_runs saves, to look at what it drew."""
    from matplotlib.figure import Figure

    saved = []
    original = Figure.savefig

    def spy(self, *args, **kwargs):
        saved.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    return saved


def _labelled(ax) -> dict[str, Any]:
    return {line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")}


def _assert_png_not_blank(path: Path) -> tuple[int, int]:
    import matplotlib.image as mpimg
    import numpy as np

    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    img = mpimg.imread(path)
    assert float(np.std(img[..., :3])) > 0.05  # lines and text, not one flat colour
    return img.shape[0], img.shape[1]


def test_plot_gail_runs_grouped_writes_a_png(tmp_path, figures):
    s0 = make_run(tmp_path, "gail__a__s0", set_={"seed": 0}, rows=gail_rows([40.0, None, 270.0]))
    s1 = make_run(tmp_path, "gail__a__s1", set_={"seed": 1}, rows=gail_rows([132.0, None, 362.0]))
    lr = make_run(tmp_path, "gail__a__s0_lr", set_={"gail.ppo.learning_rate": 0.0003}, rows=gail_rows([40.0, None, 40.0]))
    out = plot_runs([s0, s1, lr], tmp_path / "plots" / "curves.png", group=True)
    assert out == tmp_path / "plots" / "curves.png"
    height, width = _assert_png_not_blank(out)
    assert height >= width  # three panels stacked (one panel is wide)
    assert sorted(p.name for p in out.parent.iterdir()) == ["curves.png"]  # no temporary left behind

    [fig] = figures
    ax, ax_loss, ax_acc = fig.axes
    assert "normalized score" in ax.get_ylabel()
    assert "loss" in ax_loss.get_ylabel() and "accuracy" in ax_acc.get_ylabel()
    assert ax_acc.get_xlabel().startswith("environment steps")
    lines = _labelled(ax)
    assert set(lines) == {"ppo.learning_rate=0.001 (2 seeds)", "ppo.learning_rate=0.0003 (seed 0)", "expert (1.0)", "random (0.0)"}
    mean = lines["ppo.learning_rate=0.001 (2 seeds)"]
    # The round without evaluation is skipped; the seeds' normalized scores (0, 0.5) and (0.2, 0.7) average.
    assert list(mean.get_xdata()) == [0, 1024]
    assert list(mean.get_ydata()) == pytest.approx([0.1, 0.6])
    assert len(ax.collections) == 1  # one min-max band: the single-run group has none
    assert list(lines["expert (1.0)"].get_ydata()) == [1.0, 1.0]
    assert list(lines["random (0.0)"].get_ydata()) == [0.0, 0.0]
    assert len(ax_acc.get_lines()) >= 4  # expert and generator accuracy for both groups


def test_grouped_seeds_of_different_lengths_average_where_they_overlap(tmp_path, figures):
    # A seed still running (or killed early) must not drag the mean with a clamped last value.
    short = make_run(tmp_path, "gail__a__s0", rows=gail_rows([40.0, 270.0]))
    long = make_run(tmp_path, "gail__a__s1", set_={"seed": 1}, rows=gail_rows([132.0, 362.0, 500.0]))
    plot_runs([short, long], tmp_path / "c.png", group=True)
    mean = _labelled(figures[0].axes[0])["gail seals/CartPole-v0 (2 seeds)"]
    assert list(mean.get_xdata()) == [0, 512]
    assert list(mean.get_ydata()) == pytest.approx([0.1, 0.6])


def test_plot_one_line_per_run_labelled_by_what_differs(tmp_path, figures):
    a = make_run(tmp_path, "gail__a__s0", rows=gail_rows([40.0, None, 270.0]))
    b = make_run(tmp_path, "gail__a__s1", set_={"seed": 1}, rows=gail_rows([40.0, 500.0]))
    plot_runs([a, b], tmp_path / "c.png")
    labels = set(_labelled(figures[0].axes[0]))
    assert {"seed 0", "seed 1"} <= labels  # only what differs between the two runs
    assert len(figures[0].axes[0].collections) == 0


def test_plot_returns_with_reference_lines_when_a_reference_is_unknown(tmp_path, figures):
    run = make_run(tmp_path, "expert__a__s0", stage="expert", set_={"references.random_return": None},
                   columns=EXPERT_COLUMNS,
                   rows=[{"n_env_steps": 0, "return_mean": 20.0, "normalized_score": "nan"},
                         {"n_env_steps": 1000, "return_mean": 300.0, "normalized_score": "nan"}])
    out = plot_runs([run], tmp_path / "e.png")
    height, width = _assert_png_not_blank(out)
    assert width > height  # no discriminator panels for an expert
    [ax] = figures[0].axes
    assert "return" in ax.get_ylabel()
    lines = _labelled(ax)
    assert set(lines) == {"expert seals/CartPole-v0 seed 0", "expert return (500)"}
    assert list(lines["expert seals/CartPole-v0 seed 0"].get_ydata()) == [20.0, 300.0]


def test_plot_episode_runs_use_their_return_column(tmp_path, figures):
    run = make_run(tmp_path, "eval__a__s0", stage="eval", columns=EPISODE_COLUMNS,
                   rows=[{"episode": 0, "n_env_steps": 500, "return": 30.0, "normalized_score": 0.1}])
    plot_runs([run], tmp_path / "r.png", y="return_mean")
    assert list(_labelled(figures[0].axes[0])["eval seals/CartPole-v0 seed 0"].get_ydata()) == [30.0]


def test_plot_refusals(tmp_path):
    run = make_run(tmp_path, "gail__a__s0", rows=gail_rows([40.0]))
    no_metrics = make_run(tmp_path, "gail__a__s1")
    (tmp_path / "plain").mkdir()
    with pytest.raises(UsageError, match=r"curves\.pdf: expected a file name ending in \.png"):
        plot_runs([run], tmp_path / "curves.pdf")
    with pytest.raises(UsageError, match=rf"^{tmp_path / 'plain'}: not a gailctl run folder"):
        plot_runs([run, tmp_path / "plain"], tmp_path / "c.png")
    with pytest.raises(UsageError, match=rf"^{tmp_path / 'gone'}: no such run folder"):
        plot_runs([tmp_path / "gone"], tmp_path / "c.png")
    with pytest.raises(UsageError, match=rf"^{no_metrics}: no metrics.csv"):
        plot_runs([no_metrics], tmp_path / "c.png")
    with pytest.raises(UsageError, match=r"y = 'reward': no such column in metrics.csv; expected one of .*disc_loss"):
        plot_runs([run], tmp_path / "c.png", y="reward")
    with pytest.raises(UsageError, match="no run folders given"):
        plot_runs([], tmp_path / "c.png")
    assert not (tmp_path / "c.png").exists() and not (tmp_path / "curves.pdf").exists()


def test_plot_refuses_runs_with_nothing_to_draw(tmp_path):
    run = make_run(tmp_path, "gail__a__s0", rows=gail_rows([None, None]))
    with pytest.raises(UsageError, match="nothing to plot: no normalized_score values in the metrics.csv of gail__a__s0"):
        plot_runs([run], tmp_path / "c.png")


def test_gail_curve_png_writes_into_the_run(tmp_path):
    run = make_run(tmp_path, "gail__a__s0", rows=gail_rows([40.0, None, 270.0]))
    assert gail_curve_png(run) == run / "curves.png"
    _assert_png_not_blank(run / "curves.png")


def test_gail_curve_png_never_fails_a_run(tmp_path, caplog):
    run = make_run(tmp_path, "gail__a__s0")  # no metrics.csv
    with caplog.at_level(logging.WARNING, logger="gailctl.report.curves"):
        assert gail_curve_png(run) is None
    assert "no curves.png" in caplog.text and "metrics.csv" in caplog.text
    assert not (run / "curves.png").exists()


# --- compare_runs ---------------------------------------------------------------------------


def test_compare_columns_are_exactly_the_keys_that_differ(tmp_path):
    a = make_run(tmp_path, "gail__a__s0", summary=GAIL_FINAL)
    b = make_run(tmp_path, "gail__a__s1", set_={"seed": 1}, summary=GAIL_FINAL)
    c = make_run(tmp_path, "gail__a__s0_lr", set_={"gail.ppo.learning_rate": 0.0003, "gail.demos": "/data/other",
                                                    "gail.n_demos": 4}, status="running")
    columns, rows = compare_runs([a, b, c])
    assert columns == SCORE_COLUMNS + ["seed", "gail.demos", "gail.ppo.learning_rate", "gail.n_demos"]
    assert [r["run"] for r in rows] == ["gail__a__s0", "gail__a__s1", "gail__a__s0_lr"]
    assert rows[0] == {
        "run": "gail__a__s0", "stage": "gail", "algorithm": "gail", "status": "finished", "n_env_steps": 2048, "wall_s": 12.5,
        "final_episodes": 10, "final_deterministic": True, "return_mean": 480.0, "return_std": 4.0, "normalized_score": 0.96,
        "sampled_normalized_score": 0.46, "last_round_normalized_score": 0.5, "last_round_episodes": 5,
        "seed": 0, "gail.demos": "/data/demos", "gail.ppo.learning_rate": 0.001}
    assert rows[2]["gail.n_demos"] == 4 and "gail.n_demos" not in rows[1]
    assert rows[2]["return_mean"] is None and rows[2]["status"] == "running"
    json.dumps(rows, allow_nan=False)


def test_compare_identical_configs_shows_scores_only(tmp_path):
    a = make_run(tmp_path, "gail__a__A", summary=GAIL_FINAL)
    b = make_run(tmp_path, "gail__a__B")
    assert compare_runs([a, b])[0] == SCORE_COLUMNS


def test_compare_eval_runs_by_the_policy_they_scored(tmp_path):
    # Relative policy paths are resolved from the `cd` in command.txt, so the same file matches.
    rel = make_run(tmp_path, "eval__a__A", stage="eval", cwd="/srv/project", summary={"policy": "experts/m.zip", "return_mean": 500.0})
    abs_ = make_run(tmp_path, "eval__a__B", stage="eval", summary={"policy": "/srv/project/experts/m.zip", "return_mean": 500.0})
    rnd = make_run(tmp_path, "eval__a__C", stage="eval", summary={"policy": "random", "return_mean": 30.0})
    assert compare_runs([rel, abs_])[0] == SCORE_COLUMNS
    columns, rows = compare_runs([rel, rnd])
    assert columns == SCORE_COLUMNS + ["input.policy"]
    assert [r["input.policy"] for r in rows] == ["/srv/project/experts/m.zip", "random"]


def test_compare_resolves_policies_from_a_cd_relative_to_the_run_folder(tmp_path):
    # command.txt names the working folder relative to the run folder: `cd ../.. && gailctl eval ...`
    (tmp_path / "proj" / "runs").mkdir(parents=True)
    rel = make_run(tmp_path / "proj" / "runs", "eval__a__A", stage="eval", cwd="../..",
                   summary={"policy": "experts/m.zip", "return_mean": 500.0})
    abs_ = make_run(tmp_path, "eval__a__B", stage="eval", summary={"policy": str(tmp_path / "proj" / "experts" / "m.zip"),
                                                                  "return_mean": 500.0})
    assert compare_runs([rel, abs_])[0] == SCORE_COLUMNS  # the same policy: no input.policy column


def test_compare_table_renders_scores_and_differences(tmp_path):
    a = make_run(tmp_path, "gail__a__s0", summary=GAIL_FINAL)
    b = make_run(tmp_path, "gail__a__s1", set_={"gail.ppo.learning_rate": 0.0003, "gail.n_demos": None})
    scores, keys = render_compare_table(*compare_runs([a, b]))
    assert [c.header for c in keys.columns] == ["key", "#1", "#2"]
    text = _render([scores, keys])
    row_a = next(ln for ln in text.splitlines() if "gail__a__s0 " in ln)
    # The final evaluation (argmax ± std, sampled, episodes), and the last round under its own name.
    assert row_a.split()[1:] == ["gail__a__s0", "2,048", "12s", "480.0", "0.96", "0.46", "10", "0.50"]
    assert "last per-round evaluation (5 episodes)" in " ".join(text.split())
    lr = next(ln for ln in text.splitlines() if ln.strip().startswith("gail.ppo.learning_rate"))
    assert lr.split()[1:] == ["0.001", "0.0003"]
    nd = next(ln for ln in text.splitlines() if ln.strip().startswith("gail.n_demos"))
    assert nd.split()[1:] == ["—", "null"]  # a has no n_demos key; b sets it to null


def test_compare_table_fits_100_columns_with_many_differing_keys(tmp_path):
    runs = [make_run(tmp_path, f"gail__seals-CartPole-v0__s{i}__20261127-19365{i}", summary=GAIL_FINAL,
                     set_={"seed": i, **{f"gail.ppo.key_{k}": i * k for k in range(12)}}) for i in range(3)]
    text = _render(render_compare_table(*compare_runs(runs)), width=100)
    assert max(len(line) for line in text.splitlines()) <= 100
    assert all(text.count(r.name) == 1 for r in runs)  # one name column, not folded at 100 columns


def test_compare_keeps_each_differing_key_on_one_line(tmp_path):
    """Long values fold in their run's column; the key column, what a reader scans, never wraps."""
    long = "[" + ", ".join(["256"] * 12) + "]"
    runs = [make_run(tmp_path, f"expert__seals-CartPole-v0__s{i}__20261127-19365{i}", summary=GAIL_FINAL,
                     set_={"expert.total_timesteps": 150_016 * (i + 1), "gail.reward_net.hid_sizes": long + str(i)})
            for i in range(5)]
    text = _render(render_compare_table(*compare_runs(runs)), width=80)
    lines = text.splitlines()
    for key in ("expert.total_timesteps", "gail.reward_net.hid_sizes"):
        assert any(line.lstrip("│ ").startswith(key + " ") for line in lines), text


def test_compare_refusals(tmp_path):
    (tmp_path / "plain").mkdir()
    with pytest.raises(UsageError, match=rf"^{tmp_path / 'plain'}: not a gailctl run folder"):
        compare_runs([tmp_path / "plain"])
    with pytest.raises(UsageError, match="no run folders given"):
        compare_runs([])
    bad = make_run(tmp_path, "gail__bad")
    (bad / "config.yaml").write_text("seed: [1,\n")
    with pytest.raises(UsageError, match=rf"^{bad / 'config.yaml'}: invalid YAML"):
        compare_runs([bad])


# --- start-up cost --------------------------------------------------------------------------


def test_import_stays_light():
    heavy = ["matplotlib", "torch", "stable_baselines3", "imitation", "rich"]
    modules = "gailctl.report.run_info, gailctl.report.grouping, gailctl.report.curves, gailctl.report.compare"
    code = f"import sys, {modules}; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"



def test_bc_runs_show_no_env_steps(tmp_path):
    """BC learns from demonstrations only: its `0 env steps` would read as a run that never started."""
    make_run(tmp_path, "bc__seals-CartPole-v0__s0__A", stage="bc",
             summary={"n_env_steps": 0, "eval_episodes": 10, "eval_deterministic": True,
                      "final": {"return_mean": 500.0, "return_std": 0.0, "normalized_score": 1.0}})
    [info] = list_runs(tmp_path, now=NOW)
    assert (info.algorithm, info.final_episodes, info.final_deterministic) == ("bc", 10, True)
    line = next(ln for ln in _render(render_runs_table([info])).splitlines() if "bc__" in ln)
    assert line.split()[1:5] == ["finished", "—", "500.0", "1.00"]
