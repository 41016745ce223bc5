"""gailctl.core.config and config_load: YAML -> frozen, validated Config; `--set` overrides; one-line errors."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest
import yaml

from gailctl.core.config import Config, References
from gailctl.core.config_load import config_from_dict, config_to_yaml, load_config, parse_overrides
from gailctl.core.errors import ConfigError, UsageError
from gailctl.core.paths import file_path_keys

PATH_KEYS = set(file_path_keys(Config))

REPO = Path(__file__).resolve().parents[2]
CARTPOLE = REPO / "configs" / "cartpole.yaml"


def write(tmp_path: Path, text: str, name: str = "exp.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(path, overrides=None) -> str:
    """The ConfigError message of loading `path` with `overrides`; it must be one line."""
    with pytest.raises(ConfigError) as info:
        load_config(path, overrides)
    message = str(info.value)
    assert "\n" not in message, f"multi-line error message: {message!r}"
    return message


# --- the shipped config ----------------------------------------------------------------


def _leaves(tree, prefix=""):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _get(cfg, dotted):
    node = cfg
    for part in dotted.split("."):
        node = getattr(node, part)
    return node


def test_cartpole_yaml_loads_every_value_it_states():
    """Each leaf written in configs/cartpole.yaml is what the typed config holds."""
    cfg = load_config(CARTPOLE)
    assert isinstance(cfg, Config)
    raw = yaml.safe_load(CARTPOLE.read_text())
    leaves = dict(_leaves(raw))
    assert len(leaves) > 20  # the walk really visited the file
    for dotted, value in leaves.items():
        got = _get(cfg, dotted)
        if tuple(dotted.split(".")) in PATH_KEYS:  # written relative to the file's folder, held absolute
            assert Path(got).is_absolute() and Path(got).resolve() == (CARTPOLE.parent / value).resolve(), dotted
        elif isinstance(value, float):
            assert got == pytest.approx(value), dotted
        elif isinstance(value, list):  # lists are stored as tuples: the config is frozen all the way down
            assert got == tuple(value), dotted
        else:
            assert got == value, dotted


def test_cartpole_yaml_types():
    cfg = load_config(CARTPOLE)
    assert type(cfg.seed) is int
    assert type(cfg.env.n_envs) is int
    assert type(cfg.expert.ppo.learning_rate) is float
    assert type(cfg.gail.disc_lr) is float
    assert type(cfg.references.random_return) is float and type(cfg.references.expert_return) is float
    assert all(type(n) is int for n in cfg.gail.ppo.net_arch)
    assert type(cfg.record.deterministic) is bool
    # derived value: one generator rollout = gail.ppo.n_steps x env.n_envs
    assert cfg.gail_steps_per_round == cfg.gail.ppo.n_steps * cfg.env.n_envs


def test_round_trip_through_config_to_yaml(tmp_path):
    cfg = load_config(CARTPOLE)
    text = config_to_yaml(cfg)
    again = load_config(write(tmp_path, text, "resolved.yaml"))
    assert again == cfg
    assert again.model_dump() == cfg.model_dump()
    # the resolved YAML holds every field, defaults included (it documents the run)
    assert yaml.safe_load(text)["gail"]["disc_lr"] == pytest.approx(1e-3)
    assert "allow_variable_horizon" in yaml.safe_load(text)["env"]


def test_round_trip_of_overridden_config(tmp_path):
    cfg = load_config(CARTPOLE, ["seed=7", "gail.reward_net.hid_sizes=[16]", "env.max_episode_steps=200"])
    again = load_config(write(tmp_path, config_to_yaml(cfg), "resolved.yaml"))
    assert again == cfg
    assert again.seed == 7 and again.gail.reward_net.hid_sizes == (16,) and again.env.max_episode_steps == 200


def test_defaults_without_a_file_are_valid():
    cfg = load_config(None)
    assert cfg == Config()


def test_config_is_frozen():
    cfg = load_config(CARTPOLE)
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        cfg.seed = 3  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        cfg.env.n_envs = 1  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        cfg.gail.ppo.gamma = 0.5  # type: ignore[misc]
    assert cfg.seed == 0 and cfg.env.n_envs == 8 and cfg.gail.ppo.gamma == pytest.approx(0.95)


def test_config_error_is_a_usage_error():
    # the CLI maps UsageError to exit code 2
    assert issubclass(ConfigError, UsageError)
    assert ConfigError.exit_code == 2


# --- bad files, table-driven -----------------------------------------------------------

BAD_FILES = [
    pytest.param(
        "gail:\n  demo_batchsize: 4\n",
        [
            "gail.demo_batchsize: unknown key",
            "did you mean gail.demo_batch_size?",
            "expected one of:",
            "demo_batch_size",
            "total_timesteps",
            "n_disc_updates_per_round",
        ],
        id="unknown-key-near-miss",
    ),
    pytest.param(
        "gial:\n  total_timesteps: 4\n",
        ["gial: unknown key", "did you mean gail?", "expected one of: bc, bench, dagger, env, eval, expert, gail, record, references, seed"],
        id="unknown-section",
    ),
    pytest.param(
        "gail:\n  reward_net:\n    hid_szes: [8]\n",
        ["gail.reward_net.hid_szes: unknown key", "did you mean gail.reward_net.hid_sizes?", "normalize_input"],
        id="unknown-nested-key",
    ),
    pytest.param(
        "env:\n  n_envs: eight\n",
        ["env.n_envs = eight", "integer"],
        id="wrong-type",
    ),
    pytest.param(
        "gail:\n  demo_batch_size: -4\n",
        ["gail.demo_batch_size = -4", "greater than 0"],
        id="negative-batch",
    ),
    pytest.param(
        "gail:\n  demo_batch_size: 1.5\n",
        ["gail.demo_batch_size = 1.5", "integer"],
        id="fractional-int",
    ),
    pytest.param(
        "expert:\n  ppo:\n    gamma: 1.5\n",
        ["expert.ppo.gamma = 1.5", "less than or equal to 1"],
        id="gamma-above-1",
    ),
    pytest.param(
        "gail:\n  ppo:\n    gamma: 0\n",
        ["gail.ppo.gamma = 0", "greater than 0"],
        id="gamma-zero",
    ),
    pytest.param(
        "seed: -1\n",
        ["seed = -1", "greater than or equal to 0"],
        id="negative-seed",
    ),
    pytest.param(
        "env:\n  n_envs: 2\nexpert:\n  ppo:\n    n_steps: 16\n    batch_size: 64\n",
        ["expert.ppo.batch_size = 64", "at most one rollout", "expert.ppo.n_steps x env.n_envs = 32"],
        id="batch-larger-than-rollout",
    ),
    pytest.param(
        "env:\n  n_envs: 2\ngail:\n  total_timesteps: 100\n  ppo:\n    n_steps: 64\n    batch_size: 64\n",
        ["gail.total_timesteps = 100", "at least one round", "gail.ppo.n_steps x env.n_envs = 128"],
        id="gail-budget-below-one-round",
    ),
    pytest.param(
        "env:\n  absorb_after_done: true\n",
        ["env.absorb_after_done = true", "env.max_episode_steps"],
        id="absorb-without-limit",
    ),
    pytest.param(
        "references:\n  random_return: 20\n  expert_return: 20\n",
        ["references.expert_return = 20", "must differ from references.random_return"],
        id="equal-references",
    ),
    pytest.param(
        "- env\n- gail\n",
        ["expected a mapping of sections at the top level", "list"],
        id="top-level-list",
    ),
    pytest.param(
        "just a string\n",
        ["expected a mapping of sections at the top level", "str"],
        id="top-level-scalar",
    ),
    pytest.param(
        "env: 3\n",
        ["env = 3", "dictionary"],
        id="section-not-a-mapping",
    ),
]


@pytest.mark.parametrize("text, fragments", BAD_FILES)
def test_bad_config_file_gives_one_line_error_naming_file_key_and_value(tmp_path, text, fragments):
    path = write(tmp_path, text)
    message = config_error(path)
    assert message.startswith(f"{path}: "), message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert "--set" not in message  # nothing came from an override


def test_missing_file(tmp_path):
    path = tmp_path / "nope" / "missing.yaml"
    message = config_error(path)
    assert message == f"{path}: config file not found"


def test_invalid_yaml_reports_line_and_column(tmp_path):
    path = write(tmp_path, "env:\n  id: CartPole-v1\n  n_envs: [8\n  max_episode_steps: 3\n")
    message = config_error(path)
    assert message.startswith(f"{path}: invalid YAML at line 4, column 20: ")
    assert "expected ',' or ']'" in message


def test_yaml_with_a_tab_reports_its_line(tmp_path):
    path = write(tmp_path, "seed: 1\nenv:\n\tid: x\n")
    message = config_error(path)
    assert f"{path}: invalid YAML at line 3" in message


def test_unreadable_path_is_a_directory(tmp_path):
    message = config_error(tmp_path)
    assert message.startswith(f"{tmp_path}: cannot read config")


def test_unreadable_file_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("seed: 1\nenv:\n  id: caf\xe9\n".encode("latin-1"))
    message = config_error(path)
    assert message.startswith(f"{path}: cannot read config")


def test_empty_file_means_all_defaults(tmp_path):
    assert load_config(write(tmp_path, "")) == Config()
    assert load_config(write(tmp_path, "# only a comment\n", "c.yaml")) == Config()


def test_absorb_after_done_with_limit_is_fine(tmp_path):
    cfg = load_config(write(tmp_path, "env:\n  absorb_after_done: true\n  max_episode_steps: 200\n"))
    assert cfg.env.absorb_after_done and cfg.env.max_episode_steps == 200


def test_float_written_3e_4_in_yaml_validates_as_float(tmp_path):
    text = "expert:\n  ppo:\n    learning_rate: 3e-4\ngail:\n  disc_lr: 1e-3\n"
    # PyYAML (YAML 1.1) reads 3e-4 without a dot as a string...
    assert yaml.safe_load(text)["expert"]["ppo"]["learning_rate"] == "3e-4"
    # ...the float fields still turn it into a number
    cfg = load_config(write(tmp_path, text))
    assert type(cfg.expert.ppo.learning_rate) is float
    assert cfg.expert.ppo.learning_rate == pytest.approx(3e-4)
    assert type(cfg.gail.disc_lr) is float and cfg.gail.disc_lr == pytest.approx(1e-3)


@pytest.mark.parametrize("text", ["env:\n  n_envs: true\n", "seed: yes\n"], ids=["n_envs-true", "seed-yes"])
def test_boolean_for_an_integer_is_refused(tmp_path, text):
    config_error(write(tmp_path, text))


def test_error_for_a_long_value_stays_on_one_line(tmp_path):
    long_value = "a very long and wrong value " * 5
    path = write(tmp_path, f"env:\n  n_envs: {long_value}\n")
    message = config_error(path)  # asserts one line
    assert "env.n_envs = " in message


@pytest.mark.parametrize("overrides", [[], ["gail.demos=demos_run"]], ids=["no-set", "with-set"])
def test_section_with_every_key_commented_out_means_defaults(tmp_path, overrides):
    path = write(tmp_path, "seed: 1\ngail:\n  # demos: experts/cartpole/demos\n  # n_demos: 4\n")
    cfg = load_config(path, overrides)
    assert cfg.seed == 1
    assert cfg.gail.total_timesteps == Config().gail.total_timesteps


# --- --set overrides -------------------------------------------------------------------


def test_parse_overrides_reads_values_as_yaml():
    parsed = parse_overrides(
        [
            "gail.total_timesteps=20000",
            "seed=3",
            "expert.ppo.learning_rate=3.0e-4",
            "gail.reward_net.hid_sizes=[32,32]",
            "record.deterministic=true",
            "env.id=seals/CartPole-v0",
            "gail.demos=a=b",  # only the first '=' separates key and value
        ]
    )
    assert parsed == {
        "gail.total_timesteps": 20000,
        "seed": 3,
        "expert.ppo.learning_rate": pytest.approx(3e-4),
        "gail.reward_net.hid_sizes": [32, 32],
        "record.deterministic": True,
        "env.id": "seals/CartPole-v0",
        "gail.demos": "a=b",
    }
    assert type(parsed["gail.total_timesteps"]) is int
    assert type(parsed["expert.ppo.learning_rate"]) is float
    assert parsed["record.deterministic"] is True


def test_set_overrides_reach_the_config_typed():
    cfg = load_config(
        CARTPOLE,
        [
            "gail.total_timesteps=20000",
            "seed=3",
            "expert.ppo.learning_rate=3e-4",
            "gail.ppo.learning_rate=3.0e-4",
            "gail.reward_net.hid_sizes=[16,16]",
            "record.deterministic=true",
            "env.max_episode_steps=300",
        ],
    )
    assert cfg.gail.total_timesteps == 20000 and type(cfg.gail.total_timesteps) is int
    assert cfg.seed == 3
    assert type(cfg.expert.ppo.learning_rate) is float and cfg.expert.ppo.learning_rate == pytest.approx(3e-4)
    assert cfg.gail.ppo.learning_rate == pytest.approx(3e-4)
    assert cfg.gail.reward_net.hid_sizes == (16, 16)
    assert cfg.record.deterministic is True
    assert cfg.env.max_episode_steps == 300
    # untouched values keep the file's
    assert cfg.gail.demo_batch_size == 500 and cfg.env.n_envs == 8


def test_later_set_wins():
    assert load_config(CARTPOLE, ["seed=1", "seed=9"]).seed == 9


def test_set_on_defaults_without_a_file():
    cfg = load_config(None, ["env.id=CartPole-v1", "env.n_envs=2", "seed=4"])
    assert (cfg.env.id, cfg.env.n_envs, cfg.seed) == ("CartPole-v1", 2, 4)


def test_set_does_not_modify_the_file(tmp_path):
    path = write(tmp_path, CARTPOLE.read_text())
    load_config(path, ["seed=5"])
    assert path.read_text() == CARTPOLE.read_text()


BAD_SETS = [
    pytest.param(["gail.demo_batch_size=-4"], "--set gail.demo_batch_size: gail.demo_batch_size = -4", id="range"),
    pytest.param(["env.n_envs=eight"], "--set env.n_envs: env.n_envs = eight", id="type"),
    pytest.param(["expert.ppo.gamma=1.5"], "--set expert.ppo.gamma: expert.ppo.gamma = 1.5", id="gamma"),
    pytest.param(
        ["gail.demo_batchsize=3"],
        "--set gail.demo_batchsize: gail.demo_batchsize: unknown key (did you mean gail.demo_batch_size?)",
        id="unknown-key",
    ),
    pytest.param(["bogus=3"], "--set bogus: bogus: unknown key", id="unknown-section"),
    pytest.param(["seed=-2"], "--set seed: seed = -2", id="seed"),
    pytest.param(["bench.quick_budget=1.5"], "--set bench.quick_budget: bench.quick_budget = 1.5", id="quick-budget"),
    pytest.param(["bench.quick_budget=0"], "--set bench.quick_budget: bench.quick_budget = 0", id="quick-budget-zero"),
]


@pytest.mark.parametrize("overrides, prefix", BAD_SETS)
def test_bad_override_names_the_set_key_not_the_file(overrides, prefix):
    message = config_error(CARTPOLE, overrides)
    assert message.startswith(prefix), message
    assert str(CARTPOLE) not in message  # the file is fine; the flag is at fault


def test_bad_value_in_file_still_names_the_file_when_other_keys_are_set(tmp_path):
    path = write(tmp_path, "gail:\n  demo_batch_size: -4\n")
    message = config_error(path, ["seed=2"])
    assert message.startswith(f"{path}: gail.demo_batch_size = -4")


@pytest.mark.parametrize("item", ["noequals", "=3", " =3", ".x=1", "gail..demos=1", "gail.=1"])
def test_malformed_set_is_a_config_error(item):
    with pytest.raises(ConfigError) as info:
        parse_overrides([item])
    message = str(info.value)
    assert message.startswith(f"--set {item!r}: expected KEY=VALUE")
    # and through load_config too
    with pytest.raises(ConfigError):
        load_config(CARTPOLE, [item])


def test_set_with_empty_value_gives_empty_string():
    assert parse_overrides(["gail.demos="]) == {"gail.demos": ""}


def test_override_through_a_scalar_raises():
    message = config_error(CARTPOLE, ["seed.x=1"])
    assert message == "--set seed.x: seed is a value, not a section"
    message = config_error(CARTPOLE, ["env.id.name=1"])
    assert message == "--set env.id.name: env.id is a value, not a section"


@pytest.mark.parametrize("path", [None, CARTPOLE], ids=["defaults", "file-without-the-key"])
def test_override_through_a_default_scalar_names_the_set_key(path):
    message = config_error(path, ["env.max_episode_steps.x=1"])
    assert message.startswith("--set env.max_episode_steps.x"), message


_SHIPPED = load_config(CARTPOLE)
_ROUND = _SHIPPED.gail_steps_per_round
_EXPERT_ROLLOUT = _SHIPPED.expert.ppo.n_steps * _SHIPPED.env.n_envs


@pytest.mark.parametrize(
    "override, key",
    [
        (f"gail.total_timesteps={_ROUND - 1}", "gail.total_timesteps"),
        (f"expert.ppo.batch_size={_EXPERT_ROLLOUT + 1}", "expert.ppo.batch_size"),
        ("env.absorb_after_done=true", "env.absorb_after_done"),
    ],
)
def test_cross_field_error_from_set_names_the_set_key(override, key):
    message = config_error(CARTPOLE, [override])
    assert message.startswith(f"--set {key}"), message
    assert str(CARTPOLE) not in message


def test_cross_field_error_from_set_is_still_refused_with_key_and_value():
    # what works today, whatever the origin label: the key, the value and the limit
    message = config_error(CARTPOLE, [f"gail.total_timesteps={_ROUND - 1}"])
    assert f"gail.total_timesteps = {_ROUND - 1}" in message and f"= {_ROUND}" in message
    load_config(CARTPOLE, [f"gail.total_timesteps={_ROUND}"])  # exactly one round is enough


# --- references ------------------------------------------------------------------------


def test_normalize_random_is_0_expert_is_1():
    refs = References(random_return=20.0, expert_return=500.0)
    assert refs.normalize(20.0) == pytest.approx(0.0)
    assert refs.normalize(500.0) == pytest.approx(1.0)
    assert refs.normalize(260.0) == pytest.approx(0.5)
    assert refs.normalize(0.0) == pytest.approx(-20 / 480)  # below random: negative


def test_normalize_with_negative_returns():
    refs = References(random_return=-1200.0, expert_return=-200.0)
    assert refs.normalize(-1200.0) == pytest.approx(0.0)
    assert refs.normalize(-200.0) == pytest.approx(1.0)
    assert refs.normalize(-700.0) == pytest.approx(0.5)


@pytest.mark.parametrize(
    "refs",
    [References(), References(random_return=10.0), References(expert_return=500.0)],
    ids=["none", "random-only", "expert-only"],
)
def test_normalize_is_none_when_a_reference_is_missing(refs):
    assert refs.normalize(123.0) is None


def test_cartpole_references_normalize():
    refs = load_config(CARTPOLE).references
    assert refs.normalize(refs.expert_return) == pytest.approx(1.0)
    assert refs.normalize(refs.random_return) == pytest.approx(0.0)


def test_expert_n_envs_overrides_env_n_envs_for_the_expert_only():
    cfg = config_from_dict({"env": {"n_envs": 8}, "expert": {"n_envs": 1, "ppo": {"n_steps": 2048, "batch_size": 64}},
                            "gail": {"ppo": {"n_steps": 256, "batch_size": 256}}}, source="t.yaml")
    assert (cfg.expert_env.n_envs, cfg.env.n_envs) == (1, 8)
    assert (cfg.expert_steps_per_rollout, cfg.gail_steps_per_round) == (2048, 2048)
    assert config_from_dict({"env": {"n_envs": 4}}, source="t.yaml").expert_env.n_envs == 4
    with pytest.raises(ConfigError, match=r"expert.ppo.batch_size = 64: must be at most one rollout, expert.ppo.n_steps x expert.n_envs = 32"):
        config_from_dict({"expert": {"n_envs": 2, "ppo": {"n_steps": 16, "batch_size": 64}}}, source="t.yaml")


def test_expert_env_kwargs_are_typed_and_settable_one_by_one(tmp_path):
    path = write(tmp_path, "expert:\n  env_kwargs:\n    terminate_when_unhealthy: true\n    healthy_z_range: [0.7, 2]\n")
    cfg = load_config(path, ["expert.env_kwargs.healthy_reward=3.0"])
    assert cfg.expert.env_kwargs == {"terminate_when_unhealthy": True, "healthy_z_range": (0.7, 2), "healthy_reward": 3.0}
    assert load_config(CARTPOLE).expert.env_kwargs == {}
    # round trip through the run folder's config.yaml
    assert config_from_dict(yaml.safe_load(config_to_yaml(cfg)), source="run").expert.env_kwargs == cfg.expert.env_kwargs


def test_expert_env_kwargs_refuse_what_gymnasium_make_cannot_take(tmp_path):
    message = config_error(CARTPOLE, ["expert.env_kwargs.healthy_reward={a: 1}"])
    assert message.startswith("--set expert.env_kwargs.healthy_reward: expert.env_kwargs.healthy_reward = {a: 1}: "
                              "expected a gymnasium.make keyword value"), message
    assert config_error(CARTPOLE, ["expert.env_kwargs=3"]).startswith("--set expert.env_kwargs: expert.env_kwargs = 3")
