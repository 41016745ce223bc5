"""imitation's own format: `imitation.data.serialize` (a Hugging Face datasets folder, Arrow files),
plus gailctl's `gailctl_demos.json` beside them (imitation ignores it).

imitation stores each step's `infos` as jsonpickle text and decodes it on access; jsonpickle can
build arbitrary objects, so a crafted folder could run code there. GAIL does not need infos: they
are dropped before anything reads them (the decoding is lazy), and written as empty.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Optional, Sequence

from gailctl.core.errors import UsageError


def read(folder: Path, *, n_demos: Optional[int]) -> tuple[list[Any], int]:
    """The first `n_demos` trajectories (all when None), infos dropped, and how many the folder holds."""
    from imitation.data import serialize

    try:
        seq = serialize.load(folder)
        n = len(seq)
        trajs = [dataclasses.replace(seq[i], infos=None) for i in range(min(n, n_demos or n))]
    except Exception as exc:  # datasets/pyarrow raise many types for a damaged folder
        raise UsageError(f"--demos {folder}: cannot load demonstrations ({type(exc).__name__}: {str(exc)[:200]})") from None
    return trajs, n


def write(trajs: Sequence[Any], folder: Path, *, meta: Optional[dict[str, Any]]) -> None:
    """The folder whole or not at all, with `gailctl_demos.json` when `meta` is given."""
    import datasets
    from imitation.data import serialize

    from gailctl.core.demos_meta import write_demos_meta
    from gailctl.core.runs import atomic_path

    datasets.disable_progress_bars()
    with atomic_path(Path(folder), is_dir=True) as tmp:
        serialize.save(tmp, trajs)
        if meta is not None:
            write_demos_meta(tmp, meta)
