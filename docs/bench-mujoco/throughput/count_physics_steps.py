"""Count how often the simulator itself steps while plain PPO and GAIL each train the same number of env steps.

Why: the throughput table compares env steps per second, but on a task that absorbs after its
goal (Acrobot here: the final state repeats without simulating) the steps a policy spends
absorbed cost almost nothing, and PPO on the true reward reaches the goal sooner than GAIL.
Counts, unlike timings, do not depend on the machine's load.

    python docs/bench-mujoco/throughput/count_physics_steps.py configs/acrobot.yaml

The same policies and rounds as `gailctl bench --throughput-only` (its `throughput_pair`: 20,480
env steps, the config's seed, both sides from the stage's clone where gail.bc_init_epochs is set).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from gailctl.experiments.throughput import throughput_pair, throughput_setup
from gailctl.rl.gail.learner import train_rounds
from gailctl.rl.torch_setup import setup_torch


def count_calls(cls: type) -> list[int]:
    """Patch `cls.step` to count its calls; returns the counter (a one-element list)."""
    counter, original = [0], cls.step

    def step(self, action):
        counter[0] += 1
        return original(self, action)

    cls.step = step
    return counter


def main(config: Path) -> None:
    import gymnasium as gym
    import seals  # noqa: F401  (registers seals/* ids)

    setup_torch()
    setup = throughput_setup(config, [])
    cfg = setup.cfg
    env_cls = type(gym.make(cfg.env.id).unwrapped)
    counter = count_calls(env_cls)
    with tempfile.TemporaryDirectory() as log_dir:
        ppo, learner = throughput_pair(setup, Path(log_dir))
        counter[0] = 0
        ppo.learn(setup.steps)
        print(f"{cfg.env.id}: PPO  {setup.steps} env steps, {counter[0]} {env_cls.__name__}.step calls")
        counter[0] = 0
        for _ in train_rounds(learner.trainer, cfg, start_round=0, n_rounds=setup.n_rounds, bc_term=learner.bc_term):
            pass
        print(f"{cfg.env.id}: GAIL {setup.steps} env steps, {counter[0]} {env_cls.__name__}.step calls")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
