"""gailctl.core.metrics: CSV + JSONL (+ TensorBoard) rows, flushed as written, appendable."""

from __future__ import annotations

import csv
import json
import math

import pytest

from gailctl.core.metrics import MetricsWriter, read_metrics, tensorboard_tag

COLUMNS = ["round", "n_env_steps", "disc_loss", "return_mean", "normalized_score"]


def _row(i: int) -> dict:
    return {"round": i, "n_env_steps": 512 * i, "disc_loss": 0.5 / (i + 1), "return_mean": 10.0 * i, "normalized_score": 0.1 * i}


def _csv_lines(run_dir):
    return (run_dir / "metrics.csv").read_text().splitlines()


def test_header_once_and_rows_in_order(tmp_path):
    with MetricsWriter(tmp_path, columns=COLUMNS, tensorboard=False) as w:
        for i in range(3):
            w.write(_row(i))
    lines = _csv_lines(tmp_path)
    assert lines[0] == ",".join(COLUMNS)
    assert len(lines) == 4
    rows = read_metrics(tmp_path)
    assert [int(r["round"]) for r in rows] == [0, 1, 2]
    assert float(rows[2]["return_mean"]) == pytest.approx(20.0)
    jsonl = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert jsonl == [_row(i) for i in range(3)]


def test_rows_are_readable_before_close(tmp_path):
    w = MetricsWriter(tmp_path, columns=COLUMNS, tensorboard=False)
    try:
        assert _csv_lines(tmp_path) == [",".join(COLUMNS)]  # header on disk at once
        w.write(_row(1))
        # another reader (a plot, `tail -f`, a killed process's survivor) sees the row now
        assert len(read_metrics(tmp_path)) == 1
        assert json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[-1]) == _row(1)
        w.write(_row(2))
        assert [int(r["round"]) for r in read_metrics(tmp_path)] == [1, 2]
    finally:
        w.close()


def test_reopening_appends_without_a_second_header(tmp_path):
    with MetricsWriter(tmp_path, columns=COLUMNS, tensorboard=False) as w:
        w.write(_row(0))
    with MetricsWriter(tmp_path, columns=COLUMNS, tensorboard=False) as w:
        w.write(_row(1))
    lines = _csv_lines(tmp_path)
    assert lines.count(",".join(COLUMNS)) == 1
    assert [int(r["round"]) for r in read_metrics(tmp_path)] == [0, 1]
    assert len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 2


def test_unknown_column_is_refused(tmp_path):
    with MetricsWriter(tmp_path, columns=COLUMNS, tensorboard=False) as w:
        with pytest.raises(ValueError):
            w.write({**_row(0), "surprise": 1})


def test_not_measured_is_an_empty_cell_whether_given_as_empty_nan_or_none(tmp_path):
    """One convention for every stage (gail leaves evaluation cells empty; bc and eval pass NaN)."""
    with MetricsWriter(tmp_path, columns=COLUMNS, tensorboard=False) as w:
        w.write({**_row(1), "return_mean": "", "normalized_score": float("nan")})
        w.write({**_row(2), "return_mean": None, "normalized_score": 0.5})
    rows = read_metrics(tmp_path)
    assert [(r["return_mean"], r["normalized_score"]) for r in rows] == [("", ""), ("", "0.5")]
    assert "nan" not in (tmp_path / "metrics.csv").read_text()
    first = json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[0])
    assert first["return_mean"] is None and first["normalized_score"] is None


def test_jsonl_lines_are_strict_json(tmp_path):
    with MetricsWriter(tmp_path, columns=COLUMNS, tensorboard=False) as w:
        w.write({**_row(1), "normalized_score": float("nan")})  # what eval/record write without references

    def refuse(token):
        raise ValueError(f"not JSON: {token}")

    for line in (tmp_path / "metrics.jsonl").read_text().splitlines():
        json.loads(line, parse_constant=refuse)


@pytest.mark.parametrize(
    "key, tag",
    [
        ("return_mean", "eval/return_mean"),
        ("return_std", "eval/return_std"),
        ("normalized_score", "eval/normalized_score"),
        ("episode_len_mean", "eval/episode_len_mean"),
        ("disc_loss", "disc/disc_loss"),
        ("disc_acc_expert", "disc/disc_acc_expert"),
        ("wall_s", "time/wall_s"),
        ("fps", "time/fps"),
        ("round", "train/round"),
        ("length", "train/length"),
    ],
)
def test_tensorboard_tag_groups(key, tag):
    assert tensorboard_tag(key) == tag


@pytest.fixture(scope="module")
def event_accumulator():
    """Import torch's SummaryWriter and tensorboard's reader once (seconds of import, not test)."""
    pytest.importorskip("tensorboard")
    import torch.utils.tensorboard  # noqa: F401
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    return EventAccumulator


def test_tensorboard_events_file_with_grouped_tags(tmp_path, event_accumulator):
    with MetricsWriter(tmp_path, columns=COLUMNS, tensorboard=True) as w:
        w.write(_row(1))
        w.write({**_row(2), "normalized_score": float("nan")})  # NaN is skipped, not plotted
        events = list((tmp_path / "tb").glob("events.out.tfevents.*"))
        assert len(events) == 1 and events[0].stat().st_size > 0  # flushed before close
    acc = event_accumulator(str(tmp_path / "tb"))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert tags == {"train/round", "disc/disc_loss", "eval/return_mean", "eval/normalized_score"}
    steps = [e.step for e in acc.Scalars("eval/return_mean")]
    assert steps == [512, 1024]  # x axis is n_env_steps
    assert [e.step for e in acc.Scalars("eval/normalized_score")] == [512]
    # the CSV is still written alongside
    assert len(read_metrics(tmp_path)) == 2
    with open(tmp_path / "metrics.csv", newline="") as fh:
        assert next(csv.reader(fh)) == COLUMNS
