"""gailctl.core.keymap and record.human: key maps typed and validated; held keys -> actions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from gailctl.core.config_load import load_config
from gailctl.core.errors import ConfigError, UsageError
from gailctl.core.keymap import DEFAULT_KEYMAPS, KeyMap, KeyState, check_against_space, resolve_keymap

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "configs").glob("*.yaml"))


def human_error(*overrides: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(None, list(overrides))
    message = str(info.value)
    assert "\n" not in message
    return message


# --- the config --------------------------------------------------------------------------


def test_record_human_defaults_leave_the_key_map_to_the_task() -> None:
    human = load_config(None).record.human
    assert human.keys is None and human.noop is None and human.fps == 15


def test_keys_parse_discrete_and_continuous_actions() -> None:
    human = load_config(None, ["record.human.keys={a: 0, d: 2}", "record.human.noop=1"]).record.human
    assert human.keys == {"a": 0, "d": 2} and human.noop == 1
    human = load_config(None, ["record.human.keys={left: [2], right: [-2.0]}", "record.human.noop=[0]"]).record.human
    assert human.keys == {"left": (2.0,), "right": (-2.0,)} and human.noop == (0.0,)
    assert load_config(None, ["record.human.noop=repeat"]).record.human.noop == "repeat"


def test_unknown_key_name_is_refused_with_a_hint() -> None:
    message = human_error("record.human.keys={lfet: 0}")
    assert "record.human.keys" in message and "unknown key name 'lfet'" in message and "did you mean 'left'" in message


@pytest.mark.parametrize("key", ["space", "backspace", "escape"])
def test_the_recorders_own_keys_are_reserved(key: str) -> None:
    assert f"key '{key}' is reserved" in human_error(f"record.human.keys={{{key}: 0}}")


def test_mixed_discrete_and_continuous_actions_are_refused() -> None:
    assert "actions mix discrete indices and continuous vectors" in human_error("record.human.keys={left: 0, right: [1.0]}")
    assert "actions mix" in human_error("record.human.keys={left: [1.0, 0.0], right: [1.0]}")
    assert "actions mix" in human_error("record.human.keys={left: 0}", "record.human.noop=[0.0]")


def test_negative_or_fractional_discrete_actions_and_empty_maps_are_refused() -> None:
    assert "record.human.keys" in human_error("record.human.keys={left: -1}")
    assert "record.human.keys" in human_error("record.human.keys={}")
    assert "record.human.fps" in human_error("record.human.fps=0")
    assert "record.human.whatever" in human_error("record.human.whatever=1")


# --- resolving against the task ------------------------------------------------------------


MUJOCO_ROBOTS = {"Hopper", "HalfCheetah", "Walker2d", "Swimmer", "Ant", "Humanoid"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_config_has_a_default_key_map_that_fits_its_actions(path: Path) -> None:
    import gymnasium as gym

    from gailctl.rl.env.make import check_env_id

    cfg = load_config(path)
    if "LunarLander" in cfg.env.id:
        pytest.importorskip("Box2D")
    if cfg.env.id.startswith("seals/") and cfg.env.id.split("/")[1].split("-")[0] in MUJOCO_ROBOTS:
        pytest.skip("the default key maps cover classic control and LunarLander; a MuJoCo robot has no keyboard play")
    check_env_id(cfg.env.id)
    km = resolve_keymap(cfg.env.id, keys=cfg.record.human.keys, noop=cfg.record.human.noop)
    check_against_space(km, gym.make(cfg.env.id).action_space, env_id=cfg.env.id)


def test_lunarlander_config_is_shipped_with_a_default_key_map() -> None:
    assert load_config(REPO / "configs" / "lunarlander.yaml").env.id in DEFAULT_KEYMAPS


def test_unknown_task_needs_a_key_map() -> None:
    with pytest.raises(UsageError, match="no default key map for Foo-v0; set record.human.keys"):
        resolve_keymap("Foo-v0", keys=None, noop=None)
    with pytest.raises(UsageError, match="record.human.noop: needed"):
        resolve_keymap("Foo-v0", keys={"a": 0}, noop=None)
    assert resolve_keymap("Foo-v0", keys={"a": 0}, noop=1) == KeyMap({"a": 0}, 1)


def test_own_keys_keep_the_tasks_noop_when_of_the_same_kind() -> None:
    km = resolve_keymap("LunarLander-v2", keys={"w": 2, "a": 1, "d": 3}, noop=None)
    assert km.noop == 0 and km.keys == {"w": 2, "a": 1, "d": 3}


def test_actions_outside_the_space_are_refused_naming_the_key() -> None:
    from gymnasium import spaces

    with pytest.raises(UsageError, match=r"record.human.keys.right = 3: not an action of Acrobot-v1 \(Discrete\(3\)"):
        check_against_space(KeyMap({"left": 0, "right": 3}, 1), spaces.Discrete(3), env_id="Acrobot-v1")
    with pytest.raises(UsageError, match=r"record.human.noop = 5"):
        check_against_space(KeyMap({"left": 0}, 5), spaces.Discrete(3), env_id="Acrobot-v1")
    box = spaces.Box(-2.0, 2.0, (1,))
    with pytest.raises(UsageError, match=r"record.human.keys.left = \[3\]: outside the action space"):
        check_against_space(KeyMap({"left": (3.0,)}, (0.0,)), box, env_id="Pendulum-v1")
    with pytest.raises(UsageError, match=r"takes 1 number\(s\) per action"):
        check_against_space(KeyMap({"left": (1.0, 0.0)}, (0.0, 0.0)), box, env_id="Pendulum-v1")
    with pytest.raises(UsageError, match="not an action of"):
        check_against_space(KeyMap({"left": (1.0,)}, (0.0,)), spaces.Discrete(2), env_id="CartPole-v1")
    check_against_space(KeyMap({"left": (2.0,)}, "repeat"), box, env_id="Pendulum-v1")


def test_resolved_key_map_is_what_the_summary_records() -> None:
    km = resolve_keymap("Pendulum-v1", keys=None, noop=None)
    assert yaml.safe_load(yaml.safe_dump(km.to_json())) == {"keys": {"left": [2.0], "right": [-2.0]}, "noop": [0.0]}
    assert km.describe() == "left=[2] right=[-2] (none=[0])"


# --- held keys -> actions -----------------------------------------------------------------


def test_discrete_noop_when_nothing_held_and_latest_pressed_key_wins() -> None:
    ks = KeyState.new(KeyMap({"left": 0, "right": 2}, 1))
    assert ks.action() == 1
    ks.press("left")
    assert ks.action() == 0
    ks.press("right")
    assert ks.action() == 2  # both held: the later one
    ks.release("right")
    assert ks.action() == 0
    ks.release("left")
    assert ks.action() == 1


def test_a_tap_between_two_steps_still_acts_once() -> None:
    ks = KeyState.new(KeyMap({"left": 0, "right": 2}, 1))
    ks.press("right")
    ks.release("right")
    assert ks.active() == ["right"]
    assert ks.action() == 2
    assert ks.action() == 1


def test_unmapped_keys_are_ignored() -> None:
    ks = KeyState.new(KeyMap({"left": 0, "right": 2}, 1))
    ks.press("q")
    assert ks.active() == [] and ks.action() == 1


def test_repeat_noop_repeats_the_last_action_and_starts_over_each_episode() -> None:
    ks = KeyState.new(KeyMap({"left": 0, "right": 1}, "repeat"))
    assert ks.action() == 0  # nothing yet: the first mapped action
    ks.press("right")
    assert ks.action() == 1
    ks.release("right")
    assert ks.action() == 1
    ks.reset()
    assert ks.action() == 0


def test_continuous_held_keys_add_up_and_are_clipped() -> None:
    km = KeyMap({"up": (1.0, 0.0), "left": (0.0, -1.0), "right": (0.0, 1.0), "w": (1.0, 0.0)}, (-1.0, 0.0))
    ks = KeyState.new(km)
    low, high = np.array([-1.0, -1.0]), np.array([1.0, 1.0])
    assert ks.action(low=low, high=high) == (-1.0, 0.0)
    ks.press("up")
    ks.press("left")
    assert ks.action(low=low, high=high) == (1.0, -1.0)
    ks.press("w")  # up + w = 2, clipped to the space
    assert ks.action(low=low, high=high) == (1.0, -1.0)
    ks.press("right")  # left + right cancel
    assert ks.action(low=low, high=high) == (1.0, 0.0)


def test_missing_box2d_names_the_extra_that_installs() -> None:
    import gymnasium as gym

    from gailctl.rl.env.make import missing_dependency

    exc = gym.error.DependencyNotInstalled("box2D is not installed, run `pip install gymnasium[box2d]`")
    message = str(missing_dependency("LunarLander-v2", exc))
    assert message.startswith("env.id = LunarLander-v2: a dependency is missing: box2D is not installed")
    assert "pip install 'gailctl[box2d]'" in message and "\n" not in message


@pytest.mark.parametrize("override, expected", [
    ("record.human.noop=-1", "record.human.noop = -1: a discrete action must be an integer >= 0"),
    ("record.human.noop=rep", "record.human.noop = rep: expected an action: an integer >= 0 (discrete) or a list of "
                              "numbers (continuous), or repeat"),
    ("record.human.keys={a: 1.5}", "record.human.keys.a = 1.5: expected an action"),
    ("record.human.keys={a: [1, x]}", "record.human.keys.a = [1, x]: expected an action"),
])
def test_a_wrong_action_is_one_message_naming_the_key(override: str, expected: str) -> None:
    message = human_error(override)
    assert message.startswith(f"--set {override.split('=')[0]}: {expected}") and "more error" not in message
