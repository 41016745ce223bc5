"""`bench --resume`: a stopped GAIL trial continues from its checkpoint in its own run folder.

The trials run in this process (Ray's scheduling is not what is tested: `sweep.run_payload` is
replaced by a loop over `run_trial`), through the real gail stage on a tiny CartPole budget.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gailctl.cli import app
from tests.e2e.test_gail_resume import ARGS
from tests.e2e.test_pipeline import ROOT
from tests.e2e.test_reliability import rows

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

STOP_AFTER = 7  # rounds; checkpoints every 5 and at the stop


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[dict], str]]:
    """Trials run here, one after another; each call's trial payloads and announcement are recorded."""
    import gailctl.experiments.sweep as sweep
    from gailctl.experiments.runner import run_trial

    monkeypatch.chdir(ROOT)
    monkeypatch.setattr("gailctl.experiments.ray_session.require_ray", lambda: None)
    calls: list[tuple[list[dict], str]] = []

    def run_payload(payload, labels, *, what, **_kw):  # noqa: ANN001, ANN003, ANN202
        calls.append((payload["trials"], what))
        return [run_trial(payload, i) for i in range(len(labels))]

    monkeypatch.setattr(sweep, "run_payload", run_payload)
    return calls


def stop_after_round(monkeypatch: pytest.MonkeyPatch, last: int) -> None:
    """The gail stage's round loop asks for a graceful stop (as a first Ctrl-C does) after round `last`."""
    from gailctl.core import signals
    from gailctl.rl.gail.learner import GailLearner

    real = GailLearner.train_round

    def train_round(self, n_rounds):  # noqa: ANN001, ANN202
        done = real(self, n_rounds)
        if done.round == last:
            signals._active[-1].signal_name = "SIGINT"
        return done

    monkeypatch.setattr(GailLearner, "train_round", train_round)


def test_a_killed_benchs_stopped_gail_trial_continues_from_its_checkpoint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_process: list[tuple[list[dict], str]]) -> None:
    sets = [a for a in ARGS[2:] if a != "--set" and not a.startswith("gail.n_demos")]
    bench_args = ["bench", "-c", "cartpole", "--seeds", "0", "--n-demos", "2", "--no-bc", "--no-throughput",
                  *[x for s in sets for x in ("--set", s)], "--runs-dir", str(tmp_path)]
    with monkeypatch.context() as patch:
        stop_after_round(patch, STOP_AFTER)
        first = CliRunner().invoke(app, bench_args)
    assert first.exit_code == 130, first.output
    (bench_dir,) = tmp_path.iterdir()
    (run,) = (bench_dir / "trials").iterdir()
    assert [int(r["round"]) for r in rows(run)] == list(range(STOP_AFTER + 1))
    assert (run / "checkpoints" / f"round_{STOP_AFTER:06d}").is_dir()
    # As a SIGKILL of the whole bench leaves it: no result saved, the run still says `running`.
    trial_list = json.loads((bench_dir / "trials.json").read_text())
    (bench_dir / "trials.json").write_text(json.dumps({**trial_list, "results": [None]}))
    (bench_dir / "trial-results.jsonl").unlink(missing_ok=True)
    summary = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps({**summary, "status": "running"}))

    again = CliRunner().invoke(app, ["bench", "--resume", str(bench_dir)])
    assert again.exit_code == 0, again.output
    trials, what = in_process[1]
    # The trial finds its run folder by its key in trial-runs.jsonl and goes on there.
    assert [t["key"] for t in trials] == ["0"] and "1 from their checkpoints" in what
    assert list((bench_dir / "trials").iterdir()) == [run]  # no second folder: the same run went on
    assert [int(r["round"]) for r in rows(run)] == list(range(21))  # each round once, the stopped ones kept
    run_summary = json.loads((run / "summary.json").read_text())
    assert run_summary["status"] == "finished" and run_summary["n_env_steps"] == 1280 and len(run_summary["resumed"]) == 1
    # Its process had died saying `running`: a restart, from the round-7 checkpoint.
    (restart,) = run_summary["restarts"]
    assert restart["from_checkpoint"] == f"round_{STOP_AFTER:06d}" and restart["from_n_env_steps"] == STOP_AFTER * 64
    commands = (run / "command.txt").read_text().splitlines()
    assert f"gailctl gail --resume {run}" in commands[-1] and "gailctl gail -c" in commands[0]
    bench_summary = json.loads((bench_dir / "summary.json").read_text())
    assert bench_summary["status"] == "finished" and bench_summary["n_finished"] == 1
    assert json.loads((bench_dir / "trials.json").read_text())["results"][0]["run_dir"] == str(run)
