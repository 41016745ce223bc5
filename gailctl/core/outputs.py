"""The one rule for files the user names on the command line (`plot -o`, `eval --video`).

gailctl never overwrites a file the user has unless told to: an existing file is refused
unless the command got `--overwrite`. Everything else gailctl writes goes into a new run
folder, and default names (`curves.png`) pick a free name instead (`curves_2.png`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from gailctl.core.errors import UsageError

OVERWRITE_HELP = "Replace FILE if it exists (without this, an existing file is refused)."


def output_file(path: Path, *, flag: str, suffixes: Sequence[str], overwrite: bool = False) -> Path:
    """Check a user-named output file before any work starts; returns it unchanged.

    Args:
        path: the file the user gave.
        flag: how the user gave it (`--video`, `--out`), for the error message.
        suffixes: the endings the writer understands (`.png`; `.mp4`, `.gif`).
        overwrite: the command's `--overwrite`; without it an existing file is refused.
    """
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise UsageError(f"{flag} {path}: expected a file name ending in {' or '.join(suffixes)}")
    if path.is_dir():
        raise UsageError(f"{flag} {path}: is a folder; expected a {' or '.join(suffixes)} file name")
    if path.exists() and not overwrite:
        raise UsageError(f"{flag} {path}: already exists; pass --overwrite to replace it, or choose another name")
    if not path.parent.is_dir():
        raise UsageError(f"{flag} {path}: folder {path.parent} does not exist")
    return path


def free_name(path: Path) -> Path:
    """`curves.png`, or `curves_2.png`... : a default output name never overwrites a file."""
    n = 1
    candidate = Path(path)
    while candidate.exists():
        n += 1
        candidate = candidate.with_name(f"{Path(path).stem}_{n}{Path(path).suffix}")
    return candidate
