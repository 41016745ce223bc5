"""The discriminator's gradient penalty (gail.disc_grad_penalty): off is imitation's own update, on smooths D."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from gailctl.core.config_load import load_config

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["env.n_envs=2", "gail.ppo.n_steps=128", "gail.ppo.batch_size=64", "gail.demo_batch_size=256",
         "gail.gen_replay_buffer_capacity=256", "gail.n_demos=2"]


def trainer_after_one_rollout(tmp_path: Path, penalty: float, *overrides: str) -> Any:
    from gailctl.rl.env.make import make_venv
    from gailctl.rl.policies import build_ppo, build_reward_net
    from gailctl.rl.torch_setup import setup_torch
    from tests.gail_parts import build_trainer_for
    from gailctl.rl.demos import load_demos

    setup_torch()
    cfg = load_config(ROOT / "configs/cartpole.yaml", [*SMALL, f"gail.disc_grad_penalty={penalty}", *overrides])
    torch.manual_seed(0)
    venv = make_venv(cfg.env, seed=0)
    gen = build_ppo(venv, cfg.gail.ppo, seed=0)
    trainer = build_trainer_for(cfg, venv=venv, gen=gen, reward_net=build_reward_net(venv, cfg.gail.reward_net),
                            trajs=load_demos(ROOT / "experts/cartpole/demos", n_demos=2), log_dir=tmp_path / "_".join([str(penalty), *overrides]))
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
    from gailctl.rl.gail.discriminator import penalized_trainer_class

    gail_cls, airl_cls = penalized_trainer_class("gail"), penalized_trainer_class("airl")
    obs = torch.zeros((3, 4))
    acts = torch.zeros(3, dtype=torch.long)
    assert gail_cls._get_log_policy_act_prob(None, obs, acts) is None
    assert "_get_log_policy_act_prob" not in vars(airl_cls)  # AIRL keeps imitation's: its logits use them
    trainer = trainer_after_one_rollout(tmp_path, 0.0)
    batches = list(trainer._make_disc_train_batches())
    assert batches and all(b["log_policy_act_prob"] is None for b in batches)


# --- the penalty's input space: normalised inputs ------------------------------------------


def fresh_trainer(tmp_path: Path, penalty: float, *overrides: str) -> Any:
    """A penalised trainer with a fixed initial net (no rollout: its batches are given)."""
    from gailctl.rl.env.make import make_venv
    from gailctl.rl.policies import build_ppo, build_reward_net
    from gailctl.rl.torch_setup import setup_torch
    from tests.gail_parts import build_trainer_for
    from gailctl.rl.demos import load_demos

    setup_torch()
    cfg = load_config(ROOT / "configs/cartpole.yaml", [*SMALL, f"gail.disc_grad_penalty={penalty}", *overrides])
    torch.manual_seed(0)
    venv = make_venv(cfg.env, seed=0)
    gen = build_ppo(venv, cfg.gail.ppo, seed=0)
    net = build_reward_net(venv, cfg.gail.reward_net, algorithm=cfg.gail.algorithm, discount_factor=cfg.gail.ppo.gamma)
    return build_trainer_for(cfg, venv=venv, gen=gen, reward_net=net,
                         trajs=load_demos(ROOT / "experts/cartpole/demos", n_demos=2), log_dir=tmp_path / "imitation")


def cartpole_batches(n: int = 256) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Expert transitions and 'generator' ones (other expert states, random actions)."""
    from imitation.data.rollout import flatten_trajectories

    from gailctl.rl.demos import load_demos

    flat = flatten_trajectories(load_demos(ROOT / "experts/cartpole/demos", n_demos=2))
    rng = np.random.default_rng(0)
    pick = rng.permutation(len(flat.obs))
    def take(index: np.ndarray) -> dict[str, np.ndarray]:
        return {"obs": flat.obs[index].copy(), "acts": flat.acts[index].copy(), "next_obs": flat.next_obs[index].copy(),
                "dones": flat.dones[index].copy()}
    expert, gen = take(pick[:n]), take(pick[n : 2 * n])
    gen["acts"] = rng.integers(0, 2, size=n)
    return expert, gen


def one_update(trainer: Any, expert: dict, gen: dict) -> dict[str, float]:
    from imitation.util import networks

    with networks.training(trainer.reward_train):  # as gail's round loop: the normalisation learns
        return trainer.train_disc(expert_samples=expert, gen_samples=gen)


def test_penalty_is_the_same_when_a_feature_is_rescaled(tmp_path: Path) -> None:
    """Pole angle x10 (and the normalisation fitted to it): the normalised inputs, logits and penalty are unchanged."""
    expert, gen = cartpole_batches()
    plain = fresh_trainer(tmp_path / "a", 1.0)
    scaled = fresh_trainer(tmp_path / "b", 1.0)
    scaled._reward_net.load_state_dict(plain._reward_net.state_dict())
    wide = [{k: v.copy() for k, v in batch.items()} for batch in (expert, gen)]
    for batch in wide:
        for key in ("obs", "next_obs"):
            batch[key][:, 2] *= 10.0  # the pole angle, the feature with the least spread
    a, b = one_update(plain, expert, gen), one_update(scaled, *wide)
    assert a["disc_grad_penalty"] > 0
    assert b["disc_grad_penalty"] == pytest.approx(a["disc_grad_penalty"], rel=1e-3)
    assert b["disc_loss"] == pytest.approx(a["disc_loss"], rel=1e-3)


def first_layer_reads_only(trainer: Any, start: int, stop: int) -> None:
    """Zero the first Linear layer's weights outside input columns [start, stop)."""
    dense = trainer._reward_net.mlp.dense0
    with torch.no_grad():
        keep = torch.zeros_like(dense.weight)
        keep[:, start:stop] = 1.0
        dense.weight.mul_(keep)


def test_next_state_is_penalised_when_the_net_uses_it(tmp_path: Path) -> None:
    expert, gen = cartpole_batches()
    trainer = fresh_trainer(tmp_path, 1.0, "gail.reward_net.use_next_state=true")
    # Inputs: state (4), one-hot action (2), next_state (4): a net that reads next_state only.
    first_layer_reads_only(trainer, 6, 10)
    stats = one_update(trainer, expert, gen)
    assert stats["disc_grad_penalty"] > 1e-4


def test_penalty_is_the_gradient_wrt_the_whole_normalised_input(tmp_path: Path) -> None:
    """Reference: ||d logits / d z||^2 with z = RunningNorm([s, onehot(a), s', done]), by hand."""
    from gailctl.rl.gail.discriminator import penalized_logits

    expert, gen = cartpole_batches(64)
    trainer = fresh_trainer(tmp_path, 1.0, "gail.reward_net.use_next_state=true", "gail.reward_net.use_done=true")
    net = trainer._reward_net
    obs, acts, next_obs, dones = (np.concatenate([expert[k], gen[k]]) for k in ("obs", "acts", "next_obs", "dones"))
    dones[::7] = True  # a done column with spread
    state, action, next_state, done = net.preprocess(obs, acts, next_obs, dones)
    net.train()
    _, penalty = penalized_logits(trainer.logits_expert_is_high, net, state, action, next_state, done)
    net.eval()  # statistics now fitted to this batch; recompute by hand without updating them
    x = torch.cat([state.float(), action.float(), next_state.float(), done.float()[:, None]], dim=1)
    norm = net.mlp.normalize_input
    z = ((x - norm.running_mean) / torch.sqrt(norm.running_var + norm.eps)).requires_grad_(True)
    logits = torch.nn.Sequential(*list(net.mlp.children())[1:])(z)
    (grad,) = torch.autograd.grad(logits.sum(), [z])
    assert float(penalty.detach()) == pytest.approx(float(grad.pow(2).sum(1).mean()), rel=1e-5)
    assert grad[:, 6:].abs().sum() > 0  # next_state and done do contribute


def test_penalty_on_raw_inputs_without_normalisation(tmp_path: Path) -> None:
    """normalize_input false: the raw inputs the net uses, next_state included."""
    expert, gen = cartpole_batches()
    trainer = fresh_trainer(tmp_path, 1.0, "gail.reward_net.use_next_state=true", "gail.reward_net.normalize_input=false")
    first_layer_reads_only(trainer, 6, 10)
    assert one_update(trainer, expert, gen)["disc_grad_penalty"] > 1e-4


def test_airl_penalises_its_shaping_potential_too(tmp_path: Path) -> None:
    """AIRL's logits read state and next_state through the potential's own normalisation: both count."""
    from gailctl.rl.gail.discriminator import _normalised_inputs, penalized_logits

    trainer = fresh_trainer(tmp_path, 1.0, "gail.algorithm=airl")
    trainer.train_gen(trainer.gen_train_timesteps)  # AIRL's batches need the generator's log-probabilities
    batch = next(iter(trainer._make_disc_train_batches()))
    with _normalised_inputs(trainer._reward_net) as leaves:
        trainer.logits_expert_is_high(batch["state"], batch["action"], batch["next_state"], batch["done"],
                                      batch["log_policy_act_prob"])
    widths = sorted(int(leaf.shape[1]) for leaf in leaves)
    assert widths == [4, 4, 6]  # potential(state), potential(next_state), reward term (state + one-hot action)
    _, penalty = penalized_logits(trainer.logits_expert_is_high, trainer._reward_net, batch["state"], batch["action"],
                                  batch["next_state"], batch["done"], batch["log_policy_act_prob"])
    assert float(penalty.detach()) > 0


def mlp_gradient_norms(trainer: Any, n: int = 256) -> torch.Tensor:
    """|d logit / d x| of the discriminator's layers after its input normalisation, at random inputs."""
    layers = trainer.reward_train.base.mlp  # GAIL wraps the net it was given
    mlp = torch.nn.Sequential(*(m for name, m in layers.named_children() if name != "normalize_input"))
    width = next(m for m in mlp.modules() if isinstance(m, torch.nn.Linear)).in_features
    x = (torch.randn(n, width, generator=torch.Generator().manual_seed(1)) * 3.0).requires_grad_(True)
    mlp.eval()
    (grad,) = torch.autograd.grad(mlp(x).sum(), [x])
    return grad.norm(dim=1)


def test_spectral_norm_bounds_the_logits_slope_after_training(tmp_path: Path) -> None:
    from imitation.data import types

    plain = trainer_after_one_rollout(tmp_path, 0.0)
    normed = trainer_after_one_rollout(tmp_path, 0.0, "gail.reward_net.spectral_norm=true")
    expert = dict(plain._next_expert_batch())
    gen = types.dataclass_quick_asdict(plain._gen_replay_buffer.sample(plain.demo_batch_size))
    for _ in range(100):
        plain.train_disc(expert_samples=expert, gen_samples=gen)
        stats = normed.train_disc(expert_samples=expert, gen_samples=gen)
    assert stats["disc_acc"] > 0.5  # it still learns to tell them apart
    # Every layer 1-Lipschitz (ReLU between): the slope is at most 1 (the power iteration's estimate of
    # each layer's largest singular value lags a little, hence the margin).
    assert float(mlp_gradient_norms(normed).max()) <= 1.05
    assert float(mlp_gradient_norms(plain).max()) > 1.5  # the same updates without it: steeper


@pytest.mark.parametrize("penalty", [0.0, 0.3])
def test_a_frozen_round_leaves_the_discriminator_and_its_normalisation_as_they_were(tmp_path: Path, penalty: float) -> None:
    from gailctl.rl import compat
    from gailctl.rl.gail.trainer import set_learning_rates, train_discriminator

    trainer = trainer_after_one_rollout(tmp_path, penalty, "gail.disc_frozen_fraction=0.5")
    g = load_config(ROOT / "configs/cartpole.yaml", [*SMALL, "gail.disc_frozen_fraction=0.5"]).gail

    def snapshot() -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in trainer.reward_train.state_dict().items()}

    set_learning_rates(trainer, g, round_number=2, n_rounds=2)  # the second of two: frozen
    assert compat.disc_optimizer(trainer).param_groups[0]["lr"] == 0.0
    before = snapshot()
    stats = train_discriminator(trainer, learn=False)
    assert len(stats) == g.n_disc_updates_per_round and all(np.isfinite(s["disc_loss"]) for s in stats)
    after = snapshot()
    assert any("running_mean" in k for k in after)  # the input normalisation's statistics are compared too
    assert all(torch.equal(before[k], after[k]) for k in before)

    set_learning_rates(trainer, g, round_number=1, n_rounds=2)  # the first: it learns
    train_discriminator(trainer)
    learned = snapshot()
    assert [k for k in before if not torch.equal(before[k], learned[k])]
    assert not torch.equal(before[next(k for k in before if "running_mean" in k)],
                           learned[next(k for k in learned if "running_mean" in k)])


# --- instance noise (gail.disc_input_noise) ------------------------------------------------


def noisy_trainer(tmp_path: Path, noise: float, penalty: float = 0.0) -> Any:
    return fresh_trainer(tmp_path, penalty, f"gail.disc_input_noise={noise}")


def clean_logits(trainer: Any, batch: dict[str, np.ndarray]) -> torch.Tensor:
    net = trainer._reward_net
    state, action, next_state, done = net.preprocess(batch["obs"], batch["acts"], batch["next_obs"], batch["dones"])
    net.eval()
    with torch.no_grad():
        return trainer.logits_expert_is_high(state, action, next_state, done, None)


@pytest.mark.parametrize("penalty", [0.0, 0.3])
def test_instance_noise_is_drawn_in_training_only(tmp_path: Path, penalty: float) -> None:
    """At a rate of 0, two updates on the same batches see different noise; labelling the rewards sees none."""
    from gailctl.rl import compat

    expert, gen = cartpole_batches()
    noisy, plain = noisy_trainer(tmp_path / "n", 0.5, penalty), noisy_trainer(tmp_path / "p", 0.0, penalty)
    for trainer in (noisy, plain):
        for group in compat.disc_optimizer(trainer).param_groups:
            group["lr"] = 0.0
    first, second = one_update(noisy, expert, gen), one_update(noisy, expert, gen)
    assert first["disc_loss"] != second["disc_loss"]
    # No noise: the same loss twice (the normalisation has seen the same batch both times).
    one_update(plain, expert, gen)
    assert one_update(plain, expert, gen)["disc_loss"] == pytest.approx(one_update(plain, expert, gen)["disc_loss"], rel=1e-6)
    assert torch.equal(clean_logits(noisy, expert), clean_logits(noisy, expert))
    assert not any(m._forward_hooks for m in noisy._reward_net.modules())


def test_instance_noise_keeps_the_discriminator_from_memorising_few_pairs(tmp_path: Path) -> None:
    """The same 256 expert and 256 generator pairs (expert states, random actions), 200 updates:
    without noise the logits split the two sets far apart; with noise of one standard deviation the
    split stays smaller."""
    expert, gen = cartpole_batches()
    gaps = {}
    for noise in (0.0, 1.0):
        trainer = noisy_trainer(tmp_path / str(noise), noise)
        for _ in range(200):
            one_update(trainer, expert, gen)
        gaps[noise] = float(clean_logits(trainer, expert).mean() - clean_logits(trainer, gen).mean())
    assert gaps[0.0] > 0 and gaps[1.0] > 0  # both still tell them apart
    assert gaps[1.0] < 0.5 * gaps[0.0], gaps


def test_instance_noise_needs_normalised_inputs() -> None:
    from gailctl.core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"gail\.disc_input_noise.*gail\.reward_net\.normalize_input"):
        load_config(ROOT / "configs/cartpole.yaml", ["gail.disc_input_noise=0.3", "gail.reward_net.normalize_input=false"])
