"""DAgger against BC by expert labels: `python docs/benchmarks/dagger/bench.py` from the repository.

Runs ordinary `gailctl dagger` and `gailctl bc` runs one after another (run folders under
--runs-dir), then writes `results.csv` (a row per run) and `results.md` (the table, also printed)
next to this file, or in --out.

- DAgger (`--expert`, the shipped expert): starts from BC on the first N shipped demonstrations
  (N = 0: from an untrained policy, `dagger.start_from_demos=false`), then rounds of
  `dagger.steps_per_round` (500) expert labels; scored alone after every round.
  Labels to 0.95 = the aggregate's transitions at the first round scoring >= 0.95 normalized.
- BC on the first N demonstrations for each N of a ladder; labels to 0.95 = the transitions of
  the smallest N whose policy scores >= 0.95 (N and the next counts are separate runs).

DAgger scores its rounds over 50 episodes with argmax actions; BC over bc.eval_episodes (50) in
its config's mode (argmax on CartPole, sampled on LunarLander, as the published BC rows).

GAIL's env steps to 0.95 on the same demonstrations come from `gailctl bench`
(docs/benchmarks/classic-control, docs/benchmarks/lunarlander).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

HERE = Path(__file__).resolve().parent
TARGET = 0.95


@dataclass(frozen=True)
class Task:
    config: str
    expert: str
    demos: str
    dagger_starts: tuple[int, ...]
    """Starting demonstration counts for DAgger (0: none), by default one and the config's gail.n_demos."""
    dagger_rounds: int
    bc_ladder: tuple[int, ...]
    """Demonstration counts BC is trained on, smallest first."""


TASKS = {
    "cartpole": Task("configs/cartpole.yaml", "experts/cartpole/model.zip", "experts/cartpole/demos",
                     dagger_starts=(1, 4), dagger_rounds=6, bc_ladder=(1, 2, 4)),
    "lunarlander": Task("configs/lunarlander.yaml", "experts/lunarlander/model.zip", "experts/lunarlander/demos",
                        dagger_starts=(1, 10), dagger_rounds=12, bc_ladder=(1, 2, 5, 10, 20)),
}
EVAL_EPISODES = 50
"""DAgger scores its policy over as many episodes after every round as BC's final evaluation."""


def parse_seeds(text: str) -> list[int]:
    """`0-4` -> [0, 1, 2, 3, 4]; `0,2` -> [0, 2]."""
    if "-" in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",")]


def gailctl(args: Sequence[str], runs_dir: Path) -> dict[str, Any]:
    """One gailctl run; its summary.json (the run folder is stdout's last line)."""
    cmd = [sys.executable, "-m", "gailctl", *args, "--runs-dir", str(runs_dir)]
    print("+", " ".join(cmd[1:]), file=sys.stderr, flush=True)
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads((Path(out.strip().splitlines()[-1]) / "summary.json").read_text())


def run_task(task: Task, seeds: Sequence[int], runs_dir: Path, *, rounds: Optional[int],
             dagger_starts: Optional[Sequence[int]] = None, with_bc: bool = True) -> list[dict[str, Any]]:
    rows = []
    for seed in seeds:
        for n in task.dagger_starts if dagger_starts is None else dagger_starts:
            start = ["--set", f"dagger.n_demos={n}"] if n else ["--set", "dagger.start_from_demos=false"]
            s = gailctl(["dagger", "-c", task.config, "--expert", task.expert, "--demos", task.demos, *start,
                         "--set", f"dagger.eval_episodes={EVAL_EPISODES}",
                         "--rounds", str(rounds or task.dagger_rounds), "--seed", str(seed)], runs_dir)
            reached = s.get("reached")
            rows.append({"task": s["env_id"], "method": "dagger", "demos": n, "seed": seed,
                         "labels": s["labels"], "labels_to_target": reached["labels"] if reached else "",
                         "rounds": s["rounds"], "round_to_target": reached["round"] if reached else "",
                         "n_env_steps": s["n_env_steps"], "normalized_score": s["final"]["normalized_score"],
                         "start_score": s["start"]["normalized_score"] if n else "", "eval_deterministic": s["eval_deterministic"],
                         "eval_episodes": s["eval_episodes"], "wall_s": s["wall_s"]})
        for n in task.bc_ladder if with_bc else ():
            s = gailctl(["bc", "-c", task.config, "--demos", task.demos, "--set", f"gail.n_demos={n}",
                         "--seed", str(seed)], runs_dir)
            rows.append({"task": s["env_id"], "method": "bc", "demos": n, "seed": seed,
                         "labels": s["n_demo_transitions"], "normalized_score": s["final"]["normalized_score"],
                         "eval_deterministic": s["eval_deterministic"], "eval_episodes": s["eval_episodes"],
                         "wall_s": s["wall_s"]})
    return rows


def _spread(values: Sequence[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.2f} ± {sd:.2f}"


def _to_target(per_seed: Sequence[Optional[int]], ceiling: int) -> str:
    """Median (worst) labels to the target over seeds; seeds that never got there named."""
    got = sorted(v for v in per_seed if v is not None)
    if not got:
        return f"not reached within {ceiling:,}"
    text = f"{statistics.median_low(got):,} (worst {got[-1]:,})"
    missed = len(per_seed) - len(got)
    return text if not missed else f"{text}; {missed}/{len(per_seed)} seeds not within {ceiling:,}"


def summarize(rows: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """A table row per (task, method, starting demonstrations): labels to 0.95 and final score."""
    table = []
    for task in dict.fromkeys(r["task"] for r in rows):
        mine = [r for r in rows if r["task"] == task]
        seeds = sorted({r["seed"] for r in mine})
        mode = lambda rs: "argmax" if rs[0]["eval_deterministic"] in (True, "True") else "sampled"  # noqa: E731
        for n in sorted({r["demos"] for r in mine if r["method"] == "dagger"}):
            runs = [r for r in mine if r["method"] == "dagger" and r["demos"] == n]
            hit = [int(r["labels_to_target"]) if r["labels_to_target"] not in ("", None) else None for r in runs]
            table.append({"task": task, "method": "DAgger", "demos": f"{n}" if n else "none", "labels to 0.95": _to_target(hit, max(int(r["labels"]) for r in runs)),
                          "final": _spread([float(r["normalized_score"]) for r in runs]),
                          "at": f"{max(int(r['labels']) for r in runs):,} labels", "eval": mode(runs), "seeds": f"{len(runs)}"})
        bc = [r for r in mine if r["method"] == "bc"]
        ladder = sorted({r["demos"] for r in bc})
        if not ladder:
            continue
        hit = []
        for seed in seeds:
            ok = [int(r["labels"]) for r in sorted(bc, key=lambda r: r["demos"])
                  if r["seed"] == seed and float(r["normalized_score"]) >= TARGET]
            hit.append(ok[0] if ok else None)
        top = [r for r in bc if r["demos"] == ladder[-1]]
        table.append({"task": task, "method": "BC", "demos": ", ".join(map(str, ladder)),
                      "labels to 0.95": _to_target(hit, max(int(r["labels"]) for r in top)),
                      "final": _spread([float(r["normalized_score"]) for r in top]),
                      "at": f"{max(int(r['labels']) for r in top):,} labels", "eval": mode(top), "seeds": f"{len(top)}"})
    return table


def ladder_table(rows: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """BC's final score at each demonstration count, DAgger's at its start (BC on the same count)."""
    out = []
    for task in dict.fromkeys(r["task"] for r in rows):
        for n in sorted({r["demos"] for r in rows if r["task"] == task} - {0}):
            bc = [float(r["normalized_score"]) for r in rows if r["task"] == task and r["method"] == "bc" and r["demos"] == n]
            start = [float(r["start_score"]) for r in rows
                     if r["task"] == task and r["method"] == "dagger" and r["demos"] == n]
            out.append({"task": task, "demos": str(n), "BC": _spread(bc) if bc else "—",
                        "DAgger's start (BC, argmax)": _spread(start) if start else "—"})
    return out


def markdown(table: Sequence[dict[str, str]]) -> str:
    keys = list(table[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(row[k] for k in keys) + " |" for row in table]
    return "\n".join(lines)


def read_rows(path: Path) -> list[dict[str, Any]]:
    with open(path, newline="") as f:
        return [{**r, "seed": int(r["seed"]), "demos": int(r["demos"])} for r in csv.DictReader(f)]


def main(argv: Optional[Sequence[str]] = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", default="cartpole,lunarlander", help="comma-separated: " + ", ".join(TASKS))
    p.add_argument("--seeds", default="0-4")
    p.add_argument("--rounds", type=int, help="DAgger rounds (default: each task's)")
    p.add_argument("--runs-dir", type=Path, default=Path("runs"))
    p.add_argument("--out", type=Path, default=HERE)
    p.add_argument("--dagger-starts", help="comma-separated starting demonstration counts, empty for none (default: each task's)")
    p.add_argument("--no-bc", action="store_true", help="DAgger runs only")
    p.add_argument("--merge", action="store_true",
                   help="keep --out's results.csv rows for runs not repeated here (a part run after the rest)")
    p.add_argument("--report-only", action="store_true", help="rebuild results.md from --out's results.csv")
    a = p.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    kept = read_rows(a.out / "results.csv") if a.report_only or a.merge else []
    if a.report_only:
        rows = kept
    else:
        starts = None if a.dagger_starts is None else [int(n) for n in a.dagger_starts.split(",") if n]
        rows = []
        for name in a.tasks.split(","):
            rows += run_task(TASKS[name], parse_seeds(a.seeds), a.runs_dir, rounds=a.rounds, dagger_starts=starts,
                             with_bc=not a.no_bc)
        again = {(r["task"], r["method"], r["demos"], r["seed"]) for r in rows}
        rows = [r for r in kept if (r["task"], r["method"], r["demos"], r["seed"]) not in again] + rows
        rows.sort(key=lambda r: (r["task"] != "seals/CartPole-v0", r["task"], r["method"] != "dagger", r["method"],
                                 r["demos"], r["seed"]))
        keys = list(dict.fromkeys(k for r in rows for k in r))
        with open(a.out / "results.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            w.writerows(rows)
    text = (f"Labels to {TARGET} normalized: median (worst) over seeds. final: mean ± std over seeds, "
            f"{EVAL_EPISODES} episodes.\n\n{markdown(summarize(rows))}\n\n{markdown(ladder_table(rows))}\n")
    (a.out / "results.md").write_text("# DAgger and BC by expert labels\n\n" + text)
    print(text)


if __name__ == "__main__":
    main()
