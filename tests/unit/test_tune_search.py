"""`gailctl tune`'s search wiring without a Ray cluster: Optuna's TPE inside Ray's OptunaSearch on
the study's SQLite storage, the baseline first, numbering, failures, stale trials, resume; and one
point run in-process (the stage's `execute` faked) to show the drawn values reach the run's config.

The real thing (Ray Tune trials training GAIL, and `--resume`) is tests/cli/test_tune.py.
These tests also guard the two places where gailctl leans on how Ray's OptunaSearch works
(see `tune_search.make_search`): if Ray changes them, these fail.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.workdirs import make_workdir

import gailctl.core.execution
from gailctl.core.errors import GailctlError
from gailctl.experiments import tune as tune_cmd
from gailctl.experiments import tune_outputs, tune_search
from gailctl.experiments.tune_search import TRIAL_KEY, config_values, make_search, open_storage, open_study, run_point
from gailctl.experiments.tune_space import parse_space

optuna = pytest.importorskip("optuna")
pytest.importorskip("ray.tune.search.optuna")

REPO = Path(__file__).resolve().parents[2]
SPACE = parse_space({"objective": "auc", "params": {
    "gail.disc_lr": {"float": [1.0e-4, 1.0e-2], "log": True},
    "gail.n_disc_updates_per_round": {"int": [1, 8]},
    "gail.ppo.net_arch": {"choice": [[8], [16, 16]]},
}}, source="space.yaml")
BASELINE = {"gail.disc_lr": 0.001, "gail.n_disc_updates_per_round": 4, "gail.ppo.net_arch": [16, 16]}


def fresh(tmp_path: Path, *, baseline: dict[str, Any] = BASELINE, seed: int = 0) -> tuple[Any, Any]:
    """The study in tmp_path/study.db with its baseline enqueued, and a searcher on it (as run_tune opens them)."""
    storage = open_storage(optuna, tmp_path)
    study = open_study(optuna, storage)
    journal = tune_search.read_journal(tmp_path)
    tune_cmd._enqueue_baseline(study, SimpleNamespace(baseline=baseline, space=SPACE), journal)
    return study, make_search(optuna=optuna, storage=storage, study=study, space=SPACE, sampler_seed=seed)


def finish(search: Any, trial_id: str, value: float) -> None:
    """What Tune does with a trial's one report: on_trial_result, then on_trial_complete."""
    result = {"objective": value, "training_iteration": 1}
    search.on_trial_result(trial_id, result)
    search.on_trial_complete(trial_id, result=result)


def test_baseline_first_then_tpe_points_carry_optuna_numbers(tmp_path: Path) -> None:
    study, search = fresh(tmp_path)
    first = search.suggest("tune-a")
    assert first[TRIAL_KEY] == 0 and config_values(SPACE, first) == BASELINE  # the config's own values, list choice as a list
    points = [search.suggest(f"tune-{i}") for i in range(3)]
    assert [p[TRIAL_KEY] for p in points] == [1, 2, 3]
    for point in points:  # drawn inside the space, as config values
        values = config_values(SPACE, point)
        assert 1e-4 <= values["gail.disc_lr"] <= 1e-2 and values["gail.n_disc_updates_per_round"] in range(1, 9)
        assert values["gail.ppo.net_arch"] in ([8], [16, 16])
    by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
    for point in points:  # the number names the very Optuna trial that holds those values
        assert by_number[point[TRIAL_KEY]].params["gail.disc_lr"] == point["gail.disc_lr"]
    assert study.user_attrs["baseline_trial"] == 0


def test_a_nan_objective_fails_the_optuna_trial_and_a_number_completes_it(tmp_path: Path) -> None:
    study, search = fresh(tmp_path)
    search.suggest("a")
    search.suggest("b")
    finish(search, "a", 0.25)
    finish(search, "b", math.nan)  # what a failed point reports
    states = {t.number: (t.state.name, t.value) for t in study.get_trials(deepcopy=False)}
    assert states == {0: ("COMPLETE", 0.25), 1: ("FAIL", None)}


def test_same_seed_same_points(tmp_path: Path) -> None:
    draws = []
    for name in ("one", "two"):
        folder = tmp_path / name
        folder.mkdir()
        _, search = fresh(folder, seed=7)
        draws.append([search.suggest(str(i)) for i in range(3)])
    assert draws[0] == draws[1]


def test_resume_continues_the_numbering_and_counts_only_trials_that_ran(tmp_path: Path) -> None:
    study, search = fresh(tmp_path)
    search.suggest("a")
    search.suggest("b")
    search.suggest("c")
    finish(search, "a", 0.5)
    finish(search, "b", math.nan)
    tune_search.append_entry(tmp_path, {"trial": 1, "status": "failed", "error": "seed 0: exploded"})
    # trial 2 is left running: the tune process was killed

    storage = open_storage(optuna, tmp_path)  # a new process: everything from study.db and trials.jsonl
    study = open_study(optuna, storage)
    assert tune_search.fail_stale(study, tmp_path, why="the tune process stopped during this trial") == 1
    journal = tune_search.read_journal(tmp_path)
    assert [tune_cmd._counted(t, journal) for t in study.get_trials(deepcopy=False)] == [True, True, False]
    tune_cmd._enqueue_baseline(study, SimpleNamespace(baseline=BASELINE, space=SPACE), journal)
    assert len(study.get_trials(deepcopy=False)) == 3  # the baseline completed: not enqueued again
    search = make_search(optuna=optuna, storage=storage, study=study, space=SPACE, sampler_seed=3)
    point = search.suggest("d")
    assert point[TRIAL_KEY] == 3 and config_values(SPACE, point) != BASELINE
    finish(search, "d", 0.75)

    plan = SimpleNamespace(space=SPACE)
    rows = tune_outputs.trial_rows(study.get_trials(deepcopy=False), plan, tune_search.read_journal(tmp_path))
    assert [(r["trial"], r["state"]) for r in rows] == [(0, "complete"), (1, "failed"), (2, "interrupted"), (3, "complete")]
    assert rows[1]["error"] == "seed 0: exploded" and rows[2]["error"] == "the tune process stopped during this trial"
    assert rows[3]["values"] == config_values(SPACE, point) and rows[3]["objective"] == 0.75


def test_a_baseline_that_never_ran_goes_first_again_after_a_resume(tmp_path: Path) -> None:
    study, search = fresh(tmp_path)
    search.suggest("a")  # the baseline was drawn, then the process died
    storage = open_storage(optuna, tmp_path)
    study = open_study(optuna, storage)
    tune_search.fail_stale(study, tmp_path, why="stopped")
    tune_cmd._enqueue_baseline(study, SimpleNamespace(baseline=BASELINE, space=SPACE), tune_search.read_journal(tmp_path))
    point = make_search(optuna=optuna, storage=storage, study=study, space=SPACE, sampler_seed=1).suggest("b")
    assert point[TRIAL_KEY] == 1 and config_values(SPACE, point) == BASELINE
    assert study.user_attrs["baseline_trial"] == 1


def test_a_partial_baseline_is_enqueued_and_the_rest_drawn(tmp_path: Path) -> None:
    """A config value outside the space is left to TPE (Ray's points_to_evaluate would refuse this point)."""
    partial = {"gail.disc_lr": 0.001}
    study, search = fresh(tmp_path, baseline=partial)
    point = search.suggest("a")
    assert point[TRIAL_KEY] == 0 and point["gail.disc_lr"] == 0.001 and "gail.n_disc_updates_per_round" in point


# --- one point, in-process -------------------------------------------------------------


CONFIG = """\
seed: 0
env:
  id: CartPole-v1
  n_envs: 2
references:
  random_return: 20.0
  expert_return: 500.0
gail:
  demos: demos_run
  total_timesteps: 1000
  demo_batch_size: 16
  ppo: {n_steps: 32, batch_size: 32, net_arch: [8]}
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return make_workdir(tmp_path, monkeypatch, CONFIG)


def fake_execute(calls: list[Any], *, fail_seed: int = -1) -> Any:
    """gailctl.core.execution.execute stand-in: a run folder whose metrics.csv scores depend on the config."""

    def execute(stage: str, fn: Any, cfg: Any, *, runs_dir: Path, argv: Any = None, **kwargs: Any) -> Any:
        calls.append(cfg)
        if cfg.seed == fail_seed:
            raise GailctlError(f"seed {cfg.seed}: the discriminator exploded")
        run_dir = Path(runs_dir) / f"gail__s{cfg.seed}__{len(calls)}"
        run_dir.mkdir(parents=True)
        score = cfg.gail.n_disc_updates_per_round / 10 + cfg.seed / 100
        (run_dir / "metrics.csv").write_text(f"n_env_steps,normalized_score\n0,0.9\n500,{score}\n1000,{score + 0.2}\n")
        return run_dir, {"status": "finished", "n_env_steps": 1000, "wall_s": 1.0, "final": {}}

    return execute


def options(**extra: Any) -> dict[str, Any]:
    return {"config": "exp.yaml", "space": "space.yaml", "seeds": "0-1", "set": [], "demos": None, "sampler_seed": 0,
            "n_trials": 3, "cwd": str(Path.cwd()), **extra}


def test_a_point_runs_every_seed_with_the_drawn_values(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    monkeypatch.setattr(gailctl.core.execution, "execute", fake_execute(calls))
    point = {TRIAL_KEY: 5, "gail.disc_lr": 0.0042, "gail.n_disc_updates_per_round": 3, "gail.ppo.net_arch": "[16, 16]"}
    context = {"options": options(), "space": SPACE.as_yaml_data(), "tune_dir": str(workdir / "tune")}
    entry = json.loads(json.dumps(run_point(point, json.loads(json.dumps(context)))))  # what crosses to and from a worker
    assert [c.seed for c in calls] == [0, 1]
    for cfg in calls:
        assert cfg.gail.disc_lr == 0.0042 and cfg.gail.n_disc_updates_per_round == 3 and cfg.gail.ppo.net_arch == (16, 16)
    assert entry["trial"] == 5 and entry["status"] == "complete"
    assert entry["set"] == ["gail.disc_lr=0.0042", "gail.n_disc_updates_per_round=3", "gail.ppo.net_arch=[16, 16]"]
    # auc leaves out step 0: seed 0 (0.3 + 0.5) / 2, seed 1 (0.31 + 0.51) / 2
    assert entry["per_seed"] == {"0": pytest.approx(0.4), "1": pytest.approx(0.41)}
    assert entry["objective"] == pytest.approx(0.405)
    assert [Path(d).parent for d in entry["run_dirs"]] == [workdir / "tune" / "trials"] * 2


def test_a_point_whose_seed_fails_reports_nan_and_the_error(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    monkeypatch.setattr(gailctl.core.execution, "execute", fake_execute(calls, fail_seed=1))
    point = {TRIAL_KEY: 0, **{k: v if not isinstance(v, list) else "[16, 16]" for k, v in BASELINE.items()}}
    entry = run_point(point, {"options": options(), "space": SPACE.as_yaml_data(), "tune_dir": str(workdir / "tune")})
    assert entry["status"] == "failed" and math.isnan(entry["objective"])
    assert entry["error"] == "seed 1: failed: seed 1: the discriminator exploded" and list(entry["per_seed"]) == ["0"]


def test_a_point_the_config_refuses_fails_without_running(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    monkeypatch.setattr(gailctl.core.execution, "execute", fake_execute(calls))
    point = {TRIAL_KEY: 1, **{k: v if not isinstance(v, list) else "[16, 16]" for k, v in BASELINE.items()}}
    refused = options(set=["gail.ppo.batch_size=4096"])  # larger than one rollout
    entry = run_point(point, {"options": refused, "space": SPACE.as_yaml_data(), "tune_dir": str(workdir / "tune")})
    assert calls == [] and entry["status"] == "failed" and "batch_size" in entry["error"]


def test_help_imports_neither_ray_nor_optuna_nor_torch() -> None:
    code = ("import sys\nfrom typer.testing import CliRunner\nfrom gailctl.cli import app\n"
            "for args in (['--help'], ['tune', '--help'], ['sweep', '--help'], ['bench', '--help']):\n"
            "    assert CliRunner().invoke(app, args).exit_code == 0\n"
            "print(sorted(m for m in ('ray', 'optuna', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def tune_trial(config: dict, *, failures: int = 0) -> SimpleNamespace:
    """What the driver's callbacks read of a Tune trial: its config and how often its worker died."""
    return SimpleNamespace(config=config, run_metadata=SimpleNamespace(num_failures=failures), max_failures=3)


def test_progress_journals_each_ended_trial_and_a_dead_worker(tmp_path: Path) -> None:
    """The driver's callback: a reported entry goes to trials.jsonl as reported; a trial whose worker
    died and was started again is said once more without taking another place; one Ray gave up on
    (no report) is journalled as failed with a reason, so trials.csv does not show a bare failure."""
    import ray.tune

    said: list[str] = []
    ended: list[int] = []
    places = iter(["[1/2]", "[2/2]"])
    progress = tune_search.progress_callback(ray.tune, tune_dir=tmp_path, space=SPACE, say=said.append,
                                             position=lambda: next(places), on_ended=lambda: ended.append(1))
    point = {TRIAL_KEY: 0, "gail.disc_lr": 0.002, "gail.n_disc_updates_per_round": 2, "gail.ppo.net_arch": "[8]"}
    entry = {"trial": 0, "values": config_values(SPACE, point), "set": [], "per_seed": {"0": 0.5}, "run_dirs": ["r"],
             "objective": 0.5, "wall_s": 3.0, "status": "complete", "error": None}
    progress.on_trial_start(0, [], tune_trial(point))
    progress.on_trial_recover(0, [], tune_trial(point, failures=1))
    progress.on_trial_start(0, [], tune_trial(point, failures=1))
    progress.on_trial_result(0, [], tune_trial(point, failures=1), {"objective": 0.5, "entry": json.dumps(entry)})
    progress.on_trial_complete(0, [], tune_trial(point, failures=1))
    progress.on_trial_error(0, [], tune_trial({**point, TRIAL_KEY: 1}, failures=4))
    journal = tune_search.read_journal(tmp_path)
    assert journal[0] == entry
    assert journal[1]["status"] == "failed" and journal[1]["error"].startswith("Ray: the trial's worker died 4 time(s)")
    assert said[0] == "trial 0 [1/2]: gail.disc_lr=0.002, gail.n_disc_updates_per_round=2, gail.ppo.net_arch=[8]"
    assert said[1].startswith("trial 0: its worker died") and "(1 of 3 retries)" in said[1]
    assert said[2] == "trial 0: started again (attempt 2)"
    assert said[3] == "trial 0: auc 0.500 (s0 0.500) in 3 s" and len(ended) == 2
