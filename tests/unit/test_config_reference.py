"""The generated config reference lists every key of the schema, described, with its real default."""

from __future__ import annotations

from typing import Any

import pytest
from gailctl.core.config import Config, GailConfig, PPOConfig, PublishedResults
from gailctl.core.config_reference import config_keys, markdown, type_name


def dumped_keys(data: dict[str, Any], prefix: str = "") -> list[str]:
    """Every dotted key of a default config's dump, found without the generator (sections are mappings;
    an empty mapping is a key whose value is one, such as expert.env_kwargs)."""
    out = []
    for name, value in data.items():
        out += dumped_keys(value, f"{prefix}{name}.") if isinstance(value, dict) and value else [f"{prefix}{name}"]
    return out


def test_every_config_key_is_in_the_reference_once_and_described():
    documented = [k.key for k in config_keys()]
    # bench.published is unset by default, so the dump holds it as one key; the reference lists its fields.
    published = [f"bench.published.{name}" for name in PublishedResults.model_fields]
    dumped = [k for k in dumped_keys(Config().model_dump()) if k != "bench.published"]
    assert sorted(documented) == sorted([*dumped, *published])
    assert len(documented) == len(set(documented))
    page = markdown()
    for k in config_keys():
        assert f"| `{k.key}` |" in page
        assert k.description, f"{k.key}: no docstring under its field in gailctl/core/config.py"


def test_reference_defaults_are_the_models_defaults():
    by_key = {k.key: k for k in config_keys()}
    assert by_key["gail.total_timesteps"].default == str(GailConfig().total_timesteps)
    assert by_key["gail.ppo.learning_rate"].default == f"{PPOConfig().learning_rate:g}"
    assert by_key["env.id"].default == Config().env.id
    assert by_key["gail.demos"].default == "unset" and by_key["gail.demos"].type == "path"
    assert by_key["expert.ppo.net_arch"].default == "[64, 64]"
    assert by_key["bench.published.source"].default == "required"  # a key of an optional section


@pytest.mark.parametrize("key, words", [
    ("env.n_envs", ["integer", "> 0", "<= 256"]),
    ("gail.total_timesteps", ["integer", "> 0", "<= 1,000,000,000"]),
    ("gail.ppo.gamma", ["number", "> 0", "<= 1"]),
    ("gail.lr_schedule", ["`constant`", "`linear`"]),
    ("expert.ppo.sde_sample_freq", [">= -1"]),
    ("record.human.keys", ["mapping"]),
])
def test_reference_states_each_constraint_the_schema_enforces(key, words):
    doc = next(k for k in config_keys() if k.key == key)
    text = f"{doc.type}, {doc.constraint}"
    for word in words:
        assert word in text, (key, text)


def test_type_names_read_as_yaml_writers_read_them():
    assert type_name(bool) == ("boolean", [])
    assert type_name(tuple[int, ...])[0] == "list of integers"
