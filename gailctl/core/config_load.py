"""Config files -> `Config`: YAML reading, `--set a.b=v` overrides, one-line error messages.

Overrides are validated like the file (by the schema in `gailctl.core.config`); a pydantic
error becomes one `ConfigError` line naming the file or flag, the key, the value and what was
expected. Only pydantic and yaml are imported here, so config errors answer without torch.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Mapping, Optional, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from gailctl.core.config import Config, NetArch
from gailctl.core.errors import ConfigError
from gailctl.core.paths import file_path_keys, resolve_cli_paths, resolve_file_paths


def parse_overrides(overrides: list[str]) -> dict[str, Any]:
    """`["a.b=3", "seed=1"]` -> `{"a.b": 3, "seed": 1}`; values parse as YAML scalars/lists."""
    parsed: dict[str, Any] = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE with a dotted key, e.g. gail.total_timesteps=20000")
        try:
            parsed[key] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            parsed[key] = raw
    return parsed


def _apply_override(data: dict[str, Any], dotted: str, value: Any) -> None:
    node = data
    model: Optional[type[BaseModel]] = Config
    parts = dotted.split(".")
    for i, part in enumerate(parts[:-1]):
        where = ".".join(parts[: i + 1])
        field = model.model_fields.get(part) if model else None
        ann = getattr(field, "annotation", None)
        is_section = isinstance(ann, type) and issubclass(ann, BaseModel)
        is_mapping = get_origin(ann) is dict  # `expert.env_kwargs.healthy_reward=5` sets one entry
        if field is not None and not (is_section or is_mapping):  # a value by default, even if absent from the file
            raise ConfigError(f"--set {dotted}: {where} is a value, not a section")
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {dotted}: {where} is a value, not a section")
        node = child
        model = ann if is_section else None
    node[parts[-1]] = value


def _model_at(loc: tuple[Any, ...]) -> Optional[type[BaseModel]]:
    """The section model that owns the last key of `loc`, to list its valid keys."""
    model: type[BaseModel] = Config
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        ann = getattr(field, "annotation", None)
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return None
        model = ann
    return model


def _describe(err: dict[str, Any], source: str, overrides: dict[str, Any], flags: Mapping[str, str]) -> str:
    # Drop the union tag pydantic puts after `net_arch` (`net_arch.split.vf`): the user wrote `net_arch.vf`.
    loc = tuple(p for i, p in enumerate(err["loc"]) if not (i and err["loc"][i - 1] == "net_arch" and p in ("shared", "split")))
    key = ".".join(str(p) for p in loc)
    # Blame the --set that touched this key (or a key inside it, or one the message names),
    # by the flag the user typed when a shortcut (--seed, -n) set it.
    blamed = [k for k in overrides if k == key or (key and (k.startswith(key + ".") or key.startswith(k + ".")))
              or (not key and k in err["msg"])]
    origin = flags.get(blamed[0], f"--set {blamed[0]}") if blamed else source
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if err["type"] == "extra_forbidden":
        owner = NetArch if loc[-2:-1] == ("net_arch",) else _model_at(loc)
        valid = sorted(owner.model_fields) if owner else []
        hint = difflib.get_close_matches(str(loc[-1]), valid, n=1)
        text = f"{origin}: {key}: unknown key"
        if hint:
            text += f" (did you mean {'.'.join(map(str, loc[:-1] + (hint[0],)))}?)"
        if valid:
            text += f"; expected one of: {', '.join(valid)}"
        return text
    if not loc:  # a cross-field check: its message names the keys itself
        return f"{origin}: {msg}"
    if err["type"] == "missing":  # pydantic's input here is the whole parent mapping: name the key alone
        return f"{origin}: {key}: missing (a required key)"
    value = err.get("input")
    shown = yaml.safe_dump(value, default_flow_style=True, width=float("inf")).strip().removesuffix("...").strip()
    return f"{origin}: {key} = {shown}: {msg[0].lower()}{msg[1:]}"


def config_from_dict(data: Any, *, source: str, overrides: Optional[dict[str, Any]] = None,
                     flags: Optional[Mapping[str, str]] = None) -> Config:
    """Validate a mapping (already overridden) into a `Config`, or raise one ConfigError line.

    `flags` maps an overridden key to the option that set it (`{"seed": "--seed"}`), so an error
    names what the user typed rather than `--set seed`.
    """
    overrides = overrides or {}
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of sections at the top level, got {type(data).__name__}")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = _describe(errors[0], source, overrides, flags or {})
        more = f" (and {len(errors) - 1} more error(s))" if len(errors) > 1 else ""
        raise ConfigError(first + more) from None


def read_yaml(path: Path, *, noun: str, short: Optional[str] = None) -> tuple[Any, str]:
    """(parsed data, text) of a YAML file via `yaml.safe_load`, or one ConfigError line naming it."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{source}: {noun} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read {short or noun}: {exc}") from None
    try:
        return yaml.safe_load(text), text
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(f"{source}: invalid YAML{where}: {problem}") from None


def load_config(path: Optional[Path], overrides: Optional[list[str]] = None, *,
                flags: Optional[Mapping[str, str]] = None, recorded: bool = False) -> Config:
    """Read a YAML config (or the defaults when `path` is None) and apply `--set` overrides.

    Relative paths written in the file are read from the file's folder, those given with
    `--set` from the working directory; both come out absolute. `recorded=True` is for a run
    folder's config.yaml, whose paths were resolved when the run started: they stay as written.
    `flags`: the option behind an override key, for error messages (see `config_from_dict`).
    """
    parsed = parse_overrides(overrides or [])
    path_keys = list(file_path_keys(Config))
    resolve_cli_paths(parsed, keys=path_keys)
    if path is None:
        data: Any = {}
        source = "<defaults>"
    else:
        source = str(path)
        data, _text = read_yaml(path, noun="config file", short="config")
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a mapping of sections at the top level, got {type(data).__name__}")
    # A section whose keys are all commented out is YAML null: it means "all defaults".
    data = {k: {} if v is None and k in Config.model_fields else v for k, v in data.items()}
    if path is not None and not recorded:
        resolve_file_paths(data, keys=path_keys, config_file=Path(path), overridden=parsed)
    for key, value in parsed.items():
        _apply_override(data, key, value)
    return config_from_dict(data, source=source, overrides=parsed, flags=flags)


def config_to_yaml(cfg: Config) -> str:
    """The fully resolved config, as written into every run folder."""
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)
