"""What a lost worker costs a GAIL sweep: final scores with and without a SIGKILL, and the restart overhead.

Runs `gailctl sweep --stage gail` twice on the same config, demonstrations and seeds, one trial at
a time: once untouched, once with every trial's worker SIGKILLed (the pid in its `run.lock`)
once it is past `--kill-after` env steps and at least half a checkpoint interval past its last
checkpoint. Ray starts each killed trial
again and it goes on from its last checkpoint. Prints a Markdown table per seed:

- the final normalized score (argmax actions) untouched and killed once; the killed trial passes
  when it differs from the same seed's untouched score by no more than the untouched seeds' spread
  (their highest minus their lowest score);
- the restart overhead: the wall time from the kill until the restarted trial wrote the round it
  had reached, minus the time the lost process spent on the rounds since its checkpoint (the work
  a restart must redo). What remains is a new worker's start: process, imports, checkpoint load.

    python docs/benchmarks/faults/measure.py --runs-dir /tmp/faults --seeds 0-4

Each round's arrival is seen by polling `metrics.csv` every 0.1 s, so times are good to ~0.1 s.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def sweep(runs_dir: Path, args: argparse.Namespace) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "gailctl", "sweep", "-c", args.config, "--stage", "gail", "--seeds", args.seeds,
           "--demos", args.demos, "--max-concurrent", "1", "--runs-dir", str(runs_dir)]
    for override in args.set:
        cmd += ["--set", override]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def steps_seen(run: Path) -> list[int]:
    try:
        with open(run / "metrics.csv", newline="") as fh:
            return [int(float(r["n_env_steps"])) for r in csv.DictReader(fh)]
    except (OSError, KeyError, ValueError):
        return []


def checkpoints(run: Path) -> list[int]:
    out = []
    for state in (run / "checkpoints").glob("round_*/state.pt"):
        out.append(int(state.parent.name.split("_")[1]))
    return sorted(out)


class Watch:
    """One trial's rounds as they arrive, its kill and its restarted process's catch-up."""

    def __init__(self, run: Path):
        self.run, self.first_seen, self.killed_at, self.kill_time, self.caught_up = run, {}, None, None, None
        self.rows_at_kill = 0

    def poll(self, now: float, kill_after: int, kill: bool) -> None:
        steps = steps_seen(self.run)
        for s in steps:
            self.first_seen.setdefault(s, now)
        if self.kill_time is not None and self.caught_up is None and len(steps) < self.rows_at_kill:
            self.rows_at_kill = -1  # the restarted process cut metrics.csv back to its checkpoint
        if self.kill_time is not None and self.caught_up is None and self.rows_at_kill == -1 and steps \
                and steps[-1] >= self.killed_at:
            self.caught_up = now
        if not kill or self.kill_time is not None or not steps:
            return
        ckpts = checkpoints(self.run)
        if not ckpts or steps[-1] < kill_after:
            return
        rounds, every = len(steps) - 1, ckpts[0]  # row 0 is the start; the first checkpoint's round is the interval
        if rounds - ckpts[-1] >= every // 2:  # halfway to the next checkpoint
            pid = int((self.run / "run.lock").read_text().split()[1])
            os.kill(pid, signal.SIGKILL)
            self.kill_time, self.killed_at, self.rows_at_kill = time.monotonic(), steps[-1], len(steps)


def run_phase(runs_dir: Path, args: argparse.Namespace, *, kill: bool) -> tuple[Path, dict[str, Watch]]:
    proc, watches = sweep(runs_dir, args), {}
    while proc.poll() is None:
        now = time.monotonic()
        for run in runs_dir.glob("sweep__*/trials/*"):
            if (run / "metrics.csv").exists():
                watches.setdefault(run.name, Watch(run)).poll(now, args.kill_after, kill)
        time.sleep(0.1)
    out, err = proc.communicate()
    if proc.returncode != 0:
        sys.exit(f"sweep in {runs_dir} failed ({proc.returncode}):\n{err[-2000:]}")
    (sweep_dir,) = runs_dir.glob("sweep__*")
    return sweep_dir, watches


def finals(sweep_dir: Path) -> dict[int, tuple[str, float, dict]]:
    out = {}
    for run in (sweep_dir / "trials").iterdir():
        summary = json.loads((run / "summary.json").read_text())
        out[int(summary["seed"])] = (run.name, summary["final_eval"]["deterministic"]["normalized_score"], summary)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs-dir", type=Path, required=True)
    ap.add_argument("--config", default="configs/cartpole.yaml")
    ap.add_argument("--demos", default="experts/cartpole/demos")
    ap.add_argument("--seeds", default="0-4")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config overrides, as gailctl's --set")
    ap.add_argument("--kill-after", type=int, default=60_000, help="env steps before the kill (then at least half a checkpoint interval past the last one)")
    args = ap.parse_args()
    untouched_dir, _ = run_phase(args.runs_dir / "untouched", args, kill=False)
    killed_dir, watches = run_phase(args.runs_dir / "killed", args, kill=True)
    untouched, killed = finals(untouched_dir), finals(killed_dir)
    lo, hi = min(v[1] for v in untouched.values()), max(v[1] for v in untouched.values())
    print(f"{args.config}, demos {args.demos}, seeds {args.seeds}, {' '.join(args.set) or 'no overrides'}; "
          f"untouched finals {lo:.3f}-{hi:.3f}, spread {hi - lo:.3f}\n")
    print("| seed | final untouched | final killed once | within spread | killed at | went on from | redo s | kill to caught up s | overhead s |")
    print("|---|---|---|---|---|---|---|---|---|")
    overheads = []
    for seed in sorted(untouched):
        name, score, summary = killed[seed]
        w = watches.get(name)
        restarts = summary.get("restarts") or []
        if w is None or w.kill_time is None or not restarts:
            print(f"| {seed} | {untouched[seed][1]:.3f} | {score:.3f} | | not killed | | | | |")
            continue
        redo = w.first_seen[w.killed_at] - w.first_seen[restarts[0]["from_n_env_steps"]]
        caught = (w.caught_up or float("nan")) - w.kill_time
        overheads.append(caught - redo)
        print(f"| {seed} | {untouched[seed][1]:.3f} | {score:.3f} | {'yes' if abs(score - untouched[seed][1]) <= hi - lo else 'no'} | "
              f"{w.killed_at:,} | {restarts[0]['from_n_env_steps']:,} | {redo:.1f} | {caught:.1f} | {caught - redo:.1f} |")
    if overheads:
        print(f"\nrestart overhead beyond the redone work: median {statistics.median(overheads):.1f} s, "
              f"max {max(overheads):.1f} s over {len(overheads)} kills")


if __name__ == "__main__":
    main()
