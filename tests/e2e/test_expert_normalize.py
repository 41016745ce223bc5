"""`gailctl expert` with VecNormalize: folded zips for users, unfolded checkpoints plus statistics for --resume.

A tiny budget (2 envs x 64 steps, 512 then 1024 env steps), a few seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gailctl.core.config_load import load_config
from gailctl.core.torch_files import read_torch_payload
from gailctl.rl.policies import read_zip_weights

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
    assert summary.normalization["obs"] and "folded" in summary.normalization["note"]

    ckpt = run_dir / "checkpoints" / "step_000000512"
    stats = read_torch_payload(ckpt / "vecnormalize.pt")  # tensors only, weights_only=True
    obs_rms = stats["obs_rms"]
    folded, _, _ = read_zip_weights(run_dir / "model.zip")
    assert torch.equal(folded["mlp_extractor.policy_net.0.weight"],
                       read_zip_weights(ckpt / "model.zip")[0]["mlp_extractor.policy_net.0.weight"])  # same zip as model.zip
    unfolded = read_torch_payload(ckpt / "policy_trained.pt")["state_dict"]  # the trained weights, for --resume
    sigma = torch.sqrt(obs_rms["var"] + stats["epsilon"])
    w = unfolded["mlp_extractor.policy_net.0.weight"]
    assert torch.allclose(folded["mlp_extractor.policy_net.0.weight"], (w.double() / sigma).float())
    assert torch.equal(folded["action_net.weight"], unfolded["action_net.weight"])
    PPO.load(run_dir / "model.zip", device="cpu")  # still a plain SB3 zip
    PPO.load(run_dir / "best_model.zip", device="cpu")

    resumed = expert.run(cfg.model_copy(update={"expert": cfg.expert.model_copy(update={"total_timesteps": 1024})}),
                         run_dir, resume=True)
    assert resumed.n_env_steps >= 1024
    after = read_torch_payload(run_dir / "checkpoints" / f"step_{resumed.n_env_steps:09d}" / "vecnormalize.pt")
    # The statistics went on from the checkpoint's: their count holds both halves of the run.
    assert after["obs_rms"]["count"] > obs_rms["count"] + 500
    assert not np.allclose(after["obs_rms"]["mean"].numpy(), 0.0)


def test_eval_of_a_checkpoint_zip_plays_the_trained_policy_behind_its_statistics(tmp_path: Path) -> None:
    """`gailctl eval checkpoints/step_N/model.zip` scores what the run trained, on raw observations."""
    from stable_baselines3.common.vec_env import VecNormalize

    from gailctl.rl.env.make import EVAL_SEED_OFFSET, make_venv
    from gailctl.core.errors import UsageError
    from gailctl.rl.evaluation import evaluate
    from gailctl.rl.env.normalize import restore_trained_policy
    from gailctl.rl.policies import load_ppo
    from gailctl.stages import evaluate as eval_stage
    from gailctl.stages import expert

    cfg = load_config(ROOT / "configs/cartpole.yaml", [*TINY, "expert.total_timesteps=1024", "eval.episodes=4",
                                                        "expert.checkpoint_every=512"])
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    expert.run(cfg, run_dir)
    ckpt = run_dir / "checkpoints" / "step_000000512"
    stats = read_torch_payload(ckpt / "vecnormalize.pt")

    # The same weights with normalisation applied: the trained policy behind the saved statistics.
    def behind_statistics(venv) -> VecNormalize:
        vec = VecNormalize(venv, training=False, norm_reward=False)
        vec.obs_rms.mean, vec.obs_rms.var = stats["obs_rms"]["mean"].numpy(), stats["obs_rms"]["var"].numpy()
        return vec

    probe = make_venv(cfg.env, seed=123, n_envs=1)
    trained = load_ppo(ckpt / "model.zip", probe, env_id=cfg.env.id)
    restore_trained_policy(trained, ckpt)
    as_user = load_ppo(ckpt / "model.zip", probe, env_id=cfg.env.id)  # what `gailctl eval` loads

    # Action for action, on raw observations of a random walk (4 x 200 states):
    vec = behind_statistics(make_venv(cfg.env, seed=123, n_envs=4))
    vec.reset()
    raw_obs = [vec.get_original_obs()]
    rng = np.random.default_rng(0)
    for _ in range(200):
        vec.step(rng.integers(0, 2, size=4))
        raw_obs.append(vec.get_original_obs())
    obs = np.concatenate(raw_obs)
    normalised = vec.normalize_obs(obs)
    assert np.abs(normalised).max() < vec.clip_obs  # (folding cannot clip; no state here needs it)
    agree = as_user.predict(obs, deterministic=True)[0] == trained.predict(normalised, deterministic=True)[0]
    assert agree.all(), f"{(~agree).sum()} of {len(agree)} actions differ"

    # And as a user runs it: the eval stage's returns are those of the trained policy behind its statistics.
    eval_dir = tmp_path / "eval"
    eval_dir.mkdir()
    result = eval_stage.run(cfg, eval_dir, policy_zip=ckpt / "model.zip")
    eval_venv = make_venv(cfg.env, seed=cfg.seed + EVAL_SEED_OFFSET, n_envs=min(cfg.eval.episodes, cfg.env.n_envs))
    load_ppo(ckpt / "model.zip", eval_venv, env_id=cfg.env.id, seed=cfg.seed)  # as the eval stage does (SB3 seeds the env)
    score = evaluate(trained, behind_statistics(eval_venv), n_episodes=cfg.eval.episodes, deterministic=cfg.eval.deterministic)
    assert result.return_mean == score.return_mean

    # A checkpoint written the old way (trained weights in the zip, no policy_trained.pt) is refused, not played.
    (ckpt / "policy_trained.pt").unlink()
    with pytest.raises(UsageError, match="unfolded"):
        eval_stage.run(cfg, eval_dir, policy_zip=ckpt / "model.zip")
