"""Time one PPO update with torch's per-tensor Adam and with `foreach` (gailctl's), interleaved.

Why: gailctl sets `foreach` on every optimizer (`gailctl.rl.torch_setup.multi_tensor_updates`);
the numbers are identical, and this measures what it saves, with no env stepping in the timing.
A Hopper-shaped PPO as `configs/hopper.yaml` trains its generator: 8 envs x 256 steps, 10 epochs
of minibatches of 256, 64-64 tanh.

    python docs/bench-mujoco/throughput/adam_foreach.py [REPEATS]
"""

from __future__ import annotations

import statistics
import sys
import time

import torch

from gailctl.core.config import EnvConfig, PPOConfig
from gailctl.rl.env.make import make_venv
from gailctl.rl.policies import build_ppo
from gailctl.rl.torch_setup import multi_tensor_updates, setup_torch


def main(repeats: int) -> None:
    from stable_baselines3.common.logger import configure

    setup_torch()
    venv = make_venv(EnvConfig(id="seals/Hopper-v1", n_envs=8), seed=0)
    model = build_ppo(venv, PPOConfig(n_steps=256, batch_size=256, n_epochs=10, net_arch=(64, 64)), seed=0)
    model.set_logger(configure(None, [""]))
    _, callback = model._setup_learn(2048, None)
    model.collect_rollouts(model.env, callback, model.rollout_buffer, n_rollout_steps=256)
    start = {k: v.clone() for k, v in model.policy.state_dict().items()}
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(repeats):
        for foreach in (False, True):
            model.policy.load_state_dict(start)
            opt = torch.optim.Adam(model.policy.parameters(), lr=3e-4, eps=1e-5, foreach=False)
            model.policy.optimizer = multi_tensor_updates(opt) if foreach else opt
            started = time.perf_counter()
            model.train()
            times[foreach].append(time.perf_counter() - started)
    per_tensor, multi = statistics.median(times[False]), statistics.median(times[True])
    print("| Adam | median s per PPO update | repeats |\n|---|---|---|")
    print(f"| per tensor (torch's CPU default) | {per_tensor:.4f} | {repeats} |")
    print(f"| foreach (gailctl) | {multi:.4f} | {repeats} |")
    print(f"\nforeach / per tensor: {multi / per_tensor:.3f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 12)
