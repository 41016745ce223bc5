"""The bench report's model-selection table: how well each way of picking a round's policy does afresh.

A run's final policy is where its swing stopped; best_policy.zip is the round with the highest
per-round return (which needs the env's reward, and flatters itself), best_policy_reward_free.zip
the round whose visited states are closest to held-out demonstrations' states (demonstrations only). Each pick was scored again
on fresh episodes; this table sets those scores beside the final one, means over seeds. Runs
without picks (bc, older gail runs) are left out; a bench without any has no table.
"""

from __future__ import annotations

import statistics
from typing import Optional, Sequence

from gailctl.report.bench_report import Curve, _final
from gailctl.report.tables import markdown_table

COLUMNS = ("task", "method", "demos", "seeds", "final", "best by reward, re-scored", "selection optimism",
           "best by held-out demos, re-scored")

EXPLAINED = (
    "Model selection: which round's policy to keep. `final`: the run's last policy (its final score). `best by "
    "reward, re-scored`: best_policy.zip, the per-round evaluation with the highest return, scored again on fresh "
    "episodes (as many as the final score, argmax actions); picking it needs the env's reward. `selection "
    "optimism`: its per-round score minus that re-score, how much the pick flattered itself. `best by held-out "
    "demos, re-scored`: best_policy_reward_free.zip, the per-round evaluation whose visited states are "
    "closest (MMD) to the states of demonstrations the run did not learn from, scored the same way; picking it needs no reward. Means over "
    "seeds of normalized scores; each seed's values are in results.csv. A † marks picks measured on the "
    "training trajectories, where the demonstrations held none beyond those the runs learned from.")


def _mean(values: Sequence[Optional[float]]) -> str:
    got = [v for v in values if v is not None]
    return f"{statistics.fmean(got):.2f}" + (f" ({len(got)} seeds)" if len(got) != len(values) else "") if got else "n/a"


def rows(curves: Sequence[Curve]) -> list[dict[str, str]]:
    """One row per (task, method, demonstrations, every Kth step) whose runs kept a pick."""
    groups: dict[tuple[str, str, int, int], list[Curve]] = {}
    for c in curves:
        if c.best_rescored is not None or c.reward_free_rescored is not None:
            groups.setdefault((c.env_id, c.method, c.n_demos, c.subsample_every), []).append(c)
    out = []
    for (env_id, method, n_demos, every), group in sorted(groups.items()):
        out.append({
            "task": env_id, "method": method,
            "demos": f"{n_demos}" + (f", every {every}th step" if every != 1 else ""),
            "seeds": str(len(group)),
            "final": _mean([_final(c) for c in group]),
            "best by reward, re-scored": _mean([c.best_rescored for c in group]),
            "selection optimism": _mean([c.best_selection - c.best_rescored
                                         if c.best_selection is not None and c.best_rescored is not None else None
                                         for c in group]),
            "best by held-out demos, re-scored": _mean([c.reward_free_rescored for c in group])
            + (" †" if any(c.reward_free_on_training for c in group) else ""),
        })
    return out


def section(curves: Sequence[Curve]) -> list[str]:
    """results.md's lines for the table; none when no run kept a pick."""
    table = rows(curves)
    if not table:
        return []
    return ["## Model selection", "", EXPLAINED, "", markdown_table(COLUMNS, table).rstrip("\n"), ""]
