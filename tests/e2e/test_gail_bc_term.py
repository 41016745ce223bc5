"""`gail.bc_weight`: a BC term in the generator's loss (GAIL+BC), on seals/MountainCar-v0 at a tiny budget."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from gailctl.core.config_load import load_config
from gailctl.core.torch_files import read_torch_payload
from tests.e2e.test_gail_bc_init import DEMOS, ROOT, TINY, run_gail

pytestmark = pytest.mark.e2e


@pytest.fixture
def learner_for(gail_learner):
    def make(tmp_path: Path, overrides: list[str]):
        from gailctl.rl.demos import load_demos

        cfg = load_config(ROOT / "configs/mountaincar.yaml", [*TINY, *overrides])
        return cfg, gail_learner(cfg, load_demos(DEMOS, n_demos=4), tmp_path)

    return make


def test_each_step_adds_weight_times_the_gradient_of_the_demonstrations_nll(tmp_path, learner_for):
    import torch

    from gailctl.rl.gail.batches import ExpertBatches
    from gailctl.rl.gail.bc_term import BC_TERM_STREAM
    from gailctl.rl.subsample import demo_transitions
    from gailctl.rl.demos import load_demos

    cfg, learner = learner_for(tmp_path, ["gail.bc_weight=0.5", "gail.normalize_obs=true"])
    term, policy = learner.bc_term, learner.gen.policy
    assert term is not None and term.weight == 0.5
    learner.vec.obs_rms.update(np.random.default_rng(1).normal(size=(50, 2)))  # statistics that change the inputs
    # The first batch the term will draw, drawn again from a generator seeded alike.
    kept = demo_transitions(load_demos(DEMOS, n_demos=4), every=cfg.gail.subsample_every, seed=cfg.seed)
    first = next(iter(ExpertBatches(kept, batch_size=64, rng=np.random.default_rng([cfg.seed, BC_TERM_STREAM]))))
    policy.optimizer.zero_grad()
    (0.5 * term.loss(first)).backward()
    expected = {name: p.grad.clone() for name, p in policy.named_parameters() if p.grad is not None}
    assert any(name.startswith("action_net") for name in expected)
    assert not any(name.startswith("value_net") for name in expected)  # the term does not train the critic

    policy.optimizer.zero_grad(set_to_none=False)
    for group in policy.optimizer.param_groups:
        group["lr"] = 0.0  # the step runs its hooks and leaves the weights and gradients as they are
    policy.optimizer.step()
    for name, p in policy.named_parameters():
        got = p.grad if p.grad is not None else torch.zeros_like(p)
        assert torch.allclose(got, expected.get(name, torch.zeros_like(p)), atol=1e-7), name
    # Normalised as PPO's inputs are: raw demonstration states read through the generator's statistics.
    raw = -policy.get_distribution(policy.obs_to_tensor(first["obs"])[0]).log_prob(
        torch.as_tensor(first["acts"]).long()).mean()
    assert not torch.isclose(raw, term.loss(first))
    assert term.take_mean_loss() == pytest.approx(float(term.loss(first).detach()), rel=1e-6)
    assert math.isnan(term.take_mean_loss())  # counted afresh after each take


def test_no_term_while_the_value_warmup_freezes_the_policy(tmp_path, learner_for):
    from gailctl.rl.policies import train_value_only

    _, learner = learner_for(tmp_path, ["gail.bc_weight=1.0"])
    policy = learner.gen.policy
    train_value_only(policy, True)
    policy.optimizer.zero_grad()
    policy.optimizer.step()
    assert all(p.grad is None for p in policy.parameters())
    assert math.isnan(learner.bc_term.take_mean_loss())


def test_zero_weight_is_plain_gail(tmp_path, learner_for):
    _, learner = learner_for(tmp_path, [])
    assert learner.bc_term is None and not learner.gen.policy.optimizer._optimizer_step_pre_hooks


def test_runs_logs_the_term_and_resumes_its_batch_order(tmp_path):
    from gailctl.core.checkpoints import read_state
    from gailctl.rl.demos import load_demos
    from gailctl.rl.gail.batches import ExpertBatches
    from gailctl.rl.gail.bc_term import BC_TERM_STREAM
    from gailctl.rl.gail.learner import GailLearner
    from gailctl.rl.env.make import make_venv
    from gailctl.rl.subsample import demo_transitions

    overrides = ["gail.bc_weight=0.3", "gail.total_timesteps=256"]
    run_dir, summary = run_gail(tmp_path, "run", overrides)
    assert summary.bc_weight == 0.3
    with open(run_dir / "imitation" / "progress.csv") as f:
        losses = [float(row["gen/bc_loss"]) for row in csv.DictReader(f)]
    assert len(losses) == 2 and all(np.isfinite(losses))
    checkpoint = run_dir / "checkpoints" / "round_000002"
    state = read_state(checkpoint)

    cfg = load_config(ROOT / "configs/mountaincar.yaml", [*TINY, *overrides])
    kept = demo_transitions(load_demos(DEMOS, n_demos=4), every=1, seed=cfg.seed)
    resumed = GailLearner.load(checkpoint, state, cfg.gail, env=cfg.env, seed=cfg.seed, venv=make_venv(cfg.env, seed=0),
                               demos=kept, log_dir=tmp_path / "log")
    # The resumed term draws the batch an uninterrupted run would: the 9th of its order (2 rounds
    # of 2 epochs x 2 minibatches each drew 8).
    assert state["bc_term_batches"]["position"] == 8
    order = iter(ExpertBatches(kept, batch_size=64,
                               rng=np.random.default_rng([cfg.seed, BC_TERM_STREAM])))
    ninth = [next(order) for _ in range(9)][-1]
    drawn = resumed.bc_term._next_batch()
    assert all(np.array_equal(drawn[k], ninth[k]) for k in ninth)
    assert read_torch_payload(checkpoint / "reward_net.pt")  # the rest of the checkpoint as before

    _, more = run_gail(tmp_path, "run", ["gail.bc_weight=0.3", "gail.total_timesteps=384"], resume=True)
    assert more.n_env_steps == 384


def test_continuous_actions_pull_the_mean_and_leave_the_spread_to_ppo():
    """A likelihood term would also shrink the Gaussian's std (on Swimmer to 0.0007 by 1M env
    steps); the term is the squared distance of the mean action, so log_std takes no gradient."""
    import gymnasium as gym
    import torch
    from stable_baselines3 import PPO

    from gailctl.rl.gail.bc_term import BCTerm

    policy = PPO("MlpPolicy", gym.make("Pendulum-v1"), policy_kwargs={"net_arch": [8]}, seed=0, device="cpu").policy
    rng = np.random.default_rng(0)
    batch = {"obs": rng.normal(size=(16, 3)).astype(np.float32), "acts": rng.uniform(-2, 2, size=(16, 1)).astype(np.float32)}
    term = BCTerm(policy, [batch], weight=1.0, vec=None)
    with torch.no_grad():
        loss = term.loss(batch)
        mean = policy.get_distribution(torch.as_tensor(batch["obs"])).distribution.mean
    assert float(loss) == pytest.approx(float((mean - torch.as_tensor(batch["acts"])).pow(2).sum(1).mean()), rel=1e-6)
    policy.optimizer.zero_grad()
    policy.optimizer.step()  # the hook adds the term's gradient (Adam then steps with it)
    assert policy.log_std.grad is None or not policy.log_std.grad.any()
    assert policy.action_net.weight.grad.abs().sum() > 0
