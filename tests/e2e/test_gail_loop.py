"""One GAIL learner and round loop for `gailctl gail` and bench's throughput run: they train the same thing."""

from __future__ import annotations

from pathlib import Path

import pytest

from gailctl.core.demo_sources import resolve_demos
from gailctl.experiments import throughput
from gailctl.core.config_load import load_config
from gailctl.core.execution import execute

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs/cartpole.yaml"
TINY = ["gail.algorithm=airl", "env.n_envs=2", "gail.total_timesteps=320", "gail.ppo.n_steps=32",
        "gail.ppo.batch_size=32", "gail.demo_batch_size=32", "gail.gen_replay_buffer_capacity=64", "gail.n_demos=2",
        "gail.eval_every=320", "gail.eval_episodes=1", "gail.final_eval_episodes=1", f"gail.demos={ROOT / 'experts/cartpole/demos'}"]


def test_bench_throughput_trains_the_stages_airl_reward_net(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gailctl.rl.gail import learner
    from gailctl.stages import gail

    built: dict[str, list] = {"stage": [], "bench": []}
    who = ["stage"]
    original = learner.build_trainer

    def spy(g, **kwargs):
        trainer = original(g, **kwargs)
        built[who[0]].append(trainer)
        return trainer

    monkeypatch.setattr(learner, "build_trainer", spy)  # what GailLearner calls, for the stage and bench alike
    cfg = load_config(CONFIG, TINY)
    execute("gail", gail.run, cfg, runs_dir=tmp_path, argv=["gailctl", "gail"], demos=resolve_demos(ROOT / "experts/cartpole/demos", flag="--demos"))
    who[0] = "bench"
    monkeypatch.setattr(throughput, "THROUGHPUT_STEPS", 64)
    speed = throughput.measure_throughput(CONFIG, TINY, repeats=1)
    assert speed["env_steps"] == 5 * 64 and speed["gail_steps_per_s"] > 0

    (stage,), (timed,) = built["stage"], built["bench"]
    from imitation.algorithms.adversarial.airl import AIRL
    from imitation.rewards.reward_nets import BasicShapedRewardNet

    for trainer in (stage, timed):
        assert isinstance(trainer, AIRL)
        assert isinstance(trainer._reward_net, BasicShapedRewardNet)
        assert trainer._reward_net.discount_factor == cfg.gail.ppo.gamma == 0.95  # not the net's 0.99 default
    shapes = {k: tuple(v.shape) for k, v in stage._reward_net.state_dict().items()}
    assert shapes == {k: tuple(v.shape) for k, v in timed._reward_net.state_dict().items()}
    assert timed.gen_algo.num_timesteps == 5 * 64  # the same round loop ran the measured rounds
