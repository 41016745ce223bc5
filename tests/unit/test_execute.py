"""`core.execution.execute` over several invocations of one run: one clock, every command recorded."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pytest

from gailctl.core.config import Config
from gailctl.core.errors import Interrupted, UsageError
from gailctl.core.execution import execute, run_clock_start


def fake_stage(*, seconds: float, stop: bool):
    """Trains for `seconds`, writes a checkpoint and a metrics row on the run's clock, maybe stops."""

    def fn(cfg: Config, run_dir: Path, resume: bool = False) -> dict:
        t0 = run_clock_start(run_dir)
        time.sleep(seconds)
        (run_dir / "checkpoints" / "step_1").mkdir(exist_ok=True)
        (run_dir / "checkpoints" / "step_1" / "state.pt").write_bytes(b"")
        new = not (run_dir / "metrics.csv").exists()
        with open(run_dir / "metrics.csv", "a", newline="") as fh:
            writer = csv.writer(fh)
            if new:
                writer.writerow(["n_env_steps", "wall_s"])
            writer.writerow([1, round(time.monotonic() - t0, 3)])
        if stop:
            raise Interrupted("stopped")
        return {}

    return fn


def test_resume_continues_one_clock_and_appends_its_command(tmp_path: Path) -> None:
    cfg = Config()
    with pytest.raises(Interrupted):
        execute("expert", fake_stage(seconds=0.3, stop=True), cfg, runs_dir=tmp_path, argv=["gailctl", "expert", "-c", "x.yaml"])
    run = next(tmp_path.iterdir())
    first = json.loads((run / "summary.json").read_text())["wall_s"]
    assert first >= 0.3

    _, summary = execute("expert", fake_stage(seconds=0.3, stop=False), cfg, resume_dir=run,
                         argv=["gailctl", "expert", "--resume", str(run)])
    # The total over both invocations, and the metrics rows on the same clock (never later than it).
    assert summary["wall_s"] >= first + 0.3
    assert "restarts" not in summary  # a graceful stop and resume: no process died
    walls = [float(r["wall_s"]) for r in csv.DictReader(open(run / "metrics.csv"))]
    assert walls[0] <= first and first + 0.3 <= walls[1] <= summary["wall_s"]
    lines = (run / "command.txt").read_text().splitlines()
    assert len(lines) == 2
    # The run folder lies outside the working folder: each line is the command as typed.
    assert lines[0] == "gailctl expert -c x.yaml"
    assert lines[1] == f"gailctl expert --resume {run}  # resumed {summary['resumed'][0]}"


def test_resume_after_sigkill_counts_the_killed_invocation_from_its_metrics(tmp_path: Path) -> None:
    cfg = Config()
    with pytest.raises(Interrupted):
        execute("expert", fake_stage(seconds=0.0, stop=True), cfg, runs_dir=tmp_path, argv=["gailctl", "expert"])
    run = next(tmp_path.iterdir())
    # What a SIGKILL leaves: a summary still `running` from the invocation's start, later metric rows.
    summary = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps({**summary, "status": "running", "wall_s": 0.0}))
    with open(run / "metrics.csv", "a") as fh:
        fh.write("2,5.0\n")
    _, summary = execute("expert", fake_stage(seconds=0.0, stop=False), cfg, resume_dir=run, argv=["gailctl", "expert"])
    assert summary["wall_s"] >= 5.0
    # Its process had died: the summary says so, how far it had got and where it went on from.
    (restart,) = summary["restarts"]
    assert restart["lost_at_n_env_steps"] == 2 and restart["from_checkpoint"] == "step_1"
    assert summary["resumed"] == [restart["at"]]


def test_resume_of_a_run_without_checkpoint_is_refused(tmp_path: Path) -> None:
    def never_checkpoints(cfg: Config, run_dir: Path, resume: bool = False) -> dict:
        raise Interrupted("stopped before the first checkpoint")

    with pytest.raises(Interrupted):
        execute("gail", never_checkpoints, Config(), runs_dir=tmp_path, argv=["gailctl", "gail"])
    run = next(tmp_path.iterdir())
    with pytest.raises(UsageError, match="no checkpoint was written before it stopped"):
        execute("gail", fake_stage(seconds=0.0, stop=False), Config(), resume_dir=run, argv=["gailctl", "gail"])
    assert json.loads((run / "summary.json").read_text())["status"] == "interrupted"
    assert len((run / "command.txt").read_text().splitlines()) == 1


@pytest.mark.parametrize("stage,checkpointed", [("expert", False), ("gail", True), ("bc", False)],
                         ids=["before-first-checkpoint", "after-a-checkpoint", "no-resume-stage"])
def test_a_stop_names_the_run_folder_and_what_resume_will_do(stage: str, checkpointed: bool, tmp_path: Path) -> None:
    def stopped(cfg: Config, run_dir: Path) -> dict:
        if checkpointed:
            (run_dir / "checkpoints" / "round_000001").mkdir()
            (run_dir / "checkpoints" / "round_000001" / "state.pt").write_bytes(b"")
        raise KeyboardInterrupt  # a Ctrl-C outside the stage's own graceful stop (start-up, a second Ctrl-C)

    with pytest.raises(Interrupted) as caught:
        execute(stage, stopped, Config(), runs_dir=tmp_path, argv=["gailctl", stage])
    (run_dir,) = tmp_path.iterdir()
    message = str(caught.value)
    assert message.startswith("interrupted; ") and "\n" not in message
    if checkpointed:
        assert message.endswith(f"continue from its last checkpoint with: gailctl {stage} --resume {run_dir}")
    elif stage == "expert":
        assert f"{run_dir} keeps what was written (summary.json: interrupted)" in message
        assert "stopped before its first checkpoint, so `gailctl expert --resume` has nothing to continue from" in message
        assert str(run_dir / "command.txt") in message
    else:
        assert "`gailctl bc` has no --resume" in message
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["error"] == message


def test_the_command_line_says_it_in_one_line_exit_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import gailctl.stages.expert
    from gailctl.cli import app

    def ctrl_c(cfg: Config, run_dir: Path, **_kw: object) -> dict:
        raise KeyboardInterrupt

    monkeypatch.setattr(gailctl.stages.expert, "run", ctrl_c)
    result = CliRunner().invoke(app, ["expert", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 130
    (run_dir,) = tmp_path.iterdir()
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: interrupted; {run_dir} keeps what was written"), result.stderr


def test_inputs_as_typed_are_kept_in_the_summary(tmp_path: Path) -> None:
    run_dir, summary = execute("eval", lambda cfg, run_dir: {"policy": "/abs/policy.zip"}, Config(), runs_dir=tmp_path,
                               argv=["gailctl", "eval", "x"], inputs={"policy_as_typed": "x", "cwd": "/work"})
    on_disk = json.loads((run_dir / "summary.json").read_text())
    assert (on_disk["policy"], on_disk["policy_as_typed"], on_disk["cwd"]) == ("/abs/policy.zip", "x", "/work")
