"""`gailctl expert` with VecNormalize: folded zips for users, unfolded checkpoints plus statistics for --resume.

A tiny budget (2 envs x 64 steps, 512 then 1024 env steps), a few seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gailctl.config import load_config
from gailctl.policies import read_torch_payload, read_zip_weights

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e

TINY = ["env.id=CartPole-v1", "env.n_envs=2", "expert.eval_every=512", "expert.eval_episodes=2",
        "expert.checkpoint_every=512", "expert.ppo.n_steps=64", "expert.ppo.n_epochs=2",
        "expert.normalize_obs=true", "expert.normalize_reward=true"]


def test_expert_with_normalization_saves_folded_zips_and_resumes(tmp_path: Path) -> None:
    import torch
    from stable_baselines3 import PPO

    from gailctl.stages import expert

    cfg = load_config(ROOT / "configs/cartpole.yaml", [*TINY, "expert.total_timesteps=512"])
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    summary = expert.run(cfg, run_dir)
    assert summary["normalization"]["obs"] and "folded" in summary["normalization"]["note"]

    ckpt = run_dir / "checkpoints" / "step_000000512"
    stats = read_torch_payload(ckpt / "vecnormalize.pt")  # tensors only, weights_only=True
    obs_rms = stats["obs_rms"]
    folded, _, _ = read_zip_weights(run_dir / "model.zip")
    unfolded, _, _ = read_zip_weights(ckpt / "model.zip")
    sigma = torch.sqrt(obs_rms["var"] + stats["epsilon"])
    w = unfolded["mlp_extractor.policy_net.0.weight"]
    assert torch.allclose(folded["mlp_extractor.policy_net.0.weight"], (w.double() / sigma).float())
    assert torch.equal(folded["action_net.weight"], unfolded["action_net.weight"])
    PPO.load(run_dir / "model.zip", device="cpu")  # still a plain SB3 zip
    PPO.load(run_dir / "best_model.zip", device="cpu")

    resumed = expert.run(cfg.model_copy(update={"expert": cfg.expert.model_copy(update={"total_timesteps": 1024})}),
                         run_dir, resume=True)
    assert resumed["n_env_steps"] >= 1024
    after = read_torch_payload(run_dir / "checkpoints" / f"step_{resumed['n_env_steps']:09d}" / "vecnormalize.pt")
    # The statistics went on from the checkpoint's: their count holds both halves of the run.
    assert after["obs_rms"]["count"] > obs_rms["count"] + 500
    assert not np.allclose(after["obs_rms"]["mean"].numpy(), 0.0)
