"""Key maps for `gailctl record --human`: key names -> actions, with no pygame and no torch.

Pure data and functions (numpy only inside the ones that do arithmetic), so the config can
validate key names at once and the tests can check how held keys become actions without a
window; `gailctl.rl.env.human` is the window that uses them. Key names are pygame's (`pygame.key.name`).
"""

from __future__ import annotations

import difflib
import string
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Literal, Optional, Union

from gailctl.core.errors import UsageError

if TYPE_CHECKING:
    import numpy as np

Action = Union[int, tuple[float, ...]]
"""A discrete action (an index) or a continuous one (one float per dimension of a 1-D Box)."""

NoopAction = Union[Action, Literal["repeat"]]
"""What the env receives when no mapped key is held: an action, or `repeat` (the last one),
for tasks such as CartPole that have no do-nothing action."""

RESERVED_KEYS = {"space": "pause", "backspace": "redo the episode", "escape": "stop",
                 "return": "end an episode that is over in effect"}
"""Keys the recorder itself answers; a key map cannot use them."""

KEY_NAMES = frozenset(
    [*string.ascii_lowercase, *string.digits, "left", "right", "up", "down", "tab",
     "left shift", "right shift", "left ctrl", "right ctrl", "left alt", "right alt"]
)
"""Key names a key map may use (pygame's names: `pygame.key.key_code(name)` knows each)."""


@dataclass(frozen=True)
class KeyMap:
    """Resolved key map: `keys[name]` is the action while that key is held; `noop` otherwise."""

    keys: dict[str, Action]
    noop: NoopAction

    @property
    def continuous(self) -> bool:
        return isinstance(next(iter(self.keys.values())), tuple)

    def describe(self) -> str:
        """`left=0 right=2 (none=1)`: for the summary."""
        shown = " ".join(f"{k}={_fmt(a)}" for k, a in self.keys.items())
        return f"{shown} (none={_fmt(self.noop)})"

    def legend(self, env_id: str) -> str:
        """What each key does on `env_id`: `left: push left, right: push right (no key: repeat the last push)`."""
        meanings = ACTION_MEANINGS.get(env_id, {})

        def say(action: Any) -> str:
            return meanings.get(action, f"action {_fmt(action)}")

        shown = ", ".join(f"{k}: {say(a)}" for k, a in self.keys.items())
        none = "repeat the last action" if self.noop == "repeat" else say(self.noop)
        return f"{shown} (no key: {none})"

    def start_keys(self) -> str:
        """`left or right`, `up, left or right`: the keys that start an episode, for the overlay."""
        names = list(self.keys)
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"

    def to_json(self) -> dict[str, Any]:
        return {"keys": {k: _jsonable(a) for k, a in self.keys.items()}, "noop": _jsonable(self.noop)}


def _fmt(action: Any) -> str:
    if isinstance(action, tuple):
        return "[" + ",".join(f"{x:g}" for x in action) + "]"
    return str(action)


def _jsonable(action: Any) -> Any:
    return list(action) if isinstance(action, tuple) else action


# Defaults for every shipped task. Pendulum and LunarLander: a positive torque / the left
# orientation engine turn the pole / the lander counterclockwise on screen, so `left` does that.
DEFAULT_KEYMAPS: dict[str, KeyMap] = {
    "seals/CartPole-v0": KeyMap({"left": 0, "right": 1}, "repeat"),
    "CartPole-v1": KeyMap({"left": 0, "right": 1}, "repeat"),
    "Acrobot-v1": KeyMap({"left": 0, "right": 2}, 1),
    "seals/MountainCar-v0": KeyMap({"left": 0, "right": 2}, 1),
    "MountainCar-v0": KeyMap({"left": 0, "right": 2}, 1),
    "Pendulum-v1": KeyMap({"left": (2.0,), "right": (-2.0,)}, (0.0,)),
    "LunarLander-v2": KeyMap({"up": 2, "left": 1, "right": 3}, 0),
    "LunarLanderContinuous-v2": KeyMap({"up": (1.0, 0.0), "left": (0.0, -1.0), "right": (0.0, 1.0)}, (-1.0, 0.0)),
}


ACTION_MEANINGS: dict[str, dict[Any, str]] = {
    "seals/CartPole-v0": {0: "push left", 1: "push right"},
    "CartPole-v1": {0: "push left", 1: "push right"},
    "Acrobot-v1": {0: "torque -1", 1: "no torque", 2: "torque +1"},
    "seals/MountainCar-v0": {0: "push left", 1: "no push", 2: "push right"},
    "MountainCar-v0": {0: "push left", 1: "no push", 2: "push right"},
    "Pendulum-v1": {(2.0,): "turn counterclockwise", (-2.0,): "turn clockwise", (0.0,): "no torque"},
    "LunarLander-v2": {0: "engines off", 1: "left engine", 2: "main engine", 3: "right engine"},
    "LunarLanderContinuous-v2": {(1.0, 0.0): "main engine", (0.0, -1.0): "left engine", (0.0, 1.0): "right engine",
                                 (-1.0, 0.0): "engines off"},
}
"""What the shipped tasks' actions do, as the window's legend says it (an action missing here shows its number)."""


def check_key_names(names: Iterable[str]) -> None:
    """Raise ValueError naming the first key that is unknown or reserved (with a hint)."""
    for name in names:
        if name in RESERVED_KEYS:
            raise ValueError(f"key {name!r} is reserved ({RESERVED_KEYS[name]})")
        if name not in KEY_NAMES:
            hint = difflib.get_close_matches(name.lower(), sorted(KEY_NAMES), n=1)
            did = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ValueError(f"unknown key name {name!r}{did}; expected a-z, 0-9, left, right, up, down, "
                             "tab, left/right shift, ctrl or alt")


def check_same_kind(keys: dict[str, Action], noop: Optional[NoopAction]) -> None:
    """All actions discrete, or all continuous of one length (noop included unless `repeat`)."""
    actions: list[Any] = list(keys.values()) + ([noop] if noop is not None and noop != "repeat" else [])
    kinds = {("box", len(a)) if isinstance(a, tuple) else ("discrete", 0) for a in actions}
    if len(kinds) > 1:
        raise ValueError("actions mix discrete indices and continuous vectors (or vectors of different lengths): "
                         f"{', '.join(_fmt(a) for a in actions)}")
    if ("box", 0) in kinds:
        raise ValueError("a continuous action needs at least one number")


def resolve_keymap(env_id: str, *, keys: Optional[dict[str, Action]], noop: Optional[NoopAction]) -> KeyMap:
    """The config's key map, or the task's default; what the config leaves out comes from the default."""
    default = DEFAULT_KEYMAPS.get(env_id)
    if keys is None and default is None:
        raise UsageError(f"record.human.keys: no default key map for {env_id}; set record.human.keys "
                         "(key name -> action) and record.human.noop in the config")
    if noop is None and (keys is None or (default is not None and _same_kind(keys, default))):
        noop = default.noop if default else None
    if noop is None:
        raise UsageError(f"record.human.noop: needed with these record.human.keys for {env_id} "
                         "(the action when no key is held, or `repeat`)")
    km = KeyMap(dict(keys) if keys is not None else dict(default.keys), noop)  # type: ignore[union-attr]
    try:
        check_same_kind(km.keys, km.noop)
    except ValueError as exc:
        raise UsageError(f"record.human: {exc}") from None
    return km


def _same_kind(keys: dict[str, Action], default: KeyMap) -> bool:
    return isinstance(next(iter(keys.values())), tuple) == default.continuous


def check_against_space(km: KeyMap, space: Any, *, env_id: str) -> None:
    """Refuse a key map whose actions the env cannot take (UsageError naming the key)."""
    named: list[tuple[str, Any]] = [(f"keys.{k}", a) for k, a in km.keys.items()]
    if km.noop != "repeat":
        named.append(("noop", km.noop))
    if hasattr(space, "n"):
        for where, action in named:
            if isinstance(action, tuple) or not 0 <= action < int(space.n):
                raise UsageError(f"record.human.{where} = {_fmt(action)}: not an action of {env_id} "
                                 f"(Discrete({int(space.n)}): an integer from 0 to {int(space.n) - 1})")
        return
    shape = tuple(getattr(space, "shape", ()) or ())
    if len(shape) != 1:
        raise UsageError(f"record.human: {env_id} has actions of shape {shape}; key maps support Discrete and 1-D Box")
    import numpy as np

    low, high = np.asarray(space.low, dtype=float), np.asarray(space.high, dtype=float)
    for where, action in named:
        if not isinstance(action, tuple) or len(action) != shape[0]:
            raise UsageError(f"record.human.{where} = {_fmt(action)}: {env_id} takes {shape[0]} number(s) per action")
        arr = np.asarray(action, dtype=float)
        if np.any(arr < low) or np.any(arr > high):
            raise UsageError(f"record.human.{where} = {_fmt(action)}: outside the action space "
                             f"[{_fmt(tuple(low))}, {_fmt(tuple(high))}] of {env_id}")


@dataclass
class KeyState:
    """Which mapped keys are held, in the order they went down, and the last action taken.

    Discrete: the most recently pressed held key wins. Continuous: the held keys' vectors add
    up, clipped to the action space (up + left fires both engines of LunarLanderContinuous).
    A key pressed and released between two steps still counts for the next step (a tap).
    """

    keymap: KeyMap
    held: list[str]
    tapped: list[str]
    last: Optional[Action] = None

    @classmethod
    def new(cls, keymap: KeyMap) -> "KeyState":
        return cls(keymap, [], [])

    def press(self, name: str, *, acts: bool = True) -> None:
        """A mapped key went down; `acts=False` (while paused) tracks it as held without a tap for later."""
        if name in self.keymap.keys:
            if name in self.held:
                self.held.remove(name)
            self.held.append(name)
            if acts and name not in self.tapped:
                self.tapped.append(name)

    def release(self, name: str) -> None:
        if name in self.held:
            self.held.remove(name)

    def active(self) -> list[str]:
        """Keys that act on the next step: held ones plus taps since the last step."""
        return [k for k in self.tapped if k not in self.held] + self.held

    def action(self, *, low: Optional[np.ndarray] = None, high: Optional[np.ndarray] = None) -> Action:
        """The action for the next step; clears the taps."""
        import numpy as np

        active = self.active()
        self.tapped = []
        if not active:
            chosen: Any = self.noop_action()
        elif self.keymap.continuous:
            total = np.sum([np.asarray(self.keymap.keys[k], dtype=float) for k in active], axis=0)
            if low is not None and high is not None:
                total = np.clip(total, low, high)
            chosen = tuple(float(x) for x in total)
        else:
            chosen = self.keymap.keys[active[-1]]
        self.last = chosen
        return chosen

    def noop_action(self) -> Action:
        """The action with no key held (`repeat`: the last one), without touching taps or held keys."""
        if self.keymap.noop != "repeat":
            return self.keymap.noop
        return self.last if self.last is not None else next(iter(self.keymap.keys.values()))

    def reset(self) -> None:
        """A new episode: `repeat` starts over; keys still physically held stay held."""
        self.last = None
        self.tapped = []
