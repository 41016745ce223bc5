"""`gail.bc_init_epochs`: the generator starts from BC on the run's demonstrations, once per run.

seals/MountainCar-v0 at a tiny budget (2 envs x 64 steps a round), a few seconds per run: an
untrained policy never reaches the flag (normalized score 0), a cloned one does.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from gailctl.core.config_load import load_config
from gailctl.core.demo_sources import resolve_demos
from gailctl.core.errors import UsageError
from gailctl.core.torch_files import read_torch_payload

ROOT = Path(__file__).resolve().parents[2]
DEMOS = ROOT / "experts/mountaincar/demos"
pytestmark = pytest.mark.e2e

TINY = ["env.n_envs=2", "gail.ppo.n_steps=64", "gail.ppo.batch_size=64", "gail.ppo.n_epochs=2", "gail.demo_batch_size=128",
        "gail.gen_replay_buffer_capacity=128", "gail.eval_every=128", "gail.eval_episodes=4", "gail.final_eval_episodes=2",
        "gail.checkpoint_every=128", "gail.n_demos=4", "gail.total_timesteps=128"]


def round0_score(run_dir: Path) -> float:
    """The normalized score of the generator before any round (metrics.csv's round 0 row)."""
    with open(run_dir / "metrics.csv") as f:
        return float(next(csv.DictReader(f))["normalized_score"])


def run_gail(tmp_path: Path, name: str, overrides: list[str], *, resume: bool = False) -> tuple[Path, dict]:
    from gailctl.stages import gail

    run_dir = tmp_path / name
    run_dir.mkdir(exist_ok=True)
    summary = gail.run(load_config(ROOT / "configs/mountaincar.yaml", [*TINY, *overrides]), run_dir,
                       demos=resolve_demos(DEMOS, flag="--demos"), resume=resume)
    return run_dir, summary


def test_cloned_generator_starts_where_bc_does_and_is_not_cloned_again_on_resume(tmp_path, monkeypatch):
    plain, _ = run_gail(tmp_path, "plain", [])
    cloned, summary = run_gail(tmp_path, "cloned", ["gail.bc_init_epochs=20", "gail.normalize_obs=true"])
    assert round0_score(plain) < 0.1 < 0.8 < round0_score(cloned)
    assert summary.bc_init_epochs == 20
    # The generator's observation statistics are the 4 x 200 demonstration states', fixed: the
    # round's env steps did not move them.
    stats = read_torch_payload(cloned / "checkpoints" / "round_000001" / "vecnormalize.pt")
    assert stats["obs_rms"]["count"] == pytest.approx(800, abs=1e-3)

    def refuse(*args, **kwargs):
        raise AssertionError("a resumed run must not clone its generator again")

    monkeypatch.setattr("gailctl.rl.cloning.clone_into_generator", refuse)
    _, resumed = run_gail(tmp_path, "cloned", ["gail.bc_init_epochs=20", "gail.normalize_obs=true",
                                               "gail.total_timesteps=256"], resume=True)
    assert resumed.n_env_steps == 256 and np.isfinite(resumed.final_eval.deterministic.return_mean)
    after = read_torch_payload(cloned / "checkpoints" / "round_000002" / "vecnormalize.pt")
    assert after["obs_rms"]["count"] == pytest.approx(800, abs=1e-3)  # still fixed after --resume


def test_bc_batch_larger_than_the_kept_demonstrations_is_refused_only_when_cloning(tmp_path):
    # 4 trajectories of 200 steps, every 20th kept: 40 transitions, fewer than a bc batch of 64.
    sparse = ["gail.subsample_every=20", "gail.demo_batch_size=32", "bc.batch_size=64"]
    with pytest.raises(UsageError, match=r"^bc\.batch_size = 64: larger than the 40 expert transitions"):
        run_gail(tmp_path, "refused", [*sparse, "gail.bc_init_epochs=5"])
    _, summary = run_gail(tmp_path, "fine", sparse)  # without the warm start the bc section is not used
    assert summary.n_demo_transitions == 40


def test_value_warmup_rounds_train_the_value_function_alone(tmp_path, gail_learner):
    """gail.value_warmup_rounds = 1: round 1 moves only the value function; round 2 moves the policy too."""
    import torch

    from gailctl.rl.demos import load_demos

    cfg = load_config(ROOT / "configs/mountaincar.yaml", [*TINY, "gail.value_warmup_rounds=1", "gail.total_timesteps=256"])
    learner = gail_learner(cfg, load_demos(DEMOS, n_demos=4), tmp_path)
    policy = learner.gen.policy
    value_names = ("value_net.", "mlp_extractor.value_net.")

    def weights() -> dict[str, torch.Tensor]:
        return {name: p.detach().clone() for name, p in policy.named_parameters()}

    def moved(before: dict[str, torch.Tensor]) -> set[str]:
        return {name for name, p in policy.named_parameters() if not torch.equal(p, before[name])}

    start = weights()
    learner.train_round(2)
    after_warmup = weights()
    assert moved(start) and all(name.startswith(value_names) for name in moved(start))
    learner.learn(2)  # the rest of the run: round 2
    assert any(not name.startswith(value_names) for name in moved(after_warmup))  # the action head learns again
    assert learner.rounds_done == 2
    assert all(p.requires_grad for p in policy.parameters())
