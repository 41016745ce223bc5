"""Count how often the simulator itself steps while plain PPO and GAIL each train the same number of env steps.

Why: the throughput table compares env steps per second, but on a task that absorbs after its
goal (Acrobot here: the final state repeats without simulating) the steps a policy spends
absorbed cost almost nothing, and PPO on the true reward reaches the goal sooner than GAIL.
Counts, unlike timings, do not depend on the machine's load.

    python docs/bench-mujoco/throughput/count_physics_steps.py configs/acrobot.yaml

Same rounds as `gailctl bench --throughput-only` (20,480 env steps, the config's seed).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from gailctl.core.config_load import load_config
from gailctl.core.runs import resolve_demos_dir
from gailctl.experiments.bench import THROUGHPUT_STEPS
from gailctl.rl.adversarial import build_gail, generator_normalizer, train_rounds
from gailctl.rl.demos import load_demos
from gailctl.rl.envs import make_venv
from gailctl.rl.policies import build_ppo
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
    cfg = load_config(config, [])
    g = cfg.gail
    env_cls = type(gym.make(cfg.env.id).unwrapped)
    counter = count_calls(env_cls)
    n_rounds = max(5, THROUGHPUT_STEPS // cfg.gail_steps_per_round)
    steps = n_rounds * cfg.gail_steps_per_round

    venv = make_venv(cfg.env, seed=cfg.seed)
    ppo = build_ppo(generator_normalizer(venv, g) if g.normalize_obs else venv, g.ppo, seed=cfg.seed)
    counter[0] = 0
    ppo.learn(steps)
    print(f"{cfg.env.id}: PPO  {steps} env steps, {counter[0]} {env_cls.__name__}.step calls")

    trajs = load_demos(resolve_demos_dir(Path(g.demos), flag="gail.demos =").resolve(), n_demos=g.n_demos)
    venv = make_venv(cfg.env, seed=cfg.seed)
    with tempfile.TemporaryDirectory() as log_dir:
        learner = build_gail(cfg, venv=venv, trajs=trajs, log_dir=Path(log_dir))
        counter[0] = 0
        for _ in train_rounds(learner.trainer, cfg, start_round=0, n_rounds=n_rounds):
            pass
    print(f"{cfg.env.id}: GAIL {steps} env steps, {counter[0]} {env_cls.__name__}.step calls")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
