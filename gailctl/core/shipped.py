"""The configs and experts that ship with gailctl, found by name (`-c cartpole`).

They live in the repository's top-level `configs/` and `experts/`. The wheel carries copies in
`gailctl/_shipped/` (setup.py's build step puts them there); a source checkout or an editable
install reads the top-level folders themselves. Stdlib only at import (`-c NAME` is resolved
while Typer parses options); yaml and the config schema load when a config is described.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

PACKAGE_DIR = Path(__file__).resolve().parents[1]
"""The installed `gailctl/` package folder (this module lives in `gailctl/core/`)."""
SUFFIXES = (".yaml", ".yml")


def shipped_root() -> Optional[Path]:
    """The folder holding `configs/` and `experts/`: the wheel's copy, else the source tree's."""
    installed = PACKAGE_DIR / "_shipped"
    if (installed / "configs").is_dir():
        return installed
    source = PACKAGE_DIR.parent
    if (source / "configs").is_dir() and (source / "pyproject.toml").is_file():
        return source
    return None


def configs_dir() -> Optional[Path]:
    root = shipped_root()
    return None if root is None else root / "configs"


def config_names(sub: str = "") -> list[str]:
    """Names of the shipped configs (file stems), sorted; `sub="tune"` for the tune search spaces."""
    folder = configs_dir()
    if folder is None or not (folder / sub).is_dir():
        return []
    return sorted(p.stem for p in (folder / sub).iterdir() if p.suffix in SUFFIXES and p.is_file())


def shipped_config(name: str, sub: str = "") -> Optional[Path]:
    """The shipped config called `name` (with or without .yaml), or None."""
    folder = configs_dir()
    if folder is None or not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    for candidate in (name, *(name + s for s in SUFFIXES)):
        path = folder / sub / candidate
        if path.suffix in SUFFIXES and path.is_file():
            return path
    return None


def find_config(given: Optional[Path], sub: str = "") -> Optional[Path]:
    """`-c` as the user meant it: an existing file always wins, else a shipped config of that name
    (a folder called `cartpole` here does not hide the shipped `cartpole`).

    Anything else comes back unchanged, so that loading it reports the missing file.
    """
    if given is None or Path(given).is_file():
        return given
    return shipped_config(str(given), sub) or given


def complete_names(incomplete: str, sub: str = "") -> list[str]:
    """Shell completion for `-c`: shipped config names, then YAML files and folders here."""
    import glob
    import os

    names = [n for n in config_names(sub) if n.startswith(incomplete)]
    files = sorted(p + ("/" if os.path.isdir(p) else "") for p in glob.glob(glob.escape(incomplete) + "*")
                   if os.path.isdir(p) or p.endswith(SUFFIXES))
    return names + files


@dataclass(frozen=True)
class ShippedConfig:
    """One row of `gailctl configs`."""

    name: str
    path: Path
    env_id: str
    description: str
    expert: bool
    """record.expert points at a file or folder that ships."""
    demos: bool
    """gail.demos points at a folder that ships."""


def description_of(text: str) -> str:
    """A config's description: its first comment line, continued over the next comment lines of
    its paragraph until one ends a sentence, so a sentence that runs over several lines is never cut."""
    words: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        body = stripped.lstrip("#").strip() if stripped.startswith("#") else None
        if not body:
            if words or (stripped and body is None):
                break
            continue
        words.append(body)
        if body.endswith((".", "!", "?")):
            break
    return " ".join(words)


def describe(path: Path) -> ShippedConfig:
    """Env id, description and what ships with one config (ConfigError if it does not load)."""
    from gailctl.core.config_load import load_config

    cfg = load_config(path)
    return ShippedConfig(
        name=path.stem,
        path=path,
        env_id=cfg.env.id,
        description=description_of(path.read_text(encoding="utf-8")),
        expert=cfg.record.expert is not None and Path(cfg.record.expert).exists(),
        demos=cfg.gail.demos is not None and Path(cfg.gail.demos).is_dir(),
    )


def text_with_absolute_paths(path: Path) -> str:
    """The config file's text, comments kept, with each relative path written absolute.

    A copy of a shipped config then runs from any folder and still finds the shipped experts.
    """
    import yaml

    from gailctl.core.config import Config
    from gailctl.core.paths import file_path_keys, resolve_in_file

    text = path.read_text(encoding="utf-8")
    root = yaml.compose(text)
    spans = []
    for key in file_path_keys(Config):
        node = root
        for part in key:
            if not isinstance(node, yaml.MappingNode):
                node = None
                break
            node = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part), None)
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":str") and node.value:
            absolute = resolve_in_file(node.value, key=".".join(key), config_file=path)
            if absolute != node.value:
                spans.append((node.start_mark.index, node.end_mark.index, absolute))
    for start, end, value in sorted(spans, reverse=True):
        shown = yaml.safe_dump(value, default_flow_style=True, width=float("inf")).strip().removesuffix("...").strip()
        text = text[:start] + shown + text[end:]
    return text
