"""`gailctl bench`'s planning and outcomes without Ray: `--suite NAME` (a named list of shipped configs),
one payload for all trials, what its exit code and summary say, `--resume`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gailctl.cli import app


@pytest.fixture
def planned(monkeypatch: pytest.MonkeyPatch) -> list:
    """Patch the benchmark itself: record the plan it would run."""
    import gailctl.experiments.bench

    seen: list = []

    def fake_run_bench(plan, **_kw):  # noqa: ANN001, ANN003, ANN202
        seen.append(plan)
        raise SystemExit(0)

    monkeypatch.setattr(gailctl.experiments.bench, "run_bench", fake_run_bench)
    return seen


def test_mujoco_suite_plans_the_five_locomotion_configs(planned: list) -> None:
    result = CliRunner().invoke(app, ["bench", "--suite", "mujoco", "--quick"])
    assert result.exit_code == 0, result.output
    names = [Path(c).stem for c in planned[0].configs]
    assert names == ["hopper", "halfcheetah", "walker2d", "swimmer", "ant"] and planned[0].suite == "mujoco"
    assert all(Path(c).is_file() for c in planned[0].configs)


def test_no_config_means_the_classic_suite(planned: list) -> None:
    assert CliRunner().invoke(app, ["bench"]).exit_code == 0
    assert [Path(c).stem for c in planned[0].configs] == ["cartpole", "acrobot", "mountaincar", "pendulum"]


@pytest.mark.parametrize(("args", "message"), [
    (["--suite", "atari"], "--suite atari: expected one of classic, mujoco"),
    (["--suite", "mujoco", "-c", "cartpole"], "--suite and --config: give one of them"),
])
def test_bad_suite_is_a_usage_error(args: list[str], message: str, planned: list) -> None:
    result = CliRunner().invoke(app, ["bench", *args])
    assert result.exit_code == 2 and message in result.output and not planned


def test_throughput_only_measures_without_trials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--throughput-only`: the table of GAIL's against PPO's env steps/s, and no trial, no Ray."""
    import gailctl.experiments.bench as bench
    import gailctl.experiments.sweep as sweep

    def measured(config, overrides, *, repeats):  # noqa: ANN001, ANN202
        return {"config": str(config), "env_id": Path(config).stem, "env_steps": 20480, "repeats": repeats,
                "ppo_steps_per_s": 1000.0, "gail_steps_per_s": 950.0, "ratio": 0.95, "gail_generator_s": 20.0,
                "gail_discriminator_s": 1.5, "ppo_s": 20.5}

    def no_trials(*_a, **_kw):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("--throughput-only ran a trial")

    monkeypatch.setattr(bench, "measure_throughput", measured)
    monkeypatch.setattr(sweep, "run_payload", no_trials)
    result = CliRunner().invoke(app, ["bench", "-c", "cartpole", "-c", "pendulum", "--throughput-only", "--quick", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (bench_dir,) = tmp_path.iterdir()
    text = (bench_dir / "results.md").read_text()
    assert "| cartpole | 20480 | 1 | 1000 | 950 | 20.0 | 1.5 | **0.95** |" in text and "| pendulum |" in text
    assert "Normalized score" not in text and not (bench_dir / "trials").exists()


def test_throughput_only_with_no_throughput_is_a_usage_error(planned: list) -> None:
    result = CliRunner().invoke(app, ["bench", "--throughput-only", "--no-throughput"])
    assert result.exit_code == 2 and "--throughput-only and --no-throughput: give one of them" in result.output and not planned


def test_bench_runs_all_trials_as_one_payload_longest_first(tmp_path: Path) -> None:
    """One Tune run for the whole bench: GAIL's bigger budgets first, BC last, each trial with its
    own stage, and `places` puts the results back in the sweeps' order for the report."""
    from gailctl.core.shipped import shipped_config
    from gailctl.experiments.bench import bench_payload
    from gailctl.experiments.plans import plan_sweep

    def sweep(stage: str, name: str, steps: int):  # noqa: ANN202
        return stage, plan_sweep(stage=stage, config_path=shipped_config(name), seeds="0-1",
                                 overrides=[f"gail.total_timesteps={steps}"])

    sweeps = [sweep("gail", "cartpole", 10240), sweep("bc", "cartpole", 10240), sweep("gail", "pendulum", 20480)]
    payload, labels, places = bench_payload(sweeps, tmp_path)
    stages = [t["stage"] for t in payload["trials"]]
    envs = [t["config"]["env"]["id"] for t in payload["trials"]]
    assert stages == ["gail", "gail", "gail", "gail", "bc", "bc"]
    assert envs[:2] == ["Pendulum-v1"] * 2 and envs[2:] == ["seals/CartPole-v0"] * 4
    assert [t["config"]["seed"] for t in payload["trials"]] == [0, 1, 0, 1, 0, 1]
    assert places == [4, 5, 0, 1, 2, 3] and labels[0].startswith("gail Pendulum-v1") and labels[-1].startswith("bc ")
    assert payload["trials_dir"] == str(tmp_path) and payload["stage"] is None


@pytest.mark.parametrize(("statuses", "exit_code", "message"), [
    (["finished", "interrupted:stopped before it finished", "interrupted:did not run", "interrupted:did not run"], 130,
     "bench interrupted: 1 of 4 trial(s) finished, 1 stopped, 2 never started;"),
    (["finished", "failed:boom", "interrupted:did not run", "finished"], 1, "1 of 4 trial(s) failed; see"),
    (["finished"] * 4, 0, ""),
])
def test_bench_says_what_happened_to_its_trials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, statuses: list[str],
                                                exit_code: int, message: str) -> None:
    """A Ctrl-C is an interruption (exit 130, status `interrupted`), not trials that failed; a failure still exits 1."""
    import gailctl.experiments.sweep as sweep
    from gailctl.experiments.runner import RESULT_COLUMNS

    monkeypatch.setattr("gailctl.experiments.ray_session.require_ray", lambda: None)

    def ran(payload, labels, **_kw):  # noqa: ANN001, ANN003, ANN202
        assert len(payload["trials"]) == len(statuses)
        out = []
        for text in statuses:
            status, _, error = text.partition(":")
            out.append({**dict.fromkeys(RESULT_COLUMNS), "status": status, "error": error or None})
        return out

    monkeypatch.setattr(sweep, "run_payload", ran)
    result = CliRunner().invoke(app, ["bench", "-c", "cartpole", "--seeds", "0-3", "--n-demos", "4", "--no-bc", "--no-throughput",
                                      "--runs-dir", str(tmp_path)])
    assert result.exit_code == exit_code, result.output
    assert message in " ".join(result.output.split())
    (bench_dir,) = tmp_path.iterdir()
    summary = json.loads((bench_dir / "summary.json").read_text())
    expected = {0: "finished", 1: "failed", 130: "interrupted"}[exit_code]
    assert summary["status"] == expected and summary["n_trials"] == 4
    assert summary["n_failed"] == statuses.count("failed:boom")
    assert summary["n_interrupted"] == sum(s.startswith("interrupted") for s in statuses)
    assert "trial(s) failed" not in result.output or exit_code == 1


@pytest.mark.parametrize("stop", [OSError(17, "File exists", "/tmp/gailctl-ray-x/r"), KeyboardInterrupt()],
                         ids=["error", "ctrl-c"])
def test_a_bench_that_stops_on_an_exception_says_so_in_its_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   stop: BaseException) -> None:
    """Never left `running` (which `gailctl runs` lists as stale, to be resumed): `failed` with its
    error, or `interrupted` after a Ctrl-C."""
    import gailctl.experiments.sweep as sweep

    monkeypatch.setattr("gailctl.experiments.ray_session.require_ray", lambda: None)

    def ray_fails(*_a, **_kw):  # noqa: ANN002, ANN003, ANN202
        raise stop

    monkeypatch.setattr(sweep, "run_payload", ray_fails)
    result = CliRunner().invoke(app, ["bench", "-c", "cartpole", "--seeds", "0", "--n-demos", "4", "--no-bc", "--no-throughput",
                                      "--runs-dir", str(tmp_path)])
    assert result.exit_code == (1 if isinstance(stop, OSError) else 130), result.output
    (bench_dir,) = tmp_path.iterdir()
    summary = json.loads((bench_dir / "summary.json").read_text())
    if isinstance(stop, OSError):
        assert summary["status"] == "failed" and "File exists" in summary["error"], summary
    else:
        assert summary["status"] == "interrupted", summary
    assert summary["wall_s"] >= 0


def test_bench_resume_reruns_only_the_unfinished_trials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`bench --resume DIR`: the trials saved when the bench started that did not finish run again
    (stopped, never started, failed), the finished ones are kept, and the report covers all."""
    import gailctl.experiments.sweep as sweep
    from gailctl.experiments.runner import RESULT_COLUMNS

    monkeypatch.setattr("gailctl.experiments.ray_session.require_ray", lambda: None)
    calls: list[dict] = []
    first_statuses = ["finished", "interrupted", "failed", "finished"]  # by seed 0-3

    def ran(payload, labels, *, run_dir, name, **_kw):  # noqa: ANN001, ANN003, ANN202
        (run_dir / name).mkdir()  # as Tune does
        calls.append({"seeds": [t["config"]["seed"] for t in payload["trials"]], "labels": list(labels), "name": name})
        seeds = calls[-1]["seeds"]
        statuses = [first_statuses[seed] for seed in seeds] if len(calls) == 1 else ["finished"] * len(seeds)
        errors = {"finished": None, "interrupted": "stopped before it finished", "failed": "boom"}
        return [{**dict.fromkeys(RESULT_COLUMNS), "status": s, "wall_s": 1.0, "error": errors[s]} for s in statuses]

    monkeypatch.setattr(sweep, "run_payload", ran)
    first = CliRunner().invoke(app, ["bench", "-c", "cartpole", "--seeds", "0-3", "--n-demos", "4", "--no-bc",
                                     "--no-throughput", "--runs-dir", str(tmp_path)])
    assert first.exit_code == 1, first.output  # a failed trial outranks the interruption
    (bench_dir,) = tmp_path.iterdir()
    saved = json.loads((bench_dir / "trials.json").read_text())
    assert [r["status"] for r in saved["results"]] == first_statuses and len(saved["payload"]["trials"]) == 4

    again = CliRunner().invoke(app, ["bench", "--resume", str(bench_dir)])
    assert again.exit_code == 0, again.output
    assert calls[1]["seeds"] == [1, 2] and calls[1]["name"] == "tune-2" and calls[0]["name"] == "tune"
    assert all("seed=1" in label or "seed=2" in label for label in calls[1]["labels"])
    summary = json.loads((bench_dir / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["n_finished"] == 4 and summary["n_failed"] == 0
    assert [r["status"] for r in json.loads((bench_dir / "trials.json").read_text())["results"]] == ["finished"] * 4

    done = CliRunner().invoke(app, ["bench", "--resume", str(bench_dir)])
    assert done.exit_code == 2 and "every trial finished; nothing to resume" in done.output
    refused = CliRunner().invoke(app, ["bench", "--resume", str(bench_dir), "--seeds", "0-1", "--quick"])
    assert refused.exit_code == 2 and "drop --seeds, --quick" in refused.output and len(calls) == 2


def test_bench_resume_after_the_bench_was_killed_keeps_the_logged_trials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed before Ray returned (trials.json has no results): the results logged as trials ended are kept."""
    import gailctl.experiments.sweep as sweep
    from gailctl.experiments.runner import RESULT_COLUMNS

    monkeypatch.setattr("gailctl.experiments.ray_session.require_ray", lambda: None)
    calls: list[list[int]] = []

    def ran(payload, labels, *, record, **_kw):  # noqa: ANN001, ANN003, ANN202
        calls.append([t["config"]["seed"] for t in payload["trials"]])
        if len(calls) == 1:  # two trials end and are logged, then the driver dies
            for local in range(2):
                line = {**dict.fromkeys(RESULT_COLUMNS), "trial": record[1][local], "status": "finished"}
                with open(record[0], "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(line) + "\n")
            with open(record[0], "a", encoding="utf-8") as fh:
                fh.write('{"trial": 3, "sta')  # torn by the kill
            raise KeyboardInterrupt
        return [{**dict.fromkeys(RESULT_COLUMNS), "status": "finished"} for _ in labels]

    monkeypatch.setattr(sweep, "run_payload", ran)
    first = CliRunner().invoke(app, ["bench", "-c", "cartpole", "--seeds", "0-3", "--n-demos", "4", "--no-bc",
                                     "--no-throughput", "--runs-dir", str(tmp_path)])
    assert first.exit_code == 130, first.output
    (bench_dir,) = tmp_path.iterdir()
    assert json.loads((bench_dir / "trials.json").read_text())["results"] == [None] * 4
    again = CliRunner().invoke(app, ["bench", "--resume", str(bench_dir)])
    assert again.exit_code == 0, again.output
    assert calls == [[0, 1, 2, 3], [2, 3]]
    assert json.loads((bench_dir / "summary.json").read_text())["n_finished"] == 4


def test_progress_callback_logs_each_result_under_its_bench_number(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from gailctl.experiments.sweep import _progress_callback

    log = tmp_path / "trial-results.jsonl"
    callback = _progress_callback(SimpleNamespace(Callback=object), ["a", "b"], record=(str(log), [5, 7]))
    callback.on_trial_result(0, [], SimpleNamespace(config={"trial": 1}), {"status": "finished", "return_mean": 9.5, "extra": 1})
    callback.on_trial_result(0, [], SimpleNamespace(config={"trial": 0}), {"status": "failed", "error": "boom"})
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(x["trial"], x["status"], x["return_mean"]) for x in lines] == [(7, "finished", 9.5), (5, "failed", None)]
    assert "extra" not in lines[0]
