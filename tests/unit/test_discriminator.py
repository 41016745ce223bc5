"""The discriminator's gradient penalty (gail.disc_grad_penalty): off is imitation's own update, on smooths D."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from gailctl.config import load_config

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["env.n_envs=2", "gail.ppo.n_steps=128", "gail.ppo.batch_size=64", "gail.demo_batch_size=256",
         "gail.gen_replay_buffer_capacity=256", "gail.n_demos=2"]


def trainer_after_one_rollout(tmp_path: Path, penalty: float) -> Any:
    from gailctl.envs import make_venv
    from gailctl.policies import build_ppo, build_reward_net
    from gailctl.stages import setup_torch
    from gailctl.stages.gail import build_trainer, load_demos

    setup_torch()
    cfg = load_config(ROOT / "configs/cartpole.yaml", [*SMALL, f"gail.disc_grad_penalty={penalty}"])
    torch.manual_seed(0)
    venv = make_venv(cfg.env, seed=0)
    gen = build_ppo(venv, cfg.gail.ppo, seed=0)
    trainer = build_trainer(cfg, venv=venv, gen=gen, reward_net=build_reward_net(venv, cfg.gail.reward_net),
                            trajs=load_demos(ROOT / "experts/cartpole/demos", n_demos=2), log_dir=tmp_path / str(penalty))
    trainer.train_gen(cfg.gail_steps_per_round)
    return trainer


def input_gradient_norm(trainer: Any, batch: dict[str, np.ndarray]) -> float:
    state, action, next_state, done = trainer.reward_train.preprocess(batch["obs"], batch["acts"], batch["next_obs"], batch["dones"])
    state = state.float().requires_grad_(True)
    action = action.float().requires_grad_(True)
    logits = trainer.logits_expert_is_high(state, action, next_state, done, None)
    grads = torch.autograd.grad(logits.sum(), [state, action])
    return float(sum(g.pow(2).flatten(1).sum(1) for g in grads).mean())


def test_without_penalty_the_update_is_imitations(tmp_path: Path) -> None:
    trainer = trainer_after_one_rollout(tmp_path, 0.0)
    stats = trainer.train_disc()
    assert "disc_grad_penalty" not in stats  # imitation's own train_disc ran
    assert {"disc_loss", "disc_acc", "disc_acc_expert", "disc_acc_gen"} <= set(stats)


def test_penalty_keeps_the_discriminator_smoother_on_the_same_data(tmp_path: Path) -> None:
    from imitation.data import types

    plain = trainer_after_one_rollout(tmp_path, 0.0)
    penalized = trainer_after_one_rollout(tmp_path, 10.0)
    # Same init (same seed), same generator samples and the same expert batches for both.
    expert = dict(plain._next_expert_batch())
    gen = types.dataclass_quick_asdict(plain._gen_replay_buffer.sample(plain.demo_batch_size))
    for _ in range(30):
        plain.train_disc(expert_samples=expert, gen_samples=gen)
        stats = penalized.train_disc(expert_samples=expert, gen_samples=gen)
    assert stats["disc_grad_penalty"] > 0
    probe = {k: np.concatenate([expert[k], gen[k]]) for k in ("obs", "acts", "next_obs", "dones")}
    smooth, sharp = input_gradient_norm(penalized, probe), input_gradient_norm(plain, probe)
    assert smooth < 0.5 * sharp, (smooth, sharp)


def test_gail_skips_the_policy_log_probabilities_airl_needs(tmp_path: Path) -> None:
    from gailctl.discriminator import penalized_trainer_class

    gail_cls, airl_cls = penalized_trainer_class("gail"), penalized_trainer_class("airl")
    obs = torch.zeros((3, 4))
    acts = torch.zeros(3, dtype=torch.long)
    assert gail_cls._get_log_policy_act_prob(None, obs, acts) is None
    assert "_get_log_policy_act_prob" not in vars(airl_cls)  # AIRL keeps imitation's: its logits use them
    trainer = trainer_after_one_rollout(tmp_path, 0.0)
    batches = list(trainer._make_disc_train_batches())
    assert batches and all(b["log_policy_act_prob"] is None for b in batches)
