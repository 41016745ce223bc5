"""record.min_upright_share: the config's checks and which episodes are kept, without a simulator."""

from __future__ import annotations

import pytest

from gailctl.core.config_load import load_config
from gailctl.core.errors import ConfigError, Unattainable
from gailctl.core.upright_tasks import has_upright_test
from gailctl.rl.upright_filter import Selection, check_enough, enough_kept, select


@pytest.mark.parametrize("env_id, expected", [
    ("seals/Hopper-v1", True), ("seals/Walker2d-v1", True), ("seals/Ant-v1", True), ("Humanoid-v4", True),
    ("Hopper-v4", True), ("seals/HalfCheetah-v1", False), ("seals/Swimmer-v1", False), ("HumanoidStandup-v4", False),
    ("seals/CartPole-v0", False), ("LunarLander-v2", False), ("Ant", False),
])
def test_tasks_with_an_upright_test_are_told_by_id(env_id: str, expected: bool) -> None:
    assert has_upright_test(env_id) is expected


@pytest.mark.parametrize("env_id", ["seals/CartPole-v0", "seals/HalfCheetah-v1"])
def test_min_upright_share_on_a_task_without_an_upright_test_is_a_config_error(env_id: str) -> None:
    with pytest.raises(ConfigError, match=r"record\.min_upright_share = 0\.9: env\.id = .* has no upright test"):
        load_config(None, [f"env.id={env_id}", "record.min_upright_share=0.9"])


def test_min_upright_share_on_a_locomotion_task_and_its_cap() -> None:
    cfg = load_config(None, ["env.id=seals/Walker2d-v1", "record.min_upright_share=0.9", "record.n_episodes=25"])
    assert cfg.record.min_upright_share == 0.9 and cfg.record.episode_cap == 100
    assert load_config(None, ["record.max_episodes=30", "record.n_episodes=25"]).record.episode_cap == 30
    assert load_config(None).record.min_upright_share is None  # by default every episode is kept


@pytest.mark.parametrize("override, message", [
    ("record.min_upright_share=1.5", "less than or equal to 1"),
    ("record.min_upright_share=-0.1", "greater than or equal to 0"),
    ("record.max_episodes=10", r"record\.max_episodes = 10: must be at least record\.n_episodes = 20"),
])
def test_bad_values_name_the_key(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(None, ["env.id=seals/Hopper-v1", override])


def test_select_keeps_the_first_upright_enough_in_order() -> None:
    shares = [0.18, 1.0, 0.95, 0.9, 0.89, 1.0, 0.99]
    chosen = select(shares, min_share=0.9, n_wanted=3)
    assert chosen == Selection(kept=(1, 2, 3), dropped=(0, 4), unused=(5, 6))


def test_select_without_a_threshold_keeps_every_episode() -> None:
    assert select([None, 0.1, None], min_share=None, n_wanted=3) == Selection(kept=(0, 1, 2), dropped=(), unused=())
    assert select([0.5, None], min_share=0.5, n_wanted=2).dropped == (1,)  # unknown share never passes a threshold


def test_rolling_out_stops_at_enough_kept_or_at_the_cap() -> None:
    assert not enough_kept([0.1, 1.0], min_share=0.9, n_wanted=2, cap=4)
    assert enough_kept([0.1, 1.0, 0.95], min_share=0.9, n_wanted=2, cap=4)
    assert enough_kept([0.1, 0.2, 0.3, 0.4], min_share=0.9, n_wanted=2, cap=4)  # the cap


def test_too_few_kept_at_the_cap_is_an_exit_2_error_naming_the_keys() -> None:
    chosen = select([0.1, 0.95, 0.3, 0.2], min_share=0.9, n_wanted=2)
    with pytest.raises(Unattainable, match=r"record\.min_upright_share = 0\.9: only 1 of 4 episodes .*record\.max_episodes"
                                         r".*2 needed \(record\.n_episodes\)") as info:
        check_enough(chosen, n_wanted=2, n_rolled_out=4, min_share=0.9)
    assert info.value.exit_code == 2 and "\n" not in str(info.value)
    check_enough(select([0.95, 0.91], min_share=0.9, n_wanted=2), n_wanted=2, n_rolled_out=2, min_share=0.9)
