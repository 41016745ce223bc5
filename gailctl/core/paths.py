"""Where a path written in a config file points: relative to that file's folder.

As docker compose, Hydra and pytest do, a relative path inside a config file (`gail.demos:
../experts/cartpole/demos`) is read from the folder holding the file, so a config works from
any working directory and a shipped config finds its shipped experts. Paths given on the
command line (`--set gail.demos=...`, `--demos`, `--expert`) stay relative to the working
directory, as a shell user expects.

A config field is a path when its type is `ConfigPath`; `file_path_keys(Config)` finds them
all, so a later path key needs no change here. A value naming a source by its scheme
(`minari:DATASET_ID`, `hf:ORG/REPO`) is not a path and stays as written. Only pydantic-free
stdlib code lives here: config.py imports it, not the other way round.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Iterable, Iterator, Optional

from gailctl.core.errors import ConfigError


class _PathMarker:
    """Metadata tag on a config field: its value is a filesystem path."""

    def __repr__(self) -> str:
        return "ConfigPath"


PATH_FIELD = _PathMarker()
ConfigPath = Annotated[Optional[str], PATH_FIELD]
"""A config field holding a file or folder path (None when unset)."""


SOURCE_SCHEMES = ("minari:", "hf:")
"""Prefixes of values that name a source in a store, not a file: a Minari dataset, a Hugging Face Hub repo."""


def is_named_source(value: str) -> bool:
    """`minari:cartpole-expert-v0`, `hf:sb3/ppo-CartPole-v1`: resolved by their store, never against a folder."""
    return str(value).startswith(SOURCE_SCHEMES)


def file_path_keys(model: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Dotted keys (as tuples) of every `ConfigPath` field of a pydantic model and its sections."""
    for name, field in model.model_fields.items():
        if PATH_FIELD in field.metadata:
            yield (*prefix, name)
            continue
        ann = field.annotation
        if isinstance(ann, type) and hasattr(ann, "model_fields"):
            yield from file_path_keys(ann, (*prefix, name))


def resolve_in_file(value: str, *, key: str, config_file: Path, cwd: Optional[Path] = None) -> str:
    """A path written in `config_file`, made absolute against the file's folder.

    Raises ConfigError when it points nowhere there but would exist relative to the working
    directory (the meaning before paths followed the config file), naming both candidates.
    """
    path = Path(value).expanduser()
    if path.is_absolute() or is_named_source(value):
        return value
    folder = Path(config_file).absolute().parent
    here = Path(os.path.normpath(folder / path))
    old = Path(os.path.normpath((cwd or Path.cwd()) / path))
    if here != old and not here.exists() and old.exists():
        fix = os.path.relpath(old, folder)
        raise ConfigError(
            f"{config_file}: {key} = {value}: a path in a config file is relative to the file's folder, "
            f"so this is {here}, which does not exist; {old} (relative to the working directory) does: "
            f"write {key.rsplit('.', 1)[-1]}: {fix} (or an absolute path)"
        )
    return str(here)


def resolve_file_paths(data: dict[str, Any], *, keys: list[tuple[str, ...]], config_file: Path,
                       overridden: Iterable[str] = ()) -> None:
    """Make the relative path values of a config file's freshly parsed mapping absolute, in place.

    Keys under an `overridden` dotted key (a `--set`) are left alone: their file values are
    never used, so they cannot raise either.
    """
    overridden = tuple(overridden)
    for key in keys:
        dotted = ".".join(key)
        if any(dotted == o or dotted.startswith(o + ".") for o in overridden):
            continue
        node: Any = data
        for part in key[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            continue
        value = node.get(key[-1])
        if isinstance(value, str) and value:
            node[key[-1]] = resolve_in_file(value, key=dotted, config_file=config_file)


def resolve_cli_paths(overrides: dict[str, Any], *, keys: list[tuple[str, ...]], cwd: Optional[Path] = None) -> None:
    """Make the relative path values of `--set KEY=PATH` absolute against the working directory, in place."""
    wanted = {".".join(k) for k in keys}
    for dotted, value in overrides.items():
        if (dotted in wanted and isinstance(value, str) and value and not is_named_source(value)
                and not Path(value).expanduser().is_absolute()):
            overrides[dotted] = os.path.normpath((cwd or Path.cwd()) / Path(value).expanduser())


def shown_path(path: "os.PathLike[str] | str", *, base: "Optional[os.PathLike[str] | str]" = None) -> str:
    """`path` as a file meant to be shared names it (reports, command.txt): relative to `base`
    (default: the working folder) when it lies inside it, a shipped config by its name, else as given.

    Run folders keep their resolved absolute paths in config.yaml for `--resume`; what gailctl
    writes for people to read or copy elsewhere carries no absolute path of this machine unless
    the user typed one.
    """
    if is_named_source(str(path)):
        return str(path)
    given = Path(path)
    if not given.is_absolute():
        return str(given)
    here = Path(os.getcwd() if base is None else base).absolute()
    try:
        return str(given.relative_to(here)) or "."
    except ValueError:
        pass
    from gailctl.core.shipped import configs_dir

    shipped = configs_dir()
    if shipped is not None and given.parent in (shipped, shipped / "tune") and given.is_file():
        return given.stem
    return str(given)
