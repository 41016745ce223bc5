"""The least time the full MuJoCo bench can take on this machine: its env steps at plain PPO's speed.

Why: the issue asks for `gailctl bench --suite mujoco` under 90 min on 2 cores, at its own
budgets (5 tasks x 5 seeds x 4 and 25 trajectories, 1M env steps a GAIL run). Whatever GAIL
adds, each run must at least step its envs and train its PPO generator that long. This takes
plain PPO's env steps/s from a `gailctl bench --throughput-only` summary (one process alone, the
generator settings of each config, its BC term included) and adds up the GAIL trials' env steps
as the bench plans them. The result is a lower bound on the bench's wall time: no evaluation,
no BC trials, no discriminator, both cores busy without a gap, and each run as fast as one
process alone (two side by side each ran about 18% slower here).

    python docs/bench-mujoco/throughput/suite_floor.py BENCH_DIR/summary.json [--seeds 5] [--cores 2]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gailctl.core.config_load import load_config


def main(summary: Path, *, seeds: int, cores: int) -> None:
    rows = json.loads(summary.read_text())["throughput"]
    total = 0.0
    print("| task | GAIL runs | env steps a run | plain PPO env steps/s | core-min at PPO's speed |")
    print("|---|---|---|---|---|")
    for row in rows:
        cfg = load_config(Path(row["config"]))
        n_runs = seeds * max(1, len(cfg.bench.n_demos))
        steps = cfg.gail.total_timesteps
        core_s = n_runs * steps / row["ppo_steps_per_s"]
        total += core_s
        print(f"| {row['env_id']} | {n_runs} | {steps:,} | {row['ppo_steps_per_s']:.0f} | {core_s / 60:.1f} |")
    print(f"\nPlain PPO alone over the suite's GAIL env steps: {total / 60:.1f} core-min, "
          f"at least **{total / 60 / cores:.1f} min** on {cores} cores.")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("summary", type=Path)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    main(args.summary, seeds=args.seeds, cores=args.cores)
