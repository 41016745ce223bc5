"""Batched reward labelling gives PPO exactly what imitation's per-step reward wrapper gives it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gailctl.core.config import EnvConfig
from gailctl.core.config_load import load_config
from gailctl.rl.env.make import make_venv
from gailctl.rl.gail.relabel import ReturnScaler, RolloutRecorder, episode_returns, install_batched_rewards, label_rollout

ROOT = Path(__file__).resolve().parents[2]


def trainer_and_snapshots(tmp_path: Path, overrides: list[str], *, batched: bool,
                          normalize_reward: bool = False) -> tuple[Any, list[dict], Any]:
    """A GAIL trainer from configs/cartpole.yaml whose PPO update first copies the rollout buffer.

    `normalize_reward`: per step, SB3's VecNormalize(norm_reward=True) above imitation's reward
    wrapper; batched, our ReturnScaler.
    """
    from gailctl.rl.policies import build_ppo, build_reward_net
    from gailctl.rl.torch_setup import setup_torch
    from tests.gail_parts import build_trainer_for
    from gailctl.rl.demos import load_demos

    setup_torch()
    cfg = load_config(ROOT / "configs/cartpole.yaml",
                      ["gail.total_timesteps=2048", "gail.batched_rewards=false", *overrides])
    venv = make_venv(cfg.env, seed=cfg.seed)
    gen = build_ppo(venv, cfg.gail.ppo, seed=cfg.seed)
    reward_net = build_reward_net(venv, cfg.gail.reward_net, algorithm=cfg.gail.algorithm, discount_factor=cfg.gail.ppo.gamma)
    trajs = load_demos(ROOT / "experts/cartpole/demos", n_demos=cfg.gail.n_demos)
    trainer = build_trainer_for(cfg, venv=venv, gen=gen, reward_net=reward_net, trajs=trajs, log_dir=tmp_path / str(batched))
    if batched:  # installed here, not through the config, so the comparison cannot be per-step twice
        scaler = ReturnScaler(venv.num_envs, gamma=cfg.gail.ppo.gamma) if normalize_reward else None
        install_batched_rewards(trainer, scaler=scaler)
        assert isinstance(gen.get_env(), RolloutRecorder)
    elif normalize_reward:
        from stable_baselines3.common.vec_env import VecNormalize

        vec = VecNormalize(trainer.venv_train, norm_obs=False, norm_reward=True, gamma=cfg.gail.ppo.gamma)
        trainer.venv_train = trainer.venv_wrapped = vec
        gen.set_env(vec)
    snapshots: list[dict] = []
    ppo_train = gen.train

    def train() -> None:
        buf = gen.rollout_buffer
        snapshots.append({k: getattr(buf, k).copy() for k in ("observations", "rewards", "returns", "advantages")})
        ppo_train()

    gen.train = train
    return trainer, snapshots, cfg


def replay_arrays(trainer: Any) -> dict[str, np.ndarray]:
    buffer = trainer._gen_replay_buffer._buffer
    return {k: v[: buffer.size()] for k, v in buffer._arrays.items()}


def same_info(x: Any, y: Any, key: str = "") -> bool:
    """Equal step infos, but for Monitor's wall-clock time of an episode (info["episode"]["t"])."""
    if isinstance(x, dict):
        skip = {"t"} if key == "episode" else set()
        return (isinstance(y, dict) and x.keys() == y.keys()
                and all(same_info(x[k], y[k], k) for k in x.keys() - skip))
    if isinstance(x, np.ndarray):
        return isinstance(y, np.ndarray) and np.array_equal(x, y)
    return type(x) is type(y) and x == y


def run_both(tmp_path: Path, overrides: list[str], n_rollouts: int,
             normalize_reward: bool = False) -> tuple[list[dict], list[dict], Any, Any]:
    runs = []
    for batched in (False, True):  # one after the other: each PPO re-seeds the global RNGs
        trainer, snapshots, cfg = trainer_and_snapshots(tmp_path, overrides, batched=batched,
                                                        normalize_reward=normalize_reward)
        trainer.train_gen(n_rollouts * cfg.gail_steps_per_round)
        runs.append((trainer, snapshots))
    (per_step, a), (batched, b) = runs
    return a, b, per_step, batched


def assert_same_rollouts(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b) > 0
    for snap_a, snap_b in zip(a, b):
        np.testing.assert_array_equal(snap_a["observations"], snap_b["observations"])
        for key in ("rewards", "returns", "advantages"):
            np.testing.assert_allclose(snap_b[key], snap_a[key], rtol=1e-6, atol=1e-6, err_msg=key)


@pytest.mark.parametrize("algorithm, n_rollouts", [("gail", 1), ("gail", 2), ("airl", 1)])
def test_same_rewards_returns_advantages_as_imitation(tmp_path: Path, algorithm: str, n_rollouts: int) -> None:
    a, b, per_step, batched = run_both(tmp_path, [f"gail.algorithm={algorithm}"], n_rollouts)
    assert len(a) == n_rollouts
    # No episode ends here, so PPO collected zeros: without the labels (or without
    # recomputing returns) the comparison below would fail.
    assert not np.allclose(a[0]["rewards"], 0.0, atol=1e-3)
    assert_same_rollouts(a, b)
    ra, rb = replay_arrays(per_step), replay_arrays(batched)
    assert ra.keys() == rb.keys() and len(ra["obs"]) > 0
    for key in ra:
        np.testing.assert_array_equal(ra[key], rb[key], err_msg=key)


@pytest.mark.parametrize("overrides", [[], ["env.max_episode_steps=50"]])
def test_scaled_rewards_are_what_vecnormalize_gives_imitations_per_step_rewards(tmp_path: Path, overrides: list[str]) -> None:
    # Two rollouts (the statistics carry over), with and without episodes ending mid-rollout.
    a, b, per_step, batched = run_both(tmp_path, overrides, 2, normalize_reward=True)
    assert_same_rollouts(a, b)
    recorder, scaler = batched.venv_train, batched.gen_callback.scaler
    labels = label_rollout(batched.reward_train.predict_processed, recorder)
    assert scaler.rms.count == pytest.approx(2 * labels.size, abs=1e-3)
    # The scaling took effect: PPO's rewards are not the labels (no truncation term when no episode ends).
    if not overrides:
        assert not np.allclose(b[-1]["rewards"], labels, rtol=1e-3)


def test_logit_reward_form_labels_rollouts_with_the_discriminators_logit(tmp_path: Path) -> None:
    # gail.reward_form = logit through the config: PPO trains on L, whose softplus is imitation's reward.
    import torch as th

    trainer, snapshots, cfg = trainer_and_snapshots(
        tmp_path, ["gail.batched_rewards=true", "gail.reward_form=logit"], batched=False)
    trainer.train_gen(cfg.gail_steps_per_round)
    recorder = trainer.venv_train
    logits = label_rollout(trainer.reward_train.base.predict_processed, recorder)
    imitations = label_rollout(trainer.reward_train.predict_processed, recorder)
    np.testing.assert_allclose(snapshots[0]["rewards"], logits, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(th.nn.functional.softplus(th.as_tensor(logits)).numpy(), imitations, rtol=1e-5, atol=1e-6)
    assert (logits < 0).any()  # not imitation's reward, which is positive everywhere


def test_logit_reward_form_is_refused_where_it_cannot_apply() -> None:
    with pytest.raises(Exception, match="gail.reward_form = logit"):
        load_config(ROOT / "configs/cartpole.yaml", ["gail.reward_form=logit", "gail.batched_rewards=false"])
    with pytest.raises(Exception, match="gail.reward_form = logit"):
        load_config(ROOT / "configs/cartpole.yaml", ["gail.reward_form=logit", "gail.algorithm=airl"])


def test_return_scaler_state_continues_like_one_scaler() -> None:
    rng = np.random.default_rng(0)
    rews, dones = rng.normal(1.0, 3.0, size=(40, 3)), rng.random((40, 3)) < 0.1
    whole = ReturnScaler(3, gamma=0.95)(rews, dones)
    first = ReturnScaler(3, gamma=0.95)
    head = first(rews[:25], dones[:25])
    second = ReturnScaler(3, gamma=0.95)
    second.restore(first.state())
    np.testing.assert_array_equal(np.concatenate([head, second(rews[25:], dones[25:])]), whole)
    assert all(isinstance(v, (float, list)) for v in first.state().values())  # plain data for state.pt


@pytest.mark.parametrize("horizon", [50, 64])
def test_episodes_truncated_in_rollout_use_terminal_observation(tmp_path: Path, horizon: int) -> None:
    # Every env is truncated at step `horizon` of the 64-step rollout (SB3 bootstraps there):
    # mid-rollout, or on its last step, where SB3's final `dones` stop the bootstrap from
    # last_values. The reward net reads next_obs and dones, so the last observation matters.
    overrides = [f"env.max_episode_steps={horizon}", "gail.reward_net.use_next_state=true", "gail.reward_net.use_done=true"]
    a, b, per_step, batched = run_both(tmp_path, overrides, 1)
    recorder, end = batched.venv_train, horizon - 1
    dones = np.stack(recorder.dones)
    assert dones.sum() == 8 and dones[end].all()
    # The recorded next_obs is the episode's end, not the first observation of the next one.
    following = recorder.obs[end + 1] if end + 1 < len(recorder.obs) else batched.gen_algo._last_obs
    assert not np.any(recorder.next_obs[end] == following)
    assert_same_rollouts(a, b)
    # rollout/ep_rew_wrapped_mean averages the same learned episode returns as imitation's.
    np.testing.assert_allclose(batched.gen_callback.episode_rewards, per_step.venv_wrapped.episode_rewards, rtol=1e-6)
    assert len(batched.gen_callback.episode_rewards) == 8


def test_replay_rows_and_episode_lengths_over_rounds_are_imitations(tmp_path: Path, monkeypatch) -> None:
    # Episodes of 40 steps across three rounds of 64: some end mid-round, some span rounds, so
    # trajectories start in one round and end in the next. The replay buffer holds all three
    # rounds, in the order imitation's BufferingWrapper stored them.
    from imitation.algorithms.adversarial.common import AdversarialTrainer

    lengths: list[list[int]] = []
    check = AdversarialTrainer._check_fixed_horizon
    monkeypatch.setattr(AdversarialTrainer, "_check_fixed_horizon",
                        lambda self, ep_lens: (lengths.append(list(ep_lens)), check(self, ep_lens))[1])
    overrides = ["env.max_episode_steps=40", "gail.gen_replay_buffer_capacity=1536"]
    a, b, per_step, batched = run_both(tmp_path, overrides, 3)
    assert_same_rollouts(a, b)
    ra, rb = replay_arrays(per_step), replay_arrays(batched)
    assert len(ra["obs"]) == len(rb["obs"]) == 1536
    for key in ra.keys() - {"infos"}:
        np.testing.assert_array_equal(ra[key], rb[key], err_msg=key)
    # Infos hold arrays (terminal_observation, the episode imitation's RolloutInfoWrapper keeps).
    assert all(same_info(x, y) for x, y in zip(ra["infos"], rb["infos"]))
    assert sum("terminal_observation" in info for info in rb["infos"]) == 8 * (192 // 40)
    per_round = len(lengths) // 2
    assert lengths[:per_round] == lengths[per_round:] and sum(map(len, lengths[:per_round])) == 8 * (192 // 40)
    assert set(sum(lengths, [])) == {40}  # full lengths, also of the episodes a round cut


def test_recorder_hands_zero_rewards_and_keeps_terminal_observations() -> None:
    venv = make_venv(EnvConfig(id="seals/CartPole-v0", n_envs=2, max_episode_steps=3), seed=0)
    recorder = RolloutRecorder(venv)
    last = recorder.reset()
    recorder.start(last)
    for step in range(4):
        acts = np.array([0, 1])
        obs, rews, dones, infos = recorder.step(acts)
        np.testing.assert_array_equal(rews, [0.0, 0.0])
        assert [info["original_env_rew"] for info in infos] == [1.0, 1.0]
        np.testing.assert_array_equal(recorder.obs[-1], last)
        np.testing.assert_array_equal(recorder.acts[-1], acts)
        if step == 2:  # the time limit: obs is the next episode's first, next_obs this one's last
            assert dones.all()
            for i in range(2):
                np.testing.assert_array_equal(recorder.next_obs[-1][i], infos[i]["terminal_observation"])
            assert not np.any(recorder.next_obs[-1] == obs)
        else:
            assert not dones.any()
            np.testing.assert_array_equal(recorder.next_obs[-1], obs)
        last = obs
    assert len(recorder.obs) == len(recorder.dones) == 4
    # What imitation's BufferingWrapper pops: the two 3-step episodes, then each env's 1-step rest.
    trajs, ep_lens = recorder.pop_trajectories()
    assert ep_lens == [3, 3] and [(len(t.acts), t.terminal) for t in trajs] == [(3, True), (3, True), (1, False), (1, False)]
    np.testing.assert_array_equal(trajs[0].obs[-1], recorder.next_obs[2][0])
    np.testing.assert_array_equal(trajs[2].obs, [recorder.obs[3][0], obs[0]])
    assert recorder.pop_trajectories() == ([], [])
    recorder.start(obs)  # a new rollout: popped steps are dropped
    assert recorder.obs == [] and recorder.dones == [] and recorder.rollout_start == 0


def test_episode_returns_carry_partial_sums_across_rollouts() -> None:
    running = np.zeros(2)
    rews = np.array([[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]])
    dones = np.array([[False, False], [True, False], [False, False]])
    assert episode_returns(rews, dones, running) == [2.0]
    np.testing.assert_array_equal(running, [1.0, 6.0])
    assert episode_returns(rews[:1], np.array([[False, True]]), running) == [8.0]
