"""The doctor on committed MuJoCo runs: each documented failure is named by its documented cause
first, and the shipped configs' passing runs carry no error and at most one warning."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from gailctl.doctor.diagnose import diagnose
from gailctl.doctor.view import read_run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "doctor"
ROWS = list(csv.DictReader(open(FIXTURES / "mujoco.csv", encoding="utf-8")))


def _verdict(run: str):
    return diagnose(read_run(FIXTURES / "mujoco" / run))


@pytest.mark.parametrize("row", [r for r in ROWS if r["kind"] == "failing"], ids=lambda r: r["run"])
def test_documented_failure_is_named_first(row):
    verdict = _verdict(row["run"])
    assert verdict.first is not None and verdict.first.name == row["expected_first"], [f.name for f in verdict.findings]
    assert not verdict.healthy or verdict.first.severity == "info"


@pytest.mark.parametrize("row", [r for r in ROWS if r["kind"] == "passing"], ids=lambda r: r["run"])
def test_passing_shipped_run_has_no_error_and_at_most_one_warning(row):
    severities = [f.severity for f in _verdict(row["run"]).findings]
    assert "error" not in severities and severities.count("warning") <= 1, severities


def test_every_fixture_is_listed():
    listed = {r["run"] for r in ROWS}
    assert listed == {p.name for p in (FIXTURES / "mujoco").iterdir() if p.is_dir()}
    assert sum(r["kind"] == "failing" for r in ROWS) >= 18 and sum(r["kind"] == "passing" for r in ROWS) >= 40


def test_walker_discriminator_win_names_the_span_and_a_documented_fix():
    finding = _verdict("w-ls1-s1").first
    assert finding.values["disc_acc_mean"] >= 0.9 and finding.values["score_max"] < 0.2
    assert "--set gail.bc_init_epochs=200" in finding.next_step  # it had no BC start, the change that lifted Walker2d
    assert finding.next_step.startswith("gailctl gail -c configs/walker2d.yaml --seed 1")


def test_reward_scaling_is_what_the_swimmer_fix_turns_off():
    assert _verdict("sw-nr-s2").first.next_step.endswith("--set gail.normalize_reward=false")


def test_halfcheetah_noise_fix_is_the_quieter_start():
    finding = _verdict("hc-ff32-s0").first
    assert finding.severity == "error" and finding.next_step.endswith("--set gail.ppo.log_std_init=-1")


def test_a_won_discriminator_past_the_penalty_fixes_is_told_the_logit_reward():
    # Walker2d seed 3 with a penalty of 1.0 already: the next documented change is the logit reward
    # (which stood the upright Hopper's fallen seeds up), and once a run has it, fewer discriminator updates.
    import dataclasses

    view = read_run(FIXTURES / "mujoco" / "w-bcilin-s3")
    gail = dict(view.config["gail"], disc_grad_penalty=1.0)
    with_penalty = dataclasses.replace(view, config={**view.config, "gail": gail})
    assert diagnose(with_penalty).first.next_step.endswith("--set gail.reward_form=logit")
    with_logit = dataclasses.replace(view, config={**view.config, "gail": dict(gail, reward_form="logit")})
    assert diagnose(with_logit).first.next_step.endswith("--set gail.n_disc_updates_per_round=2")
