"""`gailctl expert`: the budget in whole rollouts, stated and kept; a stop and resume that lose no update.

Tiny budgets (CartPole, 2 envs x 64 steps = 128 env steps per rollout), a few seconds each.
"""

from __future__ import annotations

import contextlib
import csv
from pathlib import Path

import pytest

from gailctl.core.config_load import load_config
from gailctl.core.errors import Interrupted

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e

TINY = ["env.id=CartPole-v1", "env.n_envs=2", "expert.ppo.n_steps=64", "expert.ppo.n_epochs=2",
        "expert.eval_every=256", "expert.eval_episodes=2", "expert.checkpoint_every=256"]


def rows(run_dir: Path) -> list[dict]:
    with open(run_dir / "metrics.csv", newline="") as fh:
        return [{k: v for k, v in r.items() if k != "wall_s"} for r in csv.DictReader(fh)]


def checkpoints(run_dir: Path) -> list[str]:
    return sorted(p.name for p in (run_dir / "checkpoints").iterdir() if not p.name.startswith("."))


def test_expert_n_envs_sets_the_experts_rollout_only(tmp_path: Path, capsys) -> None:
    """expert.n_envs: the expert's own envs (rl-zoo's Swimmer: 1 x 2048); gail keeps env.n_envs."""
    from gailctl.stages import expert

    cfg = load_config(ROOT / "configs/cartpole.yaml", [*TINY, "expert.n_envs=1", "expert.total_timesteps=256"])
    assert (cfg.expert_steps_per_rollout, cfg.gail_steps_per_round) == (64, cfg.gail.ppo.n_steps * 2)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    summary = expert.run(cfg, run_dir)
    assert "expert: 256 env steps = 4 rollouts of 64 (1 envs x 64 steps)" in " ".join(capsys.readouterr().err.split())
    assert summary.n_env_steps == 256 and summary.n_rollouts == 4


class StopAtStep:
    """A stop flag that turns on at the n-th env step of training, as a SIGINT at that step would (deterministic)."""

    def __init__(self, n: int):
        self.n, self.steps = n, 0

    def step_poll(self) -> bool:  # what the rollout's per-step check calls
        self.steps += 1
        return self.requested

    @property
    def requested(self) -> bool:
        return self.steps >= self.n


def stop_at_step(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    """The run loop's stop flag and the rollout's per-step check both see a stop from the n-th step on."""
    from gailctl.core import run_loop, signals

    flag = StopAtStep(n)
    monkeypatch.setattr(run_loop, "graceful_stop", lambda: contextlib.nullcontext(flag))
    monkeypatch.setattr(signals, "stop_requested", flag.step_poll)


def test_budget_is_stated_in_whole_rollouts_and_never_exceeded(tmp_path: Path, capsys) -> None:
    from gailctl.stages import expert

    cfg = load_config(ROOT / "configs/cartpole.yaml", [*TINY, "env.id=seals/CartPole-v0", "expert.total_timesteps=1000"])
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    summary = expert.run(cfg, run_dir)
    err = " ".join(capsys.readouterr().err.split())
    assert "expert: 1,024 env steps = 8 rollouts of 128 (2 envs x 64 steps)" in err
    assert "warning: expert.total_timesteps = 1000 is not a whole number of rollouts of 128: rounded up to 1,024" in err
    assert summary.n_env_steps == 1024 and summary.n_rollouts == 8
    assert [int(r["n_env_steps"]) for r in rows(run_dir)] == [0, 256, 512, 768, 1024]
    assert checkpoints(run_dir) == ["step_000000256", "step_000000512", "step_000000768", "step_000001024"]
    # On this env and seed the untrained policy already scores the maximum: say so.
    assert summary.best.n_env_steps == 0 and "untrained" in summary.best.note


def test_a_whole_budget_gets_no_warning(tmp_path: Path, capsys) -> None:
    from gailctl.stages import expert

    cfg = load_config(ROOT / "configs/cartpole.yaml", [*TINY, "expert.total_timesteps=256"])
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    assert expert.run(cfg, run_dir).n_env_steps == 256
    err = capsys.readouterr().err
    assert "expert: 256 env steps = 2 rollouts of 128" in err and "warning" not in err


@pytest.mark.parametrize("polls", [64 * 5 + 20, 64 * 4 + 1], ids=["mid-rollout", "first-step-after-a-checkpoint"])
def test_stop_and_resume_make_the_same_updates_and_rows_as_one_run(tmp_path: Path, monkeypatch, polls: int) -> None:
    import gailctl.stages.expert as expert

    cfg = load_config(ROOT / "configs/cartpole.yaml", [*TINY, "expert.total_timesteps=1024"])
    full_dir, cut_dir = tmp_path / "full", tmp_path / "cut"
    full_dir.mkdir()
    cut_dir.mkdir()
    full = expert.run(cfg, full_dir)

    with monkeypatch.context() as m:
        stop_at_step(m, polls)
        with pytest.raises(Interrupted, match=r"stopped at (\d+) env steps") as stopped:
            expert.run(cfg, cut_dir)
    boundary = (polls - 1) // 64 * 128  # the rollout boundary before the stop: its partial rollout is dropped
    assert f"stopped at {boundary} env steps" in str(stopped.value)
    assert checkpoints(cut_dir)[-1] == f"step_{boundary:09d}"
    # Up to the stop, the cut run is the uninterrupted one, to the digit.
    assert rows(cut_dir) == [r for r in rows(full_dir) if int(r["n_env_steps"]) <= boundary]

    resumed = expert.run(cfg, cut_dir, resume=True)
    assert resumed.n_updates == full.n_updates == 8 * 2  # SB3 counts n_epochs per update: 8 rollouts x 2
    assert resumed.n_env_steps == full.n_env_steps == 1024
    assert [r["n_env_steps"] for r in rows(cut_dir)] == [r["n_env_steps"] for r in rows(full_dir)]
    assert checkpoints(cut_dir) == sorted({*checkpoints(full_dir), f"step_{boundary:09d}"})  # + the stop's own


def same_tensors(a, b) -> bool:
    import torch

    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same_tensors(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same_tensors(x, y) for x, y in zip(a, b))
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.equal(a, b)
    return a == b


def test_a_stop_checkpoints_exactly_what_the_uninterrupted_run_had_at_that_boundary(tmp_path: Path, monkeypatch) -> None:
    """The partial rollout's normalisation updates and random draws are undone before the stop's checkpoint."""
    import gailctl.stages.expert as expert
    from gailctl.core.torch_files import read_torch_payload
    from gailctl.rl.policies import read_zip_weights

    norm = [*TINY, "expert.total_timesteps=1024", "expert.normalize_obs=true", "expert.normalize_reward=true"]
    every_rollout = load_config(ROOT / "configs/cartpole.yaml", [*norm, "expert.checkpoint_every=128"])
    full_dir, cut_dir = tmp_path / "full", tmp_path / "cut"
    full_dir.mkdir()
    cut_dir.mkdir()
    expert.run(every_rollout, full_dir)

    stop_at_step(monkeypatch, 64 * 5 + 20)  # mid-rollout, 20 steps after the boundary at 640 (no periodic checkpoint there)
    with pytest.raises(Interrupted, match="stopped at 640 env steps"):
        expert.run(load_config(ROOT / "configs/cartpole.yaml", norm), cut_dir)
    ours, theirs = cut_dir / "checkpoints/step_000000640", full_dir / "checkpoints/step_000000640"
    for name in ("vecnormalize.pt", "policy_trained.pt"):
        assert same_tensors(read_torch_payload(ours / name), read_torch_payload(theirs / name)), name
    a, b = read_torch_payload(ours / "state.pt"), read_torch_payload(theirs / "state.pt")
    clocks = ("wall_s", "eval_s")
    assert same_tensors({k: v for k, v in a.items() if k not in clocks}, {k: v for k, v in b.items() if k not in clocks})
    assert same_tensors(read_zip_weights(ours / "model.zip")[:2], read_zip_weights(theirs / "model.zip")[:2])


def test_linear_learning_rate_decays_over_the_whole_budget_across_a_resume(tmp_path: Path, monkeypatch) -> None:
    """Each one-rollout `learn` call runs its update at the rate one call over the whole budget gives it."""
    import stable_baselines3

    import gailctl.stages.expert as expert

    rates: list[float] = []
    train = stable_baselines3.PPO.train

    def recording_train(self) -> None:
        train(self)
        rates.append(self.policy.optimizer.param_groups[0]["lr"])

    monkeypatch.setattr(stable_baselines3.PPO, "train", recording_train)
    cfg = load_config(ROOT / "configs/cartpole.yaml", [*TINY, "expert.total_timesteps=1024", "expert.lr_schedule=linear",
                                                       "expert.lr_final_fraction=0.2", "expert.ppo.learning_rate=1e-3"])
    (tmp_path / "full").mkdir()
    expert.run(cfg, tmp_path / "full")
    full, rates[:] = list(rates), []
    # rollout r of 8 updates at progress_remaining 1 - r/8: 1e-3 x (0.2 + 0.8 (1 - r/8)), the last at 0.2e-3
    assert full == pytest.approx([1e-3 * (0.2 + 0.8 * (1 - r / 8)) for r in range(1, 9)])

    (tmp_path / "cut").mkdir()
    with monkeypatch.context() as m:
        stop_at_step(m, 64 * 5 + 20)  # stopped in the 6th rollout: 5 updates made
        with pytest.raises(Interrupted):
            expert.run(cfg, tmp_path / "cut")
    expert.run(cfg, tmp_path / "cut", resume=True)
    assert rates == pytest.approx(full)  # the resumed run continues the schedule where the stop left it
