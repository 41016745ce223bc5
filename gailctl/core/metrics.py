"""One metrics writer: CSV + JSONL + TensorBoard, each row flushed as soon as it is written."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any, Callable, Optional

# TensorBoard tags group keys like stable-baselines3's logger: eval/, disc/, time/, train/.
_GROUPS = {
    "return": "eval",
    "normalized": "eval",
    "episode": "eval",
    "disc": "disc",
    "wall": "time",
    "fps": "time",
}


def tensorboard_tag(key: str) -> str:
    group = next((g for prefix, g in _GROUPS.items() if key.startswith(prefix)), "train")
    return f"{group}/{key}"


class MetricsWriter:
    """Append rows to `metrics.csv` and `metrics.jsonl`, and scalars to TensorBoard.

    The CSV header is fixed by `columns`, so every row of a run has the same columns and a
    resumed run keeps appending under the same header. Rows are flushed one by one: a killed
    run keeps every row written before it died. A resume passes `purge_step` (the checkpoint's
    step + 1): TensorBoard then hides the events at that step and later from the earlier
    invocation, as the metric rows after the checkpoint are dropped.
    """

    def __init__(self, run_dir: Path, *, columns: list[str], step_key: str = "n_env_steps", tensorboard: bool = True,
                 purge_step: Optional[int] = None):
        self.run_dir = Path(run_dir)
        self.columns = list(columns)
        self.step_key = step_key
        csv_path = self.run_dir / "metrics.csv"
        new = not csv_path.exists()
        self._csv_fh = open(csv_path, "a", newline="", encoding="utf-8")
        self._csv = csv.DictWriter(self._csv_fh, fieldnames=self.columns, extrasaction="raise")
        if new:
            self._csv.writeheader()
            self._csv_fh.flush()
        self._jsonl_fh = open(self.run_dir / "metrics.jsonl", "a", encoding="utf-8")
        self._tb: Optional[Any] = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(log_dir=str(self.run_dir / "tb"), purge_step=purge_step)

    def write(self, row: dict[str, Any]) -> None:
        missing = [c for c in self.columns if c not in row]
        assert not missing, f"metrics row lacks {missing}"
        # One convention for "not measured" (NaN, None, ""): an empty CSV cell, null in JSONL.
        strict = {k: None if (isinstance(v, float) and math.isnan(v)) or v == "" else v for k, v in row.items()}
        self._csv.writerow({k: "" if v is None else v for k, v in strict.items()})
        self._csv_fh.flush()
        self._jsonl_fh.write(json.dumps(strict, allow_nan=False) + "\n")
        self._jsonl_fh.flush()
        if self._tb is not None:
            step = int(row[self.step_key])
            for key, value in row.items():
                if key != self.step_key and isinstance(value, (int, float)) and not isinstance(value, bool):
                    if not math.isnan(float(value)):
                        self._tb.add_scalar(tensorboard_tag(key), float(value), step)
            self._tb.flush()

    def close(self) -> None:
        self._csv_fh.close()
        self._jsonl_fh.close()
        if self._tb is not None:
            self._tb.close()

    def __enter__(self) -> "MetricsWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def rewrite_metrics(run_dir: Path, *, keep: Callable[[dict[str, str]], bool]) -> int:
    """Keep only the rows `keep` accepts in metrics.csv and metrics.jsonl; returns rows dropped."""
    from gailctl.core.runs import atomic_write_text

    run_dir = Path(run_dir)
    csv_path, jsonl_path = run_dir / "metrics.csv", run_dir / "metrics.jsonl"
    if not csv_path.exists():
        return 0
    with open(csv_path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames or [], list(reader)
    kept = [r for r in rows if None not in r.values() and keep(r)]  # a row cut by a kill is incomplete
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header)
    writer.writeheader()
    writer.writerows(kept)
    atomic_write_text(csv_path, out.getvalue())
    if jsonl_path.exists():
        lines = [ln for ln in jsonl_path.read_text(encoding="utf-8").splitlines() if ln.strip()]
        json_rows = []
        for ln in lines:
            try:
                json_rows.append(json.loads(ln))
            except ValueError:  # a line cut short by a kill
                continue
        kept_json = [r for r in json_rows if keep({k: "" if v is None else str(v) for k, v in r.items()})]
        atomic_write_text(jsonl_path, "".join(json.dumps(r) + "\n" for r in kept_json))
    return len(rows) - len(kept)


def read_metrics(run_dir: Path) -> list[dict[str, str]]:
    with open(Path(run_dir) / "metrics.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))
