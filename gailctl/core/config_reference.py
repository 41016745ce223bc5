"""The config reference, generated from the schema: every dotted key with its type, default,
constraint and the docstring written under its field in `gailctl.core.config` (and its sections' modules).

The documentation site renders `markdown()` at build time (`docs/plugins/main.py`), so the
reference cannot drift from the models; `tests/unit/test_config_reference.py` checks that every
key of `Config` is in it and described. Docstrings are read from the source with `ast`
(pydantic keeps only its own metadata), so importing the schema costs nothing extra.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import types
import typing
from dataclasses import dataclass
from typing import Any, Iterator, Literal, Union

import annotated_types
from pydantic import AfterValidator, BaseModel
from pydantic_core import PydanticUndefined

from gailctl.core import config_types
from gailctl.core.config import Config
from gailctl.core.paths import PATH_FIELD

_LIMITS = {
    config_types._sane_budget: f"<= {config_types.MAX_TOTAL_TIMESTEPS:,}",
    config_types.sane_n_envs: f"<= {config_types.MAX_N_ENVS}",
}
"""AfterValidators that bound a value, and the bound they enforce (their errors say why)."""


@dataclass(frozen=True)
class KeyDoc:
    """One config key as the reference lists it."""

    key: str
    """Dotted, as `--set` takes it: `gail.ppo.learning_rate`."""
    type: str
    default: str
    constraint: str
    description: str


def field_docstrings(model: type[BaseModel]) -> dict[str, str]:
    """{field name: the string literal right under its annotated assignment} of one model class."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(model)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for stmt, after in zip(body, body[1:]):
        if (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str)):
            docs[stmt.target.id] = " ".join(inspect.cleandoc(after.value.value).split())
    return docs


def _bounds(metadata: Any) -> list[str]:
    out = []
    for m in metadata:
        if isinstance(m, annotated_types.Gt):
            out.append(f"> {m.gt:g}")
        elif isinstance(m, annotated_types.Ge):
            out.append(f">= {m.ge:g}")
        elif isinstance(m, annotated_types.Lt):
            out.append(f"< {m.lt:g}")
        elif isinstance(m, annotated_types.Le):
            out.append(f"<= {m.le:g}")
        elif isinstance(m, AfterValidator) and m.func in _LIMITS:
            out.append(_LIMITS[m.func])
    return out


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The section model a field holds (also when optional), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (Union, types.UnionType):
        models = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(models) == 1:
            return _model_of(models[0])
    return None


def type_name(annotation: Any) -> tuple[str, list[str]]:
    """(a type as a YAML writer reads it, its bounds) for an annotation of the schema."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        name, bounds = type_name(args[0])
        return ("path" if PATH_FIELD in args[1:] else name), bounds + _bounds(args[1:])
    if origin in (Union, types.UnionType):
        parts = [type_name(a) for a in args if a is not type(None)]
        if len(parts) == 1:
            return parts[0]
        return " or ".join(p[0] + (f" ({', '.join(p[1])})" if p[1] else "") for p in parts), []
    if origin is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args), []
    if origin is tuple:
        inner, bounds = type_name(args[0])
        return f"list of {inner}s" + (f" {' and '.join(bounds)}" if bounds else ""), []
    if origin is dict:
        return f"mapping of {type_name(args[0])[0]} to {type_name(args[1])[0]}", []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        keys = ", ".join(f"{k}: ..." for k in annotation.model_fields)
        return f"`{{{keys}}}`", []  # a code span: attr_list would read bare braces as attributes
    names = {bool: "boolean", int: "integer", float: "number", str: "string"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation))), []


def _default(field: Any) -> str:
    value = field.default
    if value is PydanticUndefined:
        return "required"
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e5 else f"{value:.0f}"
    return str(value)


def config_keys(model: type[BaseModel] = Config, prefix: str = "") -> Iterator[KeyDoc]:
    """Every leaf key of `model` and its sections (a section held optionally too), in schema order."""
    docs = field_docstrings(model)
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        section = _model_of(field.annotation)
        if section is not None:
            yield from config_keys(section, f"{key}.")
            continue
        tname, bounds = type_name(field.annotation)
        if PATH_FIELD in field.metadata:
            tname = "path"
        bounds += _bounds(field.metadata)
        yield KeyDoc(key=key, type=tname, default=_default(field), constraint=", ".join(dict.fromkeys(bounds)),
                     description=docs.get(name, ""))


def sections(model: type[BaseModel] = Config) -> dict[str, str]:
    """{dotted section: the section model's own docstring, first paragraph} for every section."""
    out: dict[str, str] = {}
    for name, field in model.model_fields.items():
        section = _model_of(field.annotation)
        if section is None:
            continue
        doc = inspect.cleandoc(section.__doc__ or "").split("\n\n")[0]
        out[name] = " ".join(doc.split()) if section.__doc__ and section.__doc__ != BaseModel.__doc__ else ""
        out.update({f"{name}.{k}": v for k, v in sections(section).items()})
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(model: type[BaseModel] = Config, *, heading: str = "##") -> str:
    """The reference as markdown: one table per section (top-level keys first), a row per key."""
    keys = list(config_keys(model))
    titles = sections(model)
    groups: dict[str, list[KeyDoc]] = {}
    for k in keys:
        groups.setdefault(k.key.rpartition(".")[0], []).append(k)
    out = []
    for group, rows in groups.items():
        out.append(f"{heading} `{group}`" if group else f"{heading} Top level")
        out.append("")
        if titles.get(group):
            out += [titles[group], ""]
        out += ["| key | type | default | what it does |", "|---|---|---|---|"]
        for k in rows:
            kind = k.type + (f", {k.constraint}" if k.constraint else "")
            out.append(f"| `{k.key}` | {_cell(kind)} | `{_cell(k.default)}` | {_cell(k.description)} |")
        out.append("")
    return "\n".join(out)
