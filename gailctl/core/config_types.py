"""The value types the config schema is written in: whole numbers, budgets, key-map actions.

Integers are strict (`n_envs: true` is refused, not read as 1) but accept whole numbers in
scientific notation (`1e6`); budgets and env counts have sane upper bounds with a reason.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Annotated, Any, Literal, Union

from annotated_types import Ge, Gt
from pydantic import AfterValidator, BeforeValidator, PlainSerializer, PlainValidator, Strict

_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def whole_number(value: Any) -> Any:
    """`1e6`, `1.5e3` or `2.0` (YAML reads `1e6` as a string) -> the int they spell; `1.5` is refused.

    Budgets are naturally written in scientific notation; a fraction of an env step is not a budget.
    Anything else (bools, words) passes through for the strict int check to refuse.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        number: Any = value
    elif isinstance(value, str) and _DECIMAL.fullmatch(value.strip()) and any(c in value for c in ".eE"):
        number = Decimal(value.strip())  # exact: 12345678901234567e0 stays what it says
    else:
        return value
    finite = number.is_finite() if isinstance(number, Decimal) else math.isfinite(number)
    if finite and abs(number) >= 10**30:
        raise ValueError(f"{value} is far too large")
    if not finite or number != int(number):
        raise ValueError(f"expected a whole number (integer), got {value}")
    return int(number)


MAX_TOTAL_TIMESTEPS = 1_000_000_000


def _sane_budget(value: int) -> int:
    if value > MAX_TOTAL_TIMESTEPS:
        raise ValueError(
            f"at most {MAX_TOTAL_TIMESTEPS:,} env steps: gailctl's policies train at a few thousand env steps/s "
            "per core, so a larger budget is days of training, most likely a typo"
        )
    return value


MAX_N_ENVS = 256
"""The envs of a run step one after another in one process (DummyVecEnv): more than 256 only
lengthen each rollout (n_steps x n_envs steps between two chances to stop) and multiply memory."""

# Integers are strict so that `n_envs: true` or `seed: yes` is refused rather than read as 1;
# floats stay lax so that `3e-4` (a string to YAML 1.1) still reads as a number. Whole numbers
# in scientific notation (`1e6`) are accepted for integers.
PositiveInt = Annotated[int, BeforeValidator(whole_number), Strict(), Gt(0)]
NonNegativeInt = Annotated[int, BeforeValidator(whole_number), Strict(), Ge(0)]
Budget = Annotated[int, BeforeValidator(whole_number), Strict(), Gt(0), AfterValidator(_sane_budget)]
"""Total env steps of a training run."""


def sane_n_envs(value: int) -> int:
    if value > MAX_N_ENVS:
        raise ValueError(
            f"at most {MAX_N_ENVS}: the envs step one after another in one process, so more only "
            "lengthen every rollout (n_steps x n_envs env steps) without running faster"
        )
    return value


def _human_action(value: Any, *, repeat: bool = False) -> Any:
    """An action as a key map writes it: one message for every wrong shape, not one per union member."""
    if repeat and value == "repeat":
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError("a discrete action must be an integer >= 0")
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value):
        return tuple(float(x) for x in value)
    raise ValueError("expected an action: an integer >= 0 (discrete) or a list of numbers (continuous)"
                     + (", or repeat" if repeat else ""))


HumanAction = Annotated[Union[int, tuple[float, ...]], PlainValidator(_human_action)]
NoopAction = Annotated[Union[int, tuple[float, ...], Literal["repeat"]], PlainValidator(lambda v: _human_action(v, repeat=True))]


def _env_kwarg(value: Any) -> Any:
    """A gymnasium.make keyword's value as YAML writes it: a bool, number, string or list of numbers."""
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value):
        return tuple(value)
    raise ValueError("expected a gymnasium.make keyword value: true/false, a number, a string or a list of numbers")


EnvKwarg = Annotated[Union[bool, int, float, str, tuple[float, ...]], PlainValidator(_env_kwarg),
                     PlainSerializer(lambda v: list(v) if isinstance(v, tuple) else v)]
