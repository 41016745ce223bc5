"""Where demonstrations come from: one resolver for every form `--demos`, `gail.demos` and `bc.demos` take.

- a `gailctl record` run folder, or a demonstrations folder in imitation's format
  (`imitation.data.serialize.save`: a Hugging Face datasets folder);
- `minari:DATASET_ID`: a dataset in the local Minari store (`MINARI_DATASETS_PATH`, else
  `~/.minari/datasets`, as Minari itself resolves it); nothing is ever downloaded;
- `FILE.npz`: plain arrays, the original GAIL code's `obs`/`acs`/`ep_rets` or `obs`/`acts` with
  episode ends (`gailctl.rl.demo_formats.npz`);
- `FILE.hdf5` (or `.h5`): D4RL's `observations`/`actions`/`rewards`/`terminals`/`timeouts`.

`resolve_demos` checks what can be checked without reading any data and returns a `DemoSource`;
`gailctl.rl.demo_formats.read_demos` reads every kind into imitation's trajectories;
`check_demos_env` applies the same env check to every kind, from what the source says about
itself (`core.demos_meta.source_meta`). Stdlib only at import: the CLI resolves before torch loads.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

from gailctl.core.errors import UsageError

MINARI_SCHEME = "minari:"
NPZ_SUFFIXES = (".npz",)
HDF5_SUFFIXES = (".hdf5", ".h5")
FORMATS = ("imitation", "minari", "npz", "hdf5")
"""Every kind of demonstrations gailctl reads (and `gailctl convert` writes)."""
DEMOS_METAVAR = "DEMOS"
DEMOS_HELP = ("Record run folder, demonstrations folder (imitation's format), FILE.npz, FILE.hdf5 (D4RL layout) "
              "or minari:DATASET_ID")
ALLOW_ENV_MISMATCH = "--allow-env-mismatch"


@dataclass(frozen=True)
class DemoSource:
    """Resolved demonstrations: their `format` (one of FORMATS) and `location`, an absolute file or
    folder path, or for Minari the dataset id. `spec` is how `--demos` and the config name them."""

    format: str
    location: str

    @property
    def spec(self) -> str:
        return f"{MINARI_SCHEME}{self.location}" if self.format == "minari" else self.location

    def __str__(self) -> str:
        return self.spec

    @property
    def path(self) -> Path:
        """The folder or file holding the data (a Minari dataset's folder in the store)."""
        return minari_dataset_dir(self.location) if self.format == "minari" else Path(self.location)

    def shown(self, base: Optional[Union[str, Path]] = None) -> str:
        """As a command line or report names it: a path relative to `base` when inside it."""
        from gailctl.core.paths import shown_path

        return self.spec if self.format == "minari" else shown_path(self.location, base=base)


def minari_store() -> Path:
    """The local Minari store, as Minari 0.4 finds it: `MINARI_DATASETS_PATH`, else ~/.minari/datasets."""
    given = os.environ.get("MINARI_DATASETS_PATH")
    return Path(given).expanduser() if given else Path.home() / ".minari" / "datasets"


def minari_dataset_dir(dataset_id: str) -> Path:
    return minari_store() / dataset_id


MINARI_DATA_FILE = Path("data") / "main_data.hdf5"
"""Where a Minari 0.4 dataset keeps its episodes and metadata, inside its folder in the store."""


def check_minari_id(dataset_id: str, *, flag: str) -> str:
    """A dataset id that names a folder inside the store and nothing outside it."""
    parts = dataset_id.split("/")
    if not dataset_id or dataset_id.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise UsageError(f"{flag} {MINARI_SCHEME}{dataset_id}: expected a Minari dataset id such as cartpole-expert-v0")
    return dataset_id


def local_minari_ids() -> list[str]:
    """Dataset ids in the local store (folders holding Minari's data file), sorted."""
    store = minari_store()
    if not store.is_dir():
        return []
    return sorted(str(p.parent.parent.relative_to(store)) for p in store.glob(f"**/{MINARI_DATA_FILE}")
                  if not any(part.startswith(".") for part in p.relative_to(store).parts))


def _resolve_minari(dataset_id: str, *, flag: str) -> DemoSource:
    check_minari_id(dataset_id, flag=flag)
    if not (minari_dataset_dir(dataset_id) / MINARI_DATA_FILE).is_file():
        here = local_minari_ids()
        listed = f"; it holds {', '.join(here[:8])}{' ...' if len(here) > 8 else ''}" if here else "; it holds none"
        raise UsageError(f"{flag} {MINARI_SCHEME}{dataset_id}: no such dataset in the local Minari store {minari_store()} "
                         f"(MINARI_DATASETS_PATH; nothing is downloaded){listed}")
    return DemoSource("minari", dataset_id)


def resolve_demos(value: Union[str, Path], *, flag: str) -> DemoSource:
    """Any form of demonstrations -> a DemoSource whose data exists; nothing is read yet.

    `flag` names where the value came from in errors (`--demos`, `gail.demos =`).
    """
    text = str(value)
    if text.startswith(MINARI_SCHEME):
        return _resolve_minari(text[len(MINARI_SCHEME):], flag=flag)
    path = Path(text).expanduser()
    if not path.exists():
        raise UsageError(f"{flag} {path}: no such file or folder")
    if path.is_file():
        if path.suffix.lower() in NPZ_SUFFIXES:
            return DemoSource("npz", str(path.resolve()))
        if path.suffix.lower() in HDF5_SUFFIXES:
            return DemoSource("hdf5", str(path.resolve()))
        raise UsageError(f"{flag} {path}: expected a record run folder, a demonstrations folder, a .npz or .hdf5 file, "
                         f"or {MINARI_SCHEME}DATASET_ID")
    if (path / "demos").is_dir():
        path = path / "demos"
    if (path / MINARI_DATA_FILE).is_file():
        raise UsageError(f"{flag} {path}: a Minari dataset folder; name it as {MINARI_SCHEME}{path.name} "
                         f"with MINARI_DATASETS_PATH={path.parent}")
    if not (path / "dataset_info.json").is_file():
        raise UsageError(
            f"{flag} {path}: not a demonstrations folder (no dataset_info.json); "
            "expected what `gailctl record` writes or imitation.data.serialize.save"
        )
    return DemoSource("imitation", str(path.resolve()))


def as_source(value: Union[DemoSource, str, Path], *, flag: str = "--demos") -> DemoSource:
    """A DemoSource as is; any other form through `resolve_demos` (the Python API takes paths too)."""
    return value if isinstance(value, DemoSource) else resolve_demos(value, flag=flag)


def demos_argument(value: Optional[Union[str, Path]]) -> Optional[str]:
    """A `--demos` value made independent of the working folder (absolute path; a named source as is)."""
    if value is None:
        return None
    text = str(value)
    return text if text.startswith(MINARI_SCHEME) else str(Path(text).expanduser().absolute())


# --- the env check, the same for every kind ----------------------------------------------


def recorded_env_id(source: Union[DemoSource, str, Path]) -> Optional[str]:
    """The env the demonstrations say they were recorded on, when they say: their metadata
    (`core.demos_meta.source_meta`), else, for the `demos/` folder of a `gailctl record` run, the
    run's summary.json. None when they name none. Never raises (the doctor reads old runs)."""
    from gailctl.core.demos_meta import source_meta

    try:
        src = source if isinstance(source, DemoSource) else resolve_demos(source, flag="demos")
        meta = source_meta(src)
    except UsageError:
        return None
    if meta is not None:
        return meta["env_id"]
    if src.format != "imitation":
        return None
    try:
        summary = json.loads((src.path.parent / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    env_id = summary.get("env_id") if isinstance(summary, dict) and summary.get("stage") == "record" else None
    return env_id if isinstance(env_id, str) else None


def check_demos_env(source: DemoSource, *, env_id: str, allow: bool, flag: str = "--demos") -> Optional[str]:
    """Refuse demonstrations recorded on another env (shapes alone can match: CartPole-v1 and
    seals/CartPole-v0), unless `allow`; then return a warning to print. Demonstrations that name
    no env get a warning saying what is checked instead (their shapes, against the env, when it
    is built). None when they name `env_id`."""
    recorded = recorded_env_id(source)
    if recorded is None:
        return (f"{flag} {source}: names no env ({_why_unnamed(source)}): "
                f"its observation and action shapes are checked against {env_id}, not that it was recorded there")
    if recorded == env_id:
        return None
    text = f"{flag} {source}: recorded on {recorded}, but env.id = {env_id}"
    if not allow:
        raise UsageError(f"{text}; pass {ALLOW_ENV_MISMATCH} to use them anyway")
    return f"{text} ({ALLOW_ENV_MISMATCH})"


def _why_unnamed(source: DemoSource) -> str:
    from gailctl.core.demos_meta import META_FILE, META_KEY

    return {"imitation": f"no {META_FILE}, so not written by `gailctl record`",
            "minari": "its dataset has no env_spec",
            "npz": f"no {META_KEY} array, so not written by `gailctl convert`",
            "hdf5": f"no {META_KEY} attribute, so not written by `gailctl convert`"}[source.format]

