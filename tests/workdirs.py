"""A working directory as the CLI and experiment tests use: a config file and a demonstrations folder."""

from __future__ import annotations

from pathlib import Path

import pytest


def make_workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config_text: str) -> Path:
    """`tmp_path` as the working directory, holding `exp.yaml` and `demos_run/demos/` (a stand-in dataset)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exp.yaml").write_text(config_text)
    demos = tmp_path / "demos_run" / "demos"
    demos.mkdir(parents=True)
    (demos / "dataset_info.json").write_text("{}")
    return tmp_path
