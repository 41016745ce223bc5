"""The tune search space and objectives: parsing, one-line errors, the numbers a study maximises."""

from __future__ import annotations

from pathlib import Path

import pytest

from gailctl.core.config_load import load_config, parse_overrides
from gailctl.core.errors import ConfigError
from gailctl.experiments.tune_space import (
    ChoiceDist,
    FloatDist,
    IntDist,
    baseline_params,
    bound_checks,
    load_space,
    objective_auc,
    objective_final,
    objective_of_run,
    objective_stable,
    override,
    parse_space,
    run_scores,
)

ROOT = Path(__file__).resolve().parents[2]


def test_space_parses_each_kind() -> None:
    space = parse_space({"objective": "final", "params": {
        "gail.ppo.learning_rate": {"float": ["1e-4", 3.0e-3], "log": True},  # YAML 1.1 reads 1e-4 as a string
        "gail.n_disc_updates_per_round": {"int": [1, 8]},
        "gail.reward_net.hid_sizes": {"choice": [[32, 32], [64, 64]]},
        "gail.gen_replay_buffer_capacity": {"choice": [None, 512]},
    }}, source="s.yaml")
    assert space.objective == "final"
    lr = space.params["gail.ppo.learning_rate"]
    assert isinstance(lr, FloatDist) and lr.bounds == (1e-4, 3e-3) and lr.log
    assert isinstance(space.params["gail.n_disc_updates_per_round"], IntDist)
    nets = space.params["gail.reward_net.hid_sizes"]
    assert isinstance(nets, ChoiceDist)
    assert nets.optuna_choices() == ("[32, 32]", "[64, 64]")  # Optuna's categoricals hold scalars only
    assert nets.value_of("[64, 64]") == [64, 64]
    assert nets.to_optuna((32, 32)) == "[32, 32]"
    assert parse_space({"params": {"gail.disc_lr": {"float": [0.1, 0.2]}}}, source="s").objective == "auc"


@pytest.mark.parametrize("data,text", [
    ({"params": {"a": {"float": [1, 0]}}}, "s.yaml: params.a: float = [1.0, 0.0]: low must be below high"),
    ({"params": {"a": {"float": [0, 1], "log": True}}}, "params.a: float = [0.0, 1.0] with log: true: low must be above 0"),
    ({"params": {"a": {"float": [1, "x"]}}}, "s.yaml: params.a.float.1 = x: input should be a valid number"),
    ({"params": {"a": {"int": [1, True]}}}, "params.a.int.1 = true: input should be a valid integer"),
    ({"params": {"a": {"int": [1, 8], "lg": True}}}, "params.a.lg: unknown key; an int distribution takes: int, log, step"),
    ({"params": {"a": {"int": [1, 8], "step": 3}}}, "high - low must be a multiple of step"),
    ({"params": {"a": {"choice": [1]}}}, "params.a: choice = [1]: give at least two values"),
    ({"params": {"a": {"choice": [1, 2, 1]}}}, "params.a: choice: the value 1 is listed twice"),
    ({"params": {"a": {"float": [1, 2], "int": [1, 2]}}}, "params.a: expected one of {float: [low, high]}"),
    ({"params": {"a": 3}}, "params.a: expected one of"),
    ({"params": {"seed": {"int": [0, 4]}}}, "params.seed: seeds come from --seeds"),
    ({"params": {"a..b": {"int": [0, 4]}}}, "expected a dotted config key"),
    ({"params": {}}, "s.yaml: params: expected a mapping of dotted config keys"),
    ({"objective": "mean", "params": {"a": {"int": [0, 4]}}}, "s.yaml: objective = mean: expected one of: auc, final, stable"),
    ({"parms": {}}, "s.yaml: parms: unknown key; expected one of: objective, params"),
    ([1, 2], "s.yaml: expected a mapping with `params:`"),
])
def test_bad_space_is_one_line_naming_file_and_key(data: object, text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_space(data, source="s.yaml")
    message = str(info.value)
    assert text in message and "\n" not in message and message.startswith("s.yaml: ")


def test_load_space_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="space file not found"):
        load_space(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("params: {a: {int: [1, 2]}\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: invalid YAML at line 2"):
        load_space(bad)


def test_shipped_cartpole_space_contains_the_config_defaults() -> None:
    """configs/tune/cartpole.yaml is built around configs/cartpole.yaml: trial 0 is the config as it is."""
    space, _ = load_space(ROOT / "configs/tune/cartpole.yaml")
    cfg = load_config(ROOT / "configs/cartpole.yaml")
    assert baseline_params(space, cfg).keys() == space.params.keys()
    for _, items in bound_checks(space):  # every bound, and all lows / all highs together, validate
        load_config(ROOT / "configs/cartpole.yaml", items)


def test_overrides_read_back_as_the_same_values() -> None:
    for key, value in [("gail.disc_lr", 1e-5), ("gail.disc_lr", 0.00123456789), ("gail.ppo.n_epochs", 7),
                       ("gail.lr_schedule", "linear"), ("gail.gen_replay_buffer_capacity", None),
                       ("gail.reward_net.hid_sizes", [64, 64]), ("x", "1")]:
        assert parse_overrides([override(key, value)])[key] == value


def test_baseline_keeps_only_values_inside_the_space() -> None:
    cfg = load_config(None, ["gail.disc_lr=0.01", "gail.n_disc_updates_per_round=4"])
    space = parse_space({"params": {"gail.disc_lr": {"float": [1e-4, 3e-3]},
                                    "gail.n_disc_updates_per_round": {"int": [2, 8], "step": 2},
                                    "gail.lr_schedule": {"choice": ["linear", "constant"]}}}, source="s")
    assert baseline_params(space, cfg) == {"gail.n_disc_updates_per_round": 4, "gail.lr_schedule": "constant"}


def test_bound_checks_each_bound_then_all_lows_and_all_highs() -> None:
    space = parse_space({"params": {"gail.ppo.n_steps": {"int": [16, 64]},
                                    "gail.demo_batch_size": {"choice": [128, 256, 512]}}}, source="s")
    items = [tuple(i) for _, i in bound_checks(space)]
    assert items == [("gail.ppo.n_steps=16",), ("gail.ppo.n_steps=64",), ("gail.demo_batch_size=128",),
                     ("gail.demo_batch_size=256",), ("gail.demo_batch_size=512",),
                     ("gail.ppo.n_steps=16", "gail.demo_batch_size=128"), ("gail.ppo.n_steps=64", "gail.demo_batch_size=512")]


def test_objectives() -> None:
    scores = [0.2, 0.96, 0.5, 0.97, 1.0]
    assert objective_auc(scores) == pytest.approx(0.726)
    assert objective_final(list(range(20))) == pytest.approx(14.5)  # the last 10
    assert objective_final([0.5, 1.0]) == pytest.approx(0.75)
    assert objective_stable(scores) == pytest.approx(2 / 3)  # after the 0.96: 0.5, 0.97, 1.0
    assert objective_stable([0.1, 0.5]) == 0.0  # never reached
    assert objective_stable([0.1, 0.99]) == 0.0  # reached only at the last evaluation: nothing shows it stayed
    assert objective_stable([0.99, 0.95, 1.0]) == 1.0


def test_run_scores_skip_step_zero_and_rounds_without_evaluation(tmp_path: Path) -> None:
    (tmp_path / "metrics.csv").write_text(
        "round,n_env_steps,disc_loss,normalized_score\n"
        "0,0,,0.83\n"  # the untrained generator: the same in every trial of a seed
        "1,512,0.7,\n"
        "2,1024,0.7,0.25\n"
        "3,1536,0.6,\n"
        "4,2048,0.6,0.75\n")
    assert run_scores(tmp_path) == [0.25, 0.75]
    assert objective_of_run("auc", tmp_path) == pytest.approx(0.5)
    (tmp_path / "metrics.csv").write_text("round,n_env_steps,normalized_score\n0,0,0.5\n")
    with pytest.raises(ValueError, match="no evaluation"):
        objective_of_run("auc", tmp_path)
