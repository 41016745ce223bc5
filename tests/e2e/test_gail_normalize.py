"""`gail.normalize_obs`: the generator trains on normalised observations, the discriminator on raw ones.

A tiny budget on seals/MountainCar-v0 (2 envs x 64 steps per round, 4 rounds), a few seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gailctl.core.config_load import load_config
from gailctl.core.demo_sources import resolve_demos
from gailctl.core.torch_files import read_torch_payload
from gailctl.rl.policies import read_zip_weights

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e

TINY = ["env.n_envs=2", "gail.ppo.n_steps=64", "gail.ppo.batch_size=64", "gail.ppo.n_epochs=2", "gail.demo_batch_size=128",
        "gail.gen_replay_buffer_capacity=128", "gail.eval_every=256", "gail.eval_episodes=2", "gail.final_eval_episodes=2",
        "gail.checkpoint_every=256", "gail.normalize_obs=true", "gail.n_demos=2"]


def test_gail_normalize_obs_folds_policy_and_resumes(tmp_path: Path) -> None:
    import torch

    from gailctl.stages import gail

    cfg = load_config(ROOT / "configs/mountaincar.yaml", [*TINY, "gail.total_timesteps=256"])
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    demos = ROOT / "experts/mountaincar/demos"
    gail.run(cfg, run_dir, demos=resolve_demos(demos, flag="--demos"))

    ckpt = run_dir / "checkpoints" / "round_000002"
    stats = read_torch_payload(ckpt / "vecnormalize.pt")  # tensors only, weights_only=True
    mean, var = stats["obs_rms"]["mean"], stats["obs_rms"]["var"]
    # The generator saw MountainCar's raw observations (velocity within +-0.07) and learned their scale.
    assert float(var[1]) < 1e-2 and stats["obs_rms"]["count"] > 200
    folded, _, _ = read_zip_weights(run_dir / "policy.zip")
    unfolded, _, _ = read_zip_weights(ckpt / "policy.zip")
    sigma = torch.sqrt(var + stats["epsilon"])
    w = unfolded["mlp_extractor.policy_net.0.weight"]
    assert torch.allclose(folded["mlp_extractor.policy_net.0.weight"], (w.double() / sigma).float())
    assert not torch.allclose(folded["mlp_extractor.policy_net.0.weight"], w)

    cfg2 = cfg.model_copy(update={"gail": cfg.gail.model_copy(update={"total_timesteps": 512})})
    resumed = gail.run(cfg2, run_dir, demos=resolve_demos(demos, flag="--demos"), resume=True)
    assert resumed.n_env_steps == 512
    after = read_torch_payload(run_dir / "checkpoints" / "round_000004" / "vecnormalize.pt")
    assert after["obs_rms"]["count"] > stats["obs_rms"]["count"] + 200  # went on from the checkpoint's
    assert np.isfinite(resumed.final_eval.deterministic.return_mean)


def test_normalize_obs_is_refused_with_airl() -> None:
    from gailctl.core.errors import ConfigError

    with pytest.raises(ConfigError, match="gail.normalize_obs = true: not supported with gail.algorithm = airl"):
        load_config(ROOT / "configs/mountaincar.yaml", ["gail.normalize_obs=true", "gail.algorithm=airl"])


def test_gail_normalize_reward_checkpoints_its_statistics_and_resumes(tmp_path: Path) -> None:
    from gailctl.core.checkpoints import read_state
    from gailctl.stages import gail

    cfg = load_config(ROOT / "configs/mountaincar.yaml", [*TINY, "gail.normalize_reward=true", "gail.total_timesteps=256"])
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    demos = ROOT / "experts/mountaincar/demos"
    gail.run(cfg, run_dir, demos=resolve_demos(demos, flag="--demos"))
    scale = read_state(run_dir / "checkpoints" / "round_000002")["reward_scale"]
    # One return per env and step pushed into the statistics: 2 rounds x 2 envs x 64 steps.
    assert scale["count"] == pytest.approx(256, abs=1e-3) and scale["var"] > 0 and len(scale["returns"]) == 2

    cfg2 = cfg.model_copy(update={"gail": cfg.gail.model_copy(update={"total_timesteps": 512})})
    gail.run(cfg2, run_dir, demos=resolve_demos(demos, flag="--demos"), resume=True)
    after = read_state(run_dir / "checkpoints" / "round_000004")["reward_scale"]
    assert after["count"] == pytest.approx(512, abs=1e-3)  # went on from the checkpoint's statistics


def test_normalize_reward_needs_batched_rewards() -> None:
    from gailctl.core.errors import ConfigError

    with pytest.raises(ConfigError, match="gail.normalize_reward = true: needs gail.batched_rewards = true"):
        load_config(ROOT / "configs/mountaincar.yaml", ["gail.normalize_reward=true", "gail.batched_rewards=false"])
