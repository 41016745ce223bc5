"""The doctor's reading of a run, its findings' next steps, the live doctor and the verdicts."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from gailctl.doctor.diagnose import diagnose, examine
from gailctl.doctor.finding import rerun_with
from gailctl.doctor.live import LiveDoctor
from gailctl.core.findings import FINDINGS_FILE, FindingsFile, read_findings
from gailctl.doctor.view import DemoFacts, live_view, read_run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "doctor"
SEED2 = FIXTURES / "cartpole-seed2-no-penalty"


def _copy(run: Path, to: Path) -> Path:
    shutil.copytree(run, to)
    return to


def _metrics(run: Path) -> list[dict[str, str]]:
    with open(run / "metrics.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_cartpole_seed_2_without_a_penalty_is_a_discriminator_win():
    verdict = diagnose(read_run(SEED2))
    assert verdict.first.name == "discriminator-wins" and verdict.first.severity == "error"
    assert verdict.first.next_step.endswith("--set gail.disc_grad_penalty=0.3")
    assert "--set gail.disc_grad_penalty=0 " not in verdict.first.next_step + " "  # the old value is replaced, not repeated


def test_the_same_seed_at_the_shipped_schedule_is_healthy_and_says_why():
    verdict = diagnose(read_run(FIXTURES / "cartpole-seed2-no-penalty-linear"))
    assert verdict.healthy and not [f for f in verdict.findings if f.severity != "info"]
    assert any("final normalized score 1.00" in r for r in verdict.healthy_because)
    assert any("contested" in r for r in verdict.healthy_because)


def test_live_doctor_fires_once_at_the_round_the_real_run_recorded():
    view = read_run(SEED2)
    live = LiveDoctor(live_view(SEED2, view.config, demos=DemoFacts()))
    fired = [(int(row["round"]), f.name) for row in _metrics(SEED2) for f in live.observe(row)]
    recorded = read_findings(SEED2)
    assert fired == [(r["fired_round"], r["name"]) for r in recorded] == [(120, "discriminator-wins")]


def test_findings_file_prints_one_line_and_resume_drops_later_rounds(tmp_path):
    lines: list[str] = []
    sink = FindingsFile(tmp_path, echo=lines.append)
    finding = diagnose(read_run(SEED2)).first
    sink(finding, 40, 20480)
    sink(diagnose(read_run(FIXTURES / "mujoco" / "hc-ff32-s0")).first, 90, 46080)
    assert lines[0].startswith("doctor: discriminator-wins at round 40: discriminator accuracy")
    assert sink.keep_until(60) == {"discriminator-wins"}
    assert [r["name"] for r in read_findings(tmp_path)] == ["discriminator-wins"]


def test_nan_in_a_discriminator_loss_is_named_with_its_round(tmp_path):
    run = _copy(SEED2, tmp_path / "run")
    rows = _metrics(run)
    rows[50]["disc_loss"] = "nan"
    with open(run / "metrics.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    first = diagnose(read_run(run)).first
    assert first.name == "nan-loss" and "round 50" in first.evidence


def test_a_failed_run_with_nan_values_names_both(tmp_path):
    run = _copy(SEED2, tmp_path / "run")
    summary = json.loads((run / "summary.json").read_text())
    summary.update(status="failed", error="ValueError: Expected parameter logits to satisfy the constraint, "
                                           "but found invalid values: tensor([[nan, nan]])")
    (run / "summary.json").write_text(json.dumps(summary))
    names = [f.name for f in diagnose(read_run(run)).findings]
    assert names[:2] == ["run-failed", "nan-loss"]


def test_too_few_expert_transitions_for_the_batch(tmp_path):
    run = _copy(FIXTURES / "mujoco" / "h-bcw01-s0", tmp_path / "run")
    summary = json.loads((run / "summary.json").read_text())
    summary["n_demo_transitions"] = 150  # fewer than gail.demo_batch_size = 200
    (run / "summary.json").write_text(json.dumps(summary))
    first = diagnose(read_run(run)).first
    assert first.name == "too-few-transitions" and first.next_step.endswith("--set gail.demo_batch_size=150")


def test_rerun_keeps_the_command_and_replaces_or_adds_set_items():
    view = read_run(SEED2)
    cmd = rerun_with(view, {"gail.disc_grad_penalty": 0.3, "gail.normalize_reward": False})
    assert cmd == ("gailctl gail -c PROJECT/configs/cartpole.yaml --seed 2 --set gail.lr_schedule=constant "
                   "--set gail.n_disc_updates_per_round=4 --runs-dir real/nogp-prev "
                   "--set gail.disc_grad_penalty=0.3 --set gail.normalize_reward=false")


def test_a_trial_without_its_own_command_reruns_from_its_config(tmp_path):
    run = _copy(SEED2, tmp_path / "trial")
    (run / "command.txt").write_text("cd /x && python -m ray.worker\n")
    assert rerun_with(read_run(run), {"seed": 3}) == f"gailctl gail -c {run / 'config.yaml'} --set seed=3"


def test_an_experiment_folder_gets_one_verdict_per_trial_and_what_recurs(tmp_path):
    bench = tmp_path / "bench__suite__s0-4__20260101-000000"
    (bench / "trials").mkdir(parents=True)
    (bench / "summary.json").write_text(json.dumps({"stage": "bench", "status": "finished"}))
    for name in ("w-ls1-s1", "sw-nr-s2", "h-bcw01-s0"):
        _copy(FIXTURES / "mujoco" / name, bench / "trials" / name)
    report = examine(bench)
    assert report.kind == "bench" and len(report.verdicts) == 3
    assert report.recurring()[0] == ("discriminator-wins", 2)
    assert [v.healthy for v in report.verdicts] == [True, False, False]  # trials sorted by name


def test_live_doctor_checks_the_demonstrations_once_at_the_start(tmp_path):
    view = read_run(SEED2)
    demos = DemoFacts(path="records/demos", recorded_env_id="CartPole-v1", n_kept=2000)
    live = LiveDoctor(live_view(tmp_path, view.config, demos=demos), sink=FindingsFile(tmp_path))
    assert [f.name for f in live.start()] == ["demos-mismatch"]
    assert live.start() == []
    assert json.loads((tmp_path / FINDINGS_FILE).read_text())["fired_round"] == 0
