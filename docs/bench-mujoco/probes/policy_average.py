"""Probe: does an exponential moving average of the generator's weights score better than the last weights?

Why: on HalfCheetah the 5-episode evaluations swing by 0.3-0.5 between rounds
late in training (e.g. `tuning/hc-def-s7`: 0.98 at 901k env steps, 0.45 at the end), so the
final score is partly a draw of which round the budget ends on. In GAN training, averaging the
generator's weights over the last iterates damps exactly this oscillation (Yazici et al. 2019,
"The Unusual Effectiveness of Averaging in GAN Training"). Averaging uses no true reward.

This trains GAIL exactly as `gailctl gail` does (the same `build_gail`, BC start and
`train_rounds`, the config's seed), keeps one average per time constant (in env steps:
decay per round = exp(-steps_per_round / tau)), and scores the last weights and each average
over the config's final evaluation (50 argmax episodes, fresh eval envs), normalized.

    python docs/bench-mujoco/probes/policy_average.py configs/halfcheetah.yaml SEED [TAU ...] [key=value ...]

Result (seventh session; HalfCheetah seeds 0, 2, 7, 8 on its first expert): the last weights
scored 0.68 on average, the averages 0.60-0.65; not adopted (docs/bench-mujoco/README.md).
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
import time
from pathlib import Path

from gailctl.core.config_load import load_config
from gailctl.core.runs import resolve_demos_dir
from gailctl.rl.gail.learner import build_gail, train_rounds
from gailctl.rl.cloning import clone_into_generator
from gailctl.rl.demos import load_demos
from gailctl.rl.env.make import EVAL_SEED_OFFSET, make_venv
from gailctl.rl.evaluation import evaluate
from gailctl.rl.env.normalize import raw_obs_weights
from gailctl.rl.subsample import demo_transitions
from gailctl.rl.torch_setup import setup_torch


def main(config: Path, seed: int, taus: list[int], overrides: list[str]) -> None:
    setup_torch()
    cfg = load_config(config, [f"seed={seed}", *overrides])
    g = cfg.gail
    per_round = cfg.gail_steps_per_round
    n_rounds = g.total_timesteps // per_round
    trajs = load_demos(resolve_demos_dir(Path(g.demos), flag="gail.demos =").resolve(), n_demos=g.n_demos)
    venv = make_venv(cfg.env, seed=cfg.seed)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as log_dir:
        learner = build_gail(cfg, venv=venv, trajs=trajs, log_dir=Path(log_dir))
        gen, vec = learner.gen, learner.vec
        if g.bc_init_epochs:
            kept = demo_transitions(trajs, every=g.subsample_every, seed=cfg.seed)
            clone_into_generator(gen, kept, vec=vec, bc=cfg.bc, epochs=g.bc_init_epochs, seed=cfg.seed,
                                 log_dir=Path(log_dir) / "bc_init")
        policy = gen.policy
        decays = {tau: math.exp(-per_round / tau) for tau in taus}
        averages = {tau: {k: v.detach().clone() for k, v in policy.state_dict().items()} for tau in taus}
        for done in train_rounds(learner.trainer, cfg, start_round=0, n_rounds=n_rounds):
            current = policy.state_dict()
            for tau, avg in averages.items():
                for k, v in avg.items():
                    v.mul_(decays[tau]).add_(current[k], alpha=1.0 - decays[tau])
            if done.round % 40 == 0:
                print(f"round {done.round}/{n_rounds} {time.monotonic() - started:.0f}s", flush=True)
        last = {k: v.detach().clone() for k, v in policy.state_dict().items()}
        results = {}
        for label, weights in [("last", last), *((f"avg{tau // 1000}k", averages[tau]) for tau in taus)]:
            policy.load_state_dict(weights)
            eval_venv = make_venv(cfg.env, seed=cfg.seed + EVAL_SEED_OFFSET, n_envs=min(g.eval_episodes, cfg.env.n_envs))
            with raw_obs_weights(gen, vec):
                row = evaluate(gen, eval_venv, n_episodes=g.final_eval_episodes, deterministic=True).as_row(cfg.references)
            results[label] = {k: round(float(row[k]), 4) for k in ("normalized_score", "return_mean", "return_std")}
            print(label, results[label], flush=True)
    print(json.dumps({"config": str(config), "seed": seed, "env_steps": n_rounds * per_round,
                      "wall_s": round(time.monotonic() - started), "scores": results}))


if __name__ == "__main__":
    rest = sys.argv[3:]
    main(Path(sys.argv[1]), int(sys.argv[2]), [int(t) for t in rest if "=" not in t] or [20_000, 50_000, 100_000, 200_000],
         [t for t in rest if "=" in t])
