"""Runs made with known-bad settings, on CartPole at tiny budgets: the doctor names the cause first,
and the live doctor says it while the run trains."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gailctl.core.config_load import load_config
from gailctl.core.demo_sources import resolve_demos
from gailctl.core.execution import execute
from gailctl.doctor.diagnose import examine
from gailctl.core.findings import FINDINGS_FILE

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs/cartpole.yaml"
DEMOS = ROOT / "experts/cartpole/demos"
# 64 env steps a round, an evaluation every 5 rounds on 2 episodes.
SMALL = ["env.n_envs=2", "gail.ppo.n_steps=32", "gail.ppo.batch_size=32", "gail.eval_every=320", "gail.eval_episodes=2",
         "gail.final_eval_episodes=2", "gail.checkpoint_every=100000", f"gail.demos={DEMOS}"]


def _gail(tmp_path: Path, items: list[str], *, demos: Path = DEMOS, seed: int = 1) -> Path:
    from gailctl.stages import gail

    cfg = load_config(CONFIG, [*SMALL, f"seed={seed}", *items])
    run_dir, _ = execute("gail", gail.run, cfg, runs_dir=tmp_path / "runs", argv=["gailctl", "gail", "-c", str(CONFIG)],
                         demos=resolve_demos(demos, flag="--demos"))
    return run_dir


def _first(run_dir: Path) -> str:
    verdict = examine(run_dir).verdicts[0]
    assert verdict.first is not None, "no finding"
    return verdict.first.name


def test_a_discriminator_far_stronger_than_the_generator_wins(tmp_path, capsys):
    # 16 unpenalised discriminator updates a round against a generator at a hundredth of its rate.
    run = _gail(tmp_path, ["gail.total_timesteps=4096", "gail.disc_grad_penalty=0", "gail.n_disc_updates_per_round=16",
                           "gail.ppo.learning_rate=1e-5"])
    assert _first(run) == "discriminator-wins"
    recorded = [json.loads(line) for line in (run / FINDINGS_FILE).read_text().splitlines()]
    assert [r["name"] for r in recorded] == ["discriminator-wins"]  # fired once, live
    assert recorded[0]["fired_round"] >= 50
    assert f"doctor: discriminator-wins at round {recorded[0]['fired_round']}:" in capsys.readouterr().err.replace("\n", " ")


def test_a_discriminator_that_cannot_learn(tmp_path):
    run = _gail(tmp_path, ["gail.total_timesteps=4096", "gail.disc_lr=1e-7"])
    assert _first(run) == "discriminator-never-learns"


def test_a_budget_cut_to_a_tenth(tmp_path):
    from gailctl.stages import gail

    cfg = load_config(CONFIG, ["seed=1", "gail.total_timesteps=15360", "gail.eval_episodes=2", "gail.final_eval_episodes=2"])
    run, _ = execute("gail", gail.run, cfg, runs_dir=tmp_path, argv=["gailctl", "gail"], demos=resolve_demos(DEMOS, flag="--demos"))
    verdict = examine(run).verdicts[0]
    assert verdict.first.name == "budget-short"
    assert verdict.first.next_step.endswith("--set gail.total_timesteps=153600")


def test_a_generator_whose_entropy_collapses(tmp_path):
    run = _gail(tmp_path, ["gail.total_timesteps=2048", "gail.ppo.learning_rate=0.05", "gail.ppo.n_epochs=20"])
    assert _first(run) == "entropy-collapse"


def _record(tmp_path: Path, config: Path, items: list[str], expert: Path) -> Path:
    from gailctl.stages import record

    cfg = load_config(config, ["record.n_episodes=2", "env.n_envs=2", *items])
    run, _ = execute("record", record.run, cfg, runs_dir=tmp_path / "records", argv=["gailctl", "record"], expert_zip=expert)
    return run / "demos"


def test_demonstrations_from_another_env(tmp_path):
    demos = _record(tmp_path, ROOT / "configs/cartpole-v1.yaml", [], ROOT / "experts/cartpole/model.zip")
    run = _gail(tmp_path, ["gail.total_timesteps=640", "gail.n_demos=2"], demos=demos)
    verdict = examine(run).verdicts[0]
    assert verdict.first.name == "demos-mismatch" and "CartPole-v1" in verdict.first.evidence
    assert json.loads((run / FINDINGS_FILE).read_text().splitlines()[0])["name"] == "demos-mismatch"  # said at the start


def test_an_expert_below_its_reference(tmp_path):
    from gailctl.stages import expert

    cfg = load_config(CONFIG, ["expert.total_timesteps=1024", "expert.eval_every=1024", "expert.eval_episodes=2",
                               "env.n_envs=2"])
    expert_run, _ = execute("expert", expert.run, cfg, runs_dir=tmp_path / "experts", argv=["gailctl", "expert"])
    assert _first(expert_run) == "expert-below-reference"
    demos = _record(tmp_path, CONFIG, [], expert_run / "model.zip")
    run = _gail(tmp_path, ["gail.total_timesteps=640", "gail.n_demos=2", "gail.demo_batch_size=64"], demos=demos)
    assert _first(run) == "expert-below-reference"


def test_bc_above_gail_on_the_same_demonstrations(tmp_path):
    from gailctl.stages import bc

    cfg = load_config(CONFIG, [*SMALL, "seed=1", "bc.n_epochs=20", "bc.eval_episodes=2"])
    execute("bc", bc.run, cfg, runs_dir=tmp_path / "runs", argv=["gailctl", "bc"], demos=resolve_demos(DEMOS, flag="--demos"))
    run = _gail(tmp_path, ["gail.total_timesteps=640"])
    names = [f.name for f in examine(run).verdicts[0].findings]
    assert "bc-above-gail" in names
