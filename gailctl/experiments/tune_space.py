"""What `gailctl tune` searches and what it maximises: the search space file and the objectives.

A space file maps dotted config keys to distributions, validated like a config (unknown keys
refused, one line naming the file and key):

    objective: auc
    params:
      gail.ppo.learning_rate: {float: [1.0e-4, 3.0e-3], log: true}
      gail.n_disc_updates_per_round: {int: [1, 8]}
      gail.lr_schedule: {choice: [constant, linear]}

Only yaml and pydantic are imported here; Optuna is `gailctl.tune`'s business.
"""

from __future__ import annotations

import csv
import math
import statistics
from pathlib import Path
from typing import Any, Callable, Literal, Optional, Sequence, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, StrictBool, StrictInt, ValidationError, model_validator

from gailctl.core.config import Config
from gailctl.core.config_load import read_yaml
from gailctl.core.errors import ConfigError

THRESHOLD = 0.95
"""Normalized score that counts as imitating the expert (as in `gailctl bench`)."""
FINAL_EVALS = 10
"""`final` averages this many last evaluations."""


def yaml_value(value: Any) -> str:
    """A value as one line of YAML, as `--set KEY=VALUE` reads it back (`1.0e-05`, `[64, 64]`, `null`)."""
    text = yaml.safe_dump(list(value) if isinstance(value, tuple) else value, default_flow_style=True, width=float("inf"))
    return text.strip().removesuffix("...").strip()


def override(key: str, value: Any) -> str:
    """`gail.disc_lr`, 0.001 -> `gail.disc_lr=0.001`: one `--set` item."""
    return f"{key}={yaml_value(value)}"


# --- the distributions -----------------------------------------------------------------


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @property
    def check_values(self) -> tuple[Any, ...]:
        """The values whose configs are validated before the study starts (a range's two ends)."""
        return getattr(self, "bounds")

    def to_optuna(self, value: Any) -> Any:
        return value


class FloatDist(_Dist):
    """`{float: [low, high]}`: uniform, log-uniform with `log: true`, or on a grid of `step`."""

    bounds: tuple[float, float] = Field(alias="float")
    log: StrictBool = False
    step: Optional[PositiveFloat] = None

    @model_validator(mode="after")
    def _check(self) -> "FloatDist":
        low, high = self.bounds
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError(f"float = [{low}, {high}]: bounds must be finite numbers")
        if low >= high:
            raise ValueError(f"float = [{low}, {high}]: low must be below high (for a fixed value use --set)")
        if self.log and low <= 0:
            raise ValueError(f"float = [{low}, {high}] with log: true: low must be above 0")
        if self.log and self.step is not None:
            raise ValueError("log: true and step: pick one (Optuna samples either on a log scale or on a grid)")
        return self

    def contains(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        low, high = self.bounds
        if not low <= value <= high:
            return False
        return self.step is None or math.isclose((value - low) / self.step, round((value - low) / self.step), abs_tol=1e-9)

    def describe(self) -> str:
        low, high = self.bounds
        return f"float {low:g}..{high:g}" + (" log" if self.log else "") + (f" step {self.step:g}" if self.step else "")


class IntDist(_Dist):
    """`{int: [low, high]}`, both included: uniform, log-uniform with `log: true`, or every `step`."""

    bounds: tuple[StrictInt, StrictInt] = Field(alias="int")
    log: StrictBool = False
    step: StrictInt = Field(default=1, gt=0)

    @model_validator(mode="after")
    def _check(self) -> "IntDist":
        low, high = self.bounds
        if low >= high:
            raise ValueError(f"int = [{low}, {high}]: low must be below high (for a fixed value use --set)")
        if self.log and low < 1:
            raise ValueError(f"int = [{low}, {high}] with log: true: low must be at least 1")
        if self.log and self.step != 1:
            raise ValueError("log: true and step: pick one (Optuna samples either on a log scale or every step)")
        if (high - low) % self.step:
            raise ValueError(f"int = [{low}, {high}], step {self.step}: high - low must be a multiple of step")
        return self

    def contains(self, value: Any) -> bool:
        low, high = self.bounds
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high and (value - low) % self.step == 0

    def describe(self) -> str:
        low, high = self.bounds
        return f"int {low}..{high}" + (" log" if self.log else "") + (f" step {self.step}" if self.step != 1 else "")


_Scalar = Union[StrictBool, StrictInt, float, str, None]


class ChoiceDist(_Dist):
    """`{choice: [a, b, ...]}`: one of the values (scalars, or lists of scalars such as `[64, 64]`)."""

    choices: tuple[Union[_Scalar, tuple[_Scalar, ...]], ...] = Field(alias="choice")

    @model_validator(mode="before")
    @classmethod
    def _two_or_more(cls, data: Any) -> Any:
        choices = data.get("choice") if isinstance(data, dict) else None
        if isinstance(choices, list) and len(choices) < 2:
            raise ValueError(f"choice = {yaml_value(choices)}: give at least two values (for a fixed value use --set)")
        return data

    @model_validator(mode="after")
    def _check(self) -> "ChoiceDist":
        texts = [yaml_value(c) for c in self.choices]
        dup = next((t for i, t in enumerate(texts) if t in texts[:i]), None)
        if dup is not None:
            raise ValueError(f"choice: the value {dup} is listed twice")
        return self

    @property
    def check_values(self) -> tuple[Any, ...]:
        return self.choices

    def optuna_choices(self) -> tuple[Any, ...]:
        """What Optuna's categorical distribution holds: scalars as they are, lists as their YAML text."""
        return tuple(yaml_value(c) if isinstance(c, tuple) else c for c in self.choices)

    def value_of(self, sampled: Any) -> Any:
        """The config value behind one of `optuna_choices()`."""
        for choice, stored in zip(self.choices, self.optuna_choices()):
            if stored == sampled and type(stored) is type(sampled):
                return list(choice) if isinstance(choice, tuple) else choice
        raise ValueError(f"{sampled!r} is not one of the choices {list(self.optuna_choices())}")

    def to_optuna(self, value: Any) -> Any:
        """The Optuna choice for a config value (to enqueue a trial); ValueError if it is not a choice."""
        text = yaml_value(value)
        for choice, stored in zip(self.choices, self.optuna_choices()):
            if yaml_value(choice) == text:
                return stored
        raise ValueError(f"{text} is not one of the choices")

    def contains(self, value: Any) -> bool:
        try:
            self.to_optuna(value)
        except ValueError:
            return False
        return True

    def describe(self) -> str:
        return "choice " + ", ".join(yaml_value(c) for c in self.choices)


Distribution = Union[FloatDist, IntDist, ChoiceDist]
_KINDS: dict[str, type[_Dist]] = {"float": FloatDist, "int": IntDist, "choice": ChoiceDist}


# --- the objectives --------------------------------------------------------------------


def objective_auc(scores: Sequence[float]) -> float:
    """Mean normalized score over all evaluations: rewards reaching the expert early and staying."""
    return statistics.fmean(scores)


def objective_final(scores: Sequence[float]) -> float:
    """Mean of the last FINAL_EVALS evaluations (all of them when there are fewer)."""
    return statistics.fmean(scores[-FINAL_EVALS:])


def objective_stable(scores: Sequence[float]) -> float:
    """Fraction of the evaluations after the first one >= THRESHOLD that are >= THRESHOLD.

    0 when no evaluation reaches THRESHOLD, or only the last one does (nothing shows it stayed).
    Nothing is subtracted for reaching late: a run that gets there at its 14th of 15
    evaluations and holds scores 1, like one that got there at its first.
    """
    first = next((i for i, s in enumerate(scores) if s >= THRESHOLD), None)
    after = [] if first is None else scores[first + 1 :]
    return sum(s >= THRESHOLD for s in after) / len(after) if after else 0.0


OBJECTIVES: dict[str, Callable[[Sequence[float]], float]] = {
    "auc": objective_auc,
    "final": objective_final,
    "stable": objective_stable,
}
ObjectiveName = Literal["auc", "final", "stable"]
OBJECTIVE_TEXT = {
    "auc": "mean normalized score over each run's evaluations (after step 0), mean over seeds",
    "final": f"mean normalized score of each run's last {FINAL_EVALS} evaluations, mean over seeds",
    "stable": f"fraction of each run's evaluations after its first >= {THRESHOLD} that stay >= {THRESHOLD} "
              "(0 if it never gets there), mean over seeds; reaching late costs nothing",
}


def run_scores(run_dir: Path) -> list[float]:
    """A run's per-evaluation normalized scores from its metrics.csv, in order.

    The evaluation at env step 0 (the untrained generator, the same for every trial of a seed)
    is left out; rows without an evaluation have an empty `normalized_score`.
    """
    scores = []
    with open(Path(run_dir) / "metrics.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            try:
                step, score = float(row.get("n_env_steps") or 0), float(row.get("normalized_score") or "nan")
            except ValueError:
                continue
            if step > 0 and math.isfinite(score):
                scores.append(score)
    return scores


def objective_of_run(kind: str, run_dir: Path) -> float:
    """One seed's objective; ValueError when the run has no scored evaluation."""
    scores = run_scores(run_dir)
    if not scores:
        raise ValueError(f"{Path(run_dir).name}: no evaluation with a normalized score after step 0 in metrics.csv")
    return OBJECTIVES[kind](scores)


# --- the space file --------------------------------------------------------------------


class Space(BaseModel):
    """A parsed space file: the objective and, per dotted config key, its distribution."""

    model_config = ConfigDict(frozen=True)

    objective: ObjectiveName = "auc"
    params: dict[str, Distribution]

    def as_yaml_data(self) -> dict[str, Any]:
        """The space as a space file says it (for tune.json)."""
        return {"objective": self.objective,
                "params": {k: d.model_dump(mode="json", by_alias=True, exclude_defaults=True) for k, d in self.params.items()}}


def _shown(value: Any) -> str:
    return yaml_value(value)


def _dist_error(source: str, key: str, kind: str, exc: ValidationError) -> ConfigError:
    errors = exc.errors(include_url=False)
    err = errors[0]
    msg = err["msg"].removeprefix("Value error, ")
    loc = ".".join(str(p) for p in err["loc"])
    more = f" (and {len(errors) - 1} more error(s))" if len(errors) > 1 else ""
    if err["type"] == "extra_forbidden":
        valid = ", ".join([kind, *(n for n in ("log", "step") if n in _KINDS[kind].model_fields)])
        return ConfigError(f"{source}: params.{key}.{loc}: unknown key; {'an' if kind == 'int' else 'a'} {kind} "
                           f"distribution takes: {valid}{more}")
    if not loc:
        return ConfigError(f"{source}: params.{key}: {msg}{more}")
    return ConfigError(f"{source}: params.{key}.{loc} = {_shown(err.get('input'))}: {msg[0].lower()}{msg[1:]}{more}")


def parse_distribution(source: str, key: str, spec: Any) -> Distribution:
    """`{float: [a, b], log: true}` and friends -> a distribution, or one ConfigError line."""
    kinds = [k for k in _KINDS if isinstance(spec, dict) and k in spec]
    if len(kinds) != 1:
        got = "several: " + ", ".join(kinds) if kinds else f"{_shown(spec)}"
        raise ConfigError(f"{source}: params.{key}: expected one of {{float: [low, high]}}, {{int: [low, high]}}, "
                          f"{{choice: [a, b, ...]}}; got {got}")
    try:
        return _KINDS[kinds[0]].model_validate(spec)  # type: ignore[return-value]
    except ValidationError as exc:
        raise _dist_error(source, key, kinds[0], exc) from None


def parse_space(data: Any, *, source: str) -> Space:
    """A space file's YAML data -> Space; one ConfigError line naming the file and key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with `params:` (and optionally `objective:`), got {type(data).__name__}")
    extra = [k for k in data if k not in Space.model_fields]
    if extra:
        raise ConfigError(f"{source}: {extra[0]}: unknown key; expected one of: objective, params")
    objective = data.get("objective", "auc")
    if objective not in OBJECTIVES:
        raise ConfigError(f"{source}: objective = {_shown(objective)}: expected one of: {', '.join(OBJECTIVES)}")
    params = data.get("params")
    if not isinstance(params, dict) or not params:
        raise ConfigError(f"{source}: params: expected a mapping of dotted config keys to distributions, "
                          "e.g. gail.disc_lr: {float: [1.0e-4, 3.0e-3], log: true}")
    parsed: dict[str, Distribution] = {}
    for key, spec in params.items():
        if not isinstance(key, str) or not key or any(not part for part in key.split(".")):
            raise ConfigError(f"{source}: params: {_shown(key)}: expected a dotted config key such as gail.disc_lr")
        if key == "seed":
            raise ConfigError(f"{source}: params.seed: seeds come from --seeds; a trial runs every one of them")
        parsed[key] = parse_distribution(source, key, spec)
    return Space(objective=objective, params=parsed)


def load_space(path: Path) -> tuple[Space, str]:
    """Read and validate a space file; returns the Space and the file's text (kept in the tune folder)."""
    data, text = read_yaml(path, noun="space file")
    return parse_space(data, source=str(path)), text


# --- the space against a config --------------------------------------------------------


def config_value(cfg: Config, key: str) -> Any:
    """The value of a dotted key in a config (lists for tuples); KeyError when there is none."""
    node: Any = cfg.model_dump(mode="json")
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(key)
        node = node[part]
    return node


def baseline_params(space: Space, cfg: Config) -> dict[str, Any]:
    """The config's own values of the space's keys, where they lie in the space (the first trial)."""
    out = {}
    for key, dist in space.params.items():
        try:
            value = config_value(cfg, key)
        except KeyError:
            continue
        if dist.contains(value):
            out[key] = value
    return out


def bound_checks(space: Space) -> list[tuple[str, list[str]]]:
    """(what, `--set` items) to validate before a study starts.

    Each key at each bound (or choice) alone, then all keys at their low and at their high
    ends together (choices: first and last), which catches most cross-key limits (a PPO
    batch larger than its rollout) before an hour of trials finds them.
    """
    checks: list[tuple[str, list[str]]] = []
    for key, dist in space.params.items():
        for value in dist.check_values:
            checks.append((f"{key} = {_shown(value)}", [override(key, value)]))
    if len(space.params) > 1:
        for end, name in ((0, "low"), (-1, "high")):
            checks.append((f"every key at its {name} end",
                           [override(k, d.check_values[end]) for k, d in space.params.items()]))
    return checks
