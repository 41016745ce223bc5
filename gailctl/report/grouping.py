"""Telling runs apart: flattened configs, the keys that differ, seed groups and legend labels.

Runs whose configs are equal once `seed` is removed are seeds of one experiment (`RunGroup`);
what sets groups (or single runs) apart becomes their label in plots and tables.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from gailctl.core.errors import UsageError
from gailctl.report.run_info import load_run_config, run_algorithm, run_stage, summary_or_none
from gailctl.report.run_scores import number


def _int(value: Any) -> Optional[int]:
    x = number(value)
    return None if x is None else int(x)


def flatten_config(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"gail": {"ppo": {"learning_rate": 1e-3}}}` -> `{"gail.ppo.learning_rate": 1e-3}`.

    Lists stay whole values (`gail.reward_net.hid_sizes: [32, 32]`); an empty section is a value.
    """
    flat: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten_config(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


_MISSING = object()


def differing_keys(flat_configs: Sequence[dict[str, Any]]) -> list[str]:
    """Keys whose values are not the same in all configs (a key some lack counts), in the
    order they first appear."""
    keys: dict[str, None] = {}
    for flat in flat_configs:
        keys.update(dict.fromkeys(flat))
    return [
        k for k in keys
        if any(flat.get(k, _MISSING) != flat_configs[0].get(k, _MISSING) for flat in flat_configs[1:])
    ]


def without_seed(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k != "seed"}


@dataclass(frozen=True)
class RunGroup:
    """Runs of one stage whose configs are equal except for `seed`: seeds of one experiment."""

    label: str
    """What sets this group apart from the others (`gail.ppo.learning_rate=0.001 (2 seeds)`)."""
    run_dirs: tuple[Path, ...]


def short_value(value: Any, width: int = 28) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    elif isinstance(value, float):
        text = f"{value:g}"
    elif isinstance(value, str) and "/" in value:
        text = "/".join(Path(value).parts[-2:])  # paths: their last two parts tell them apart
    else:
        text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def group_runs(run_dirs: Sequence[Path], *, max_label_keys: int = 3) -> list[RunGroup]:
    """Group runs whose stage is the same and whose config.yaml are equal once `seed` is
    removed, in the order each group's first run appears."""
    keyed: dict[str, list[tuple[Path, dict[str, Any], Optional[int]]]] = {}
    for run_dir in run_dirs:
        config = load_run_config(run_dir)
        stage = run_stage(run_dir)
        key = json.dumps([stage, without_seed(config)], sort_keys=True, default=str)
        keyed.setdefault(key, []).append((Path(run_dir), config, _int(config.get("seed"))))
    members = list(keyed.values())
    reps = [{"stage": run_stage(m[0][0]), **flatten_config(without_seed(m[0][1]))} for m in members]
    distinct = label_keys(differing_keys(reps), {r["stage"] for r in reps}) if len(reps) > 1 else []
    names = short_keys(distinct[:max_label_keys])
    groups = []
    for rep, runs in zip(reps, members):
        if distinct:
            parts = [f"{names[k]}={short_value(rep.get(k, '—'))}" if k != "stage" else short_value(rep[k]) for k in distinct[:max_label_keys]]
            if len(distinct) > max_label_keys:
                parts.append("…")
            label = ", ".join(parts)
        else:
            env = rep.get("env.id")
            label = " ".join(str(x) for x in (rep.get("stage"), env) if x) or runs[0][0].name
        seeds = [s for _, _, s in runs]
        if len(runs) > 1:
            label += f" ({len(runs)} seeds)" if len(set(seeds)) == len(seeds) else f" ({len(runs)} runs)"
        elif seeds[0] is not None:
            label += f" (seed {seeds[0]})"
        groups.append(RunGroup(label=label, run_dirs=tuple(p for p, _, _ in runs)))
    return groups


def label_keys(keys: list[str], stages: set[Optional[str]]) -> list[str]:
    """Keys that tell groups apart, most telling first: the stage, the stages' own sections,
    env, other sections (an expert setting does not explain a GAIL curve), references."""

    def rank(key: str) -> int:
        head = key.split(".", 1)[0]
        if key == "stage":
            return 0
        if head in stages:
            return 1
        if head == "env":
            return 2
        return 4 if head == "references" else 3

    return sorted(keys, key=rank)


def short_keys(keys: list[str]) -> dict[str, str]:
    """`gail.ppo.learning_rate` -> `ppo.learning_rate`, unless two keys would then read alike."""
    short = {k: ".".join(k.split(".")[-2:]) for k in keys}
    clashes = {v for v in short.values() if list(short.values()).count(v) > 1}
    return {k: (k if v in clashes else v) for k, v in short.items()}


def run_labels(run_dirs: Sequence[Path]) -> list[str]:
    """A legend label per run: algorithm (or stage), env and seed, or only the parts of those
    that differ between the runs; runs those parts do not tell apart also get the config
    values that differ, and as a last resort their folder names."""
    facts = []
    for d in run_dirs:
        summary = summary_or_none(Path(d)) or {}
        try:
            config = load_run_config(Path(d))
        except UsageError:
            config = {}
        stage = run_stage(Path(d))
        env_section = config.get("env") if isinstance(config.get("env"), dict) else {}
        env = summary.get("env_id") or env_section.get("id")
        seed = _int(summary.get("seed", config.get("seed")))
        what = run_algorithm(stage, summary, config, Path(d).name) if stage == "gail" else stage
        facts.append(([what or "?", str(env or "?"),
                       "seed ?" if seed is None else f"seed {seed}"], config))
    if len(facts) == 1:
        return [" ".join(facts[0][0])]
    differ = [i for i in range(3) if len({f[0][i] for f in facts}) > 1]
    labels = [" ".join(f[0][i] for i in differ) for f in facts]
    if len(set(labels)) < len(labels):
        flats = [flatten_config(without_seed(c)) for _, c in facts]
        keys = label_keys(differing_keys(flats), set())[:2]
        names = short_keys(keys)
        labels = [", ".join([lab] * bool(lab) + [f"{names[k]}={short_value(flat.get(k, '—'))}" for k in keys])
                  for lab, flat in zip(labels, flats)]
    if len(set(labels)) < len(labels) or not all(labels):
        labels = [Path(d).name for d in run_dirs]
    return labels
