"""A working directory as the CLI and experiment tests use: a config file and a demonstrations folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml


def make_workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config_text: str) -> Path:
    """`tmp_path` as the working directory, holding `exp.yaml` and `demos_run/demos/` (a stand-in dataset
    that names the config's env, as `gailctl record` writes it)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exp.yaml").write_text(config_text)
    demos = tmp_path / "demos_run" / "demos"
    demos.mkdir(parents=True)
    (demos / "dataset_info.json").write_text("{}")
    env_id = ((yaml.safe_load(config_text) or {}).get("env") or {}).get("id", "seals/CartPole-v0")
    (demos / "gailctl_demos.json").write_text(json.dumps({"format": 1, "env_id": env_id}))
    return tmp_path
