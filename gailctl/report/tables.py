"""The one table writer: markdown and CSV text for result files, and rich tables in one house style.

Every report gailctl writes or prints goes through here (`runs`, `compare`, bench's results.md
and evaluations.csv; sweep and tune are to follow), so a table reads the same wherever it
appears. rich is imported only by `rich_table`.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence, Union

from gailctl.core.runs import atomic_write_text

if TYPE_CHECKING:
    from rich.table import Table

Row = Union[Sequence[Any], Mapping[str, Any]]
"""A table row: values in column order, or a mapping from column name to value (missing: empty)."""


def _cells(columns: Sequence[str], row: Row) -> list[Any]:
    if isinstance(row, Mapping):
        return [row.get(c, "") for c in columns]
    return list(row)


def columns_of(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """The union of the rows' keys, in first-seen order."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    return list(columns)


def markdown_table(columns: Sequence[str], rows: Iterable[Row]) -> str:
    """A GitHub markdown table; `|` inside a cell is escaped so it cannot split the cell."""

    def esc(value: Any) -> str:
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(esc(c) for c in columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(esc(v) for v in _cells(columns, row)) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def csv_text(columns: Sequence[str], rows: Iterable[Row]) -> str:
    """CSV with a header line, `\\n` line ends, full precision (numbers as Python writes them)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(_cells(columns, row))
    return buf.getvalue()


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Row]) -> Path:
    """`csv_text` written atomically (a reader never sees half a file)."""
    atomic_write_text(Path(path), csv_text(columns, rows))
    return Path(path)


def rich_table(title: str, **options: Any) -> "Table":
    """A rich Table in gailctl's style: a rule under the header, no outer frame, title on the left."""
    from rich import box
    from rich.table import Table

    style: dict[str, Any] = {"box": box.SIMPLE_HEAD, "padding": (0, 1), "collapse_padding": True, "show_edge": False,
                             "title_justify": "left"}
    return Table(title=title, **{**style, **options})
