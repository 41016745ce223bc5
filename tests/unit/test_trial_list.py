"""Which run folder a resumed bench continues each stopped trial in (`trial_list.stopped_runs`)."""

from __future__ import annotations

import json
from pathlib import Path

from gailctl.core.config_load import config_to_yaml, load_config
from gailctl.experiments.trial_list import stopped_runs
from tests.e2e.test_pipeline import ROOT


def trial(seed: int, stage: str = "gail") -> dict:
    cfg = load_config(ROOT / "configs" / "cartpole.yaml", [f"seed={seed}"])
    return {"config": cfg.model_dump(mode="json"), "stage": stage}


def run_folder(trials_dir: Path, name: str, of: dict, *, status: str, checkpoints: tuple[str, ...] = ("round_000005",)) -> Path:
    """A run folder as the gail stage leaves it: config, command, summary, complete checkpoints."""
    from gailctl.core.config_load import config_from_dict

    run = trials_dir / name
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(config_to_yaml(config_from_dict(of["config"], source="test")))
    (run / "command.txt").write_text("cd /x && gailctl gail\n")
    (run / "summary.json").write_text(json.dumps({"stage": of["stage"], "status": status}))
    for name in checkpoints:
        (run / "checkpoints" / name).mkdir(parents=True)
        (run / "checkpoints" / name / "state.pt").write_bytes(b"")
    return run


def test_each_stopped_gail_trial_gets_its_own_furthest_folder(tmp_path: Path) -> None:
    trials = [trial(0), trial(1), trial(2), trial(3), trial(4, stage="bc")]
    a = run_folder(tmp_path, "a", trials[0], status="interrupted")
    run_folder(tmp_path, "b2-early", trials[1], status="running", checkpoints=("round_000005",))
    b = run_folder(tmp_path, "b1-later", trials[1], status="running", checkpoints=("round_000005", "round_000010"))
    run_folder(tmp_path, "c-failed", trials[2], status="failed")  # failed: runs again from the start
    run_folder(tmp_path, "d-no-checkpoint", trials[3], status="interrupted", checkpoints=())
    run_folder(tmp_path, "e-bc", trials[4], status="interrupted")  # BC has no resume
    run_folder(tmp_path, "a0-bc", {**trials[0], "stage": "bc"}, status="interrupted",  # trial 0's BC twin
               checkpoints=("round_000009",))
    run_folder(tmp_path, "f-finished", trials[0], status="finished", checkpoints=("round_000020",))
    (tmp_path / "g-torn").mkdir()
    (tmp_path / "g-torn" / "config.yaml").write_text("seed: [")
    (tmp_path / "g-torn" / "command.txt").write_text("x\n")
    (tmp_path / "g-torn" / "summary.json").write_text('{"status": "running"}')

    assert stopped_runs(tmp_path, trials, [0, 1, 2, 3, 4]) == {0: str(a), 1: str(b)}
    assert stopped_runs(tmp_path, trials, [1]) == {1: str(b)}  # trial 0 finished meanwhile: not pending
    assert stopped_runs(tmp_path / "none", trials, [0, 1]) == {}
