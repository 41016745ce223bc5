"""gail's kept policies on a tiny budget (seals/MountainCar-v0, 2 envs x 64 steps a round, observations
normalised, 4 rounds then 2 more): best_policy.zip and best_policy_reward_free.zip load as `gailctl eval` loads a zip, play
the policy their metrics row measured, are scored again on fresh episodes, and survive `--resume`."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from gailctl.core.config_load import load_config
from gailctl.core.demo_sources import resolve_demos
from gailctl.core.runs import resolve_policy_zip
from gailctl.core.summaries import GailResult

ROOT = Path(__file__).resolve().parents[2]
DEMOS = ROOT / "experts/mountaincar/demos"
pytestmark = pytest.mark.e2e

TINY = ["env.n_envs=2", "gail.ppo.n_steps=64", "gail.ppo.batch_size=64", "gail.ppo.n_epochs=2", "gail.demo_batch_size=128",
        "gail.gen_replay_buffer_capacity=128", "gail.eval_every=128", "gail.eval_episodes=2", "gail.final_eval_episodes=2",
        "gail.checkpoint_every=256", "gail.normalize_obs=true", "gail.n_demos=2"]


def _rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "metrics.csv", newline="", encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if r["return_mean"] != ""]


def _heldout_error(zip_path: Path, cfg) -> float:
    """The zip loaded the way `gailctl eval` loads it, measured on the run's held-out demonstrations."""
    from gailctl.rl.demos import read_demos
    from gailctl.rl.env.make import make_venv
    from gailctl.rl.env.normalize import unfolded_checkpoint_zip
    from gailctl.rl.heldout import heldout_demos, policy_error
    from gailctl.rl.policies import load_ppo

    assert not unfolded_checkpoint_zip(zip_path)  # raw observations in, as the run's policy.zip
    venv = make_venv(cfg.env, seed=0, n_envs=1)
    model = load_ppo(zip_path, venv, env_id=cfg.env.id, seed=0)
    held = heldout_demos(read_demos(resolve_demos(DEMOS, flag="--demos")).trajectories, n_train=cfg.gail.n_demos)
    return policy_error(model, held)


def _check_picks(result: GailResult, run_dir: Path, cfg) -> None:
    rows = _rows(run_dir)
    errors = [float(r["heldout_action_error"]) for r in rows]
    assert all(0.0 <= e <= 1.0 for e in errors)  # a disagreement rate (discrete actions), finite in every row
    mmds = [float(r["heldout_state_mmd"]) for r in rows]
    assert all(0.0 <= m <= 2.0 for m in mmds) and len(set(mmds)) > 1  # a kernel MMD^2, measured at every evaluation
    by_reward, reward_free = result.best_by_reward, result.best_reward_free
    assert by_reward is not None and reward_free is not None
    returns = [float(r["return_mean"]) for r in rows]
    assert by_reward.round == int(rows[returns.index(max(returns))]["round"])  # the first of the highest
    picked = rows[mmds.index(min(mmds))]  # the first argmin row
    assert reward_free.round == int(picked["round"])
    assert reward_free.selection_value == pytest.approx(min(mmds)) and not reward_free.uses_env_reward
    assert by_reward.uses_env_reward and "env's reward" in (by_reward.statement or "")
    for pick in (by_reward, reward_free):
        assert pick.rescored_episodes == cfg.gail.final_eval_episodes
        assert pick.gap_is_normalized
        assert pick.gap == pytest.approx(pick.selection.normalized_score - pick.rescored.normalized_score)
    # The reward-free zip is the policy its row measured: its held-out action error, recomputed, is the row's.
    assert _heldout_error(run_dir / "best_policy_reward_free.zip", cfg) == pytest.approx(float(picked["heldout_action_error"]))
    summary_fields = result.model_dump(mode="json")
    assert summary_fields["heldout"]["heldout"] is True and summary_fields["heldout"]["n_trajectories"] == 18


def test_kept_policies_load_match_their_rows_and_survive_resume(tmp_path: Path) -> None:
    from gailctl.stages import gail

    cfg = load_config(ROOT / "configs/mountaincar.yaml", [*TINY, "gail.total_timesteps=512"])
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    first = gail.run(cfg, run_dir, demos=resolve_demos(DEMOS, flag="--demos"))
    for name in ("best_policy.zip", "best_policy_reward_free.zip"):
        assert resolve_policy_zip(run_dir / name, flag="--policy") == run_dir / name
        assert (run_dir / "checkpoints" / "round_000004" / "best" / name).is_file()
    _check_picks(first, run_dir, cfg)
    assert json.loads(json.dumps(first.model_dump(mode="json")))["artifacts"]["best_policy"] == "best_policy.zip"

    # A kill after the checkpoint could leave a later round's zip; the resume puts the checkpoint's back.
    kept = (run_dir / "best_policy_reward_free.zip").read_bytes()
    shutil.copy(run_dir / "reward_net.pt", run_dir / "best_policy_reward_free.zip")
    cfg2 = cfg.model_copy(update={"gail": cfg.gail.model_copy(update={"total_timesteps": 768})})
    resumed = gail.run(cfg2, run_dir, demos=resolve_demos(DEMOS, flag="--demos"), resume=True)
    assert resumed.n_env_steps == 768
    _check_picks(resumed, run_dir, cfg2)  # picks over the rows of both invocations
    if resumed.best_reward_free.round <= 4:
        assert (run_dir / "best_policy_reward_free.zip").read_bytes() == kept


def test_a_run_begun_without_the_state_column_resumes_with_its_own_header(tmp_path: Path) -> None:
    # A run started by a gailctl that measured only the action error: its metrics.csv keeps that
    # header on --resume, the action error goes on being measured, and there is no reward-free pick.
    from gailctl.stages import gail

    cfg = load_config(ROOT / "configs/mountaincar.yaml", [*TINY, "gail.total_timesteps=256"])
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    gail.run(cfg, run_dir, demos=resolve_demos(DEMOS, flag="--demos"))
    with open(run_dir / "metrics.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    old = [c for c in rows[0] if c != "heldout_state_mmd"]
    with open(run_dir / "metrics.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=old, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    (run_dir / "best_policy_reward_free.zip").unlink()
    cfg2 = cfg.model_copy(update={"gail": cfg.gail.model_copy(update={"total_timesteps": 512})})
    resumed = gail.run(cfg2, run_dir, demos=resolve_demos(DEMOS, flag="--demos"), resume=True)
    assert resumed.n_env_steps == 512 and resumed.best_reward_free is None
    later = _rows(run_dir)
    assert "heldout_state_mmd" not in later[0] and int(later[-1]["round"]) == 4
    assert all(0.0 <= float(r["heldout_action_error"]) <= 1.0 for r in later)


def test_with_a_policy_average_policy_zip_ships_it_and_the_last_iterate_is_kept_and_scored(tmp_path: Path) -> None:
    import torch

    from gailctl.core.torch_files import read_torch_payload
    from gailctl.rl.policies import read_zip_weights
    from gailctl.stages import gail

    cfg = load_config(ROOT / "configs/mountaincar.yaml", [*TINY, "gail.total_timesteps=512", "gail.policy_average_halflife=2"])
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    result = gail.run(cfg, run_dir, demos=resolve_demos(DEMOS, flag="--demos"))
    assert result.artifacts["policy_last_iterate"] == "policy_last_iterate.zip"
    assert result.last_iterate is not None and result.last_iterate.episodes == cfg.gail.final_eval_episodes
    shipped, _, _ = read_zip_weights(run_dir / "policy.zip")
    last, _, _ = read_zip_weights(run_dir / "policy_last_iterate.zip")
    average = read_torch_payload(run_dir / "checkpoints" / "round_000004" / "policy_average.pt")
    assert all(torch.equal(shipped[k], average["state"][k]) for k in shipped)  # the zip is the average itself
    assert not torch.equal(shipped["action_net.weight"], last["action_net.weight"])

    cfg2 = cfg.model_copy(update={"gail": cfg.gail.model_copy(update={"total_timesteps": 768})})
    gail.run(cfg2, run_dir, demos=resolve_demos(DEMOS, flag="--demos"), resume=True)
    # The resumed run continued the average over all 6 rounds, not restarted it at round 5.
    assert read_torch_payload(run_dir / "checkpoints" / "round_000006" / "policy_average.pt")["n_updates"] == 6
