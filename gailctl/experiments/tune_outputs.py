"""What a tune study leaves behind, rebuilt from the study and its journal after every trial:
trials.csv (every trial, full precision), results.md (the table, best first), best.yaml (the
winner as `--set` items, as a config snippet, and the commands), and the table on stdout.
Tables go through `gailctl.report.tables`, the writer every report shares.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

import yaml

from gailctl.core.errors import GailctlError
from gailctl.core.paths import shown_path
from gailctl.core.runs import atomic_write_text
from gailctl.experiments.tune_plan import TunePlan
from gailctl.experiments.tune_search import config_values, read_journal, short_value
from gailctl.experiments.tune_space import OBJECTIVE_TEXT, Space, override, yaml_value
from gailctl.report.tables import markdown_table, rich_table, write_csv

if TYPE_CHECKING:
    from rich.table import Table


def _state(trial: Any, entry: dict[str, Any]) -> str:
    """complete, failed, interrupted or running (as trials.csv says it)."""
    name = trial.state.name.lower()
    if name == "fail":
        return str(entry.get("status") or "failed")
    if name == "pruned":  # Tune stopped it before it reported (Ctrl-C): OptunaSearch tells Optuna "pruned"
        return "interrupted"
    return name


def _trial_values(trial: Any, space: Space, entry: dict[str, Any]) -> dict[str, Any]:
    if entry.get("values"):
        return dict(entry["values"])
    return config_values(space, trial.params)


def trial_rows(trials: Sequence[Any], plan: TunePlan, journal: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per trial that ran (or runs): Optuna's number, state and value, the journal's details."""
    rows = []
    for t in trials:
        if t.state.name == "WAITING":
            continue
        entry = journal.get(t.number, {})
        per_seed = entry.get("per_seed") or {}
        values = _trial_values(t, plan.space, entry)
        rows.append({
            "trial": t.number,
            "state": _state(t, entry),
            "objective": t.value if t.state.name == "COMPLETE" else None,
            "values": values,
            "set": list(entry.get("set") or [override(k, v) for k, v in values.items()]),
            "per_seed": {int(s): float(v) for s, v in per_seed.items()},
            "wall_s": entry.get("wall_s"),
            "run_dirs": [d for d in (entry.get("run_dirs") or []) if d],
            "error": entry.get("error"),
        })
    return rows


def _sorted(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Best objective first; trials without one after, by number."""
    return sorted(rows, key=lambda r: (r["objective"] is None, -(r["objective"] or 0.0), r["trial"]))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple, dict, bool)) or value is None:
        return yaml_value(value)
    return str(value)


def write_trials_csv(rows: Sequence[dict[str, Any]], plan: TunePlan, path: Path) -> None:
    keys = list(plan.space.params)
    columns = ["trial", "state", "objective", *keys, *(f"objective_s{s}" for s in plan.seeds), "wall_s", "run_dirs", "error"]
    write_csv(path, columns, [{
        "trial": r["trial"], "state": r["state"], "objective": _cell(r["objective"]),
        **{k: _cell(r["values"].get(k)) for k in keys},
        **{f"objective_s{s}": _cell(r["per_seed"].get(s)) for s in plan.seeds},
        "wall_s": _cell(r["wall_s"]), "run_dirs": ";".join(shown_path(d, base=path.parent) for d in r["run_dirs"]),
        "error": _cell(r["error"]),
    } for r in rows])


def _nested(values: dict[str, Any]) -> dict[str, Any]:
    """{"gail.ppo.n_epochs": 5} -> {"gail": {"ppo": {"n_epochs": 5}}}: ready to merge into a config."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        node = out
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return out


def _command_lines(tune_dir: Path) -> list[str]:
    try:
        return [ln for ln in (tune_dir / "command.txt").read_text(encoding="utf-8").splitlines() if ln.strip()]
    except OSError:
        return []


def write_best_yaml(best: dict[str, Any], baseline: Optional[dict[str, Any]], plan: TunePlan, tune_dir: Path,
                    n_complete: int) -> None:
    commands = _command_lines(tune_dir)
    data = {
        "objective": plan.space.objective,
        "value": best["objective"],
        "trial": best["trial"],
        "seeds": list(plan.seeds),
        "per_seed": best["per_seed"],
        "params": best["values"],
        "set": " ".join(f"--set {shlex.quote(item)}" for item in best["set"]),
        "as_config": _nested(best["values"]),
        "command": commands[0] if commands else None,
        "resumed_with": commands[1:],
        "gail_command": plan.gail_command(best["set"], plan.seeds[0]),
        "baseline": None if baseline is None else {"trial": baseline["trial"], "value": baseline["objective"],
                                                   "params": baseline["values"]},
        "runs": [shown_path(d, base=tune_dir) for d in best["run_dirs"]],
    }
    head = (f"# gailctl tune: the best of {n_complete} complete trial(s), by {plan.space.objective} (mean over seeds "
            f"{plan.options.seeds}).\n# Paste `set` after a gailctl command, or merge `as_config` into the config; "
            "`command` reruns the study.\n")
    atomic_write_text(tune_dir / "best.yaml", head + yaml.dump(data, Dumper=_PlainDumper, sort_keys=False, width=float("inf")))


class _PlainDumper(yaml.SafeDumper):
    """No `&id001` anchors when the best trial is also the baseline."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _fmt(value: Any, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def table_rows(rows: Sequence[dict[str, Any]], plan: TunePlan, *, limit: Optional[int] = None) -> tuple[list[str], list[list[str]]]:
    """Header and body of the human table, best first."""
    keys = list(plan.space.params)
    header = ["rank", "trial", plan.space.objective, *(f"s{s}" for s in plan.seeds), *keys, "state", "wall s"]
    body = []
    ranked = _sorted(rows)
    for i, r in enumerate(ranked[:limit] if limit else ranked):
        body.append([str(i + 1) if r["objective"] is not None else "—", str(r["trial"]), _fmt(r["objective"], ".3f"),
                     *(_fmt(r["per_seed"].get(s), ".3f") for s in plan.seeds),
                     *(short_value(r["values"][k]) if k in r["values"] else "—" for k in keys),
                     r["state"] + (f": {r['error']}" if r["error"] and r["state"] != "complete" else ""),
                     _fmt(r["wall_s"], ".0f")])
    return header, body


def write_results_md(rows: Sequence[dict[str, Any]], plan: TunePlan, tune_dir: Path, *, best: Optional[dict[str, Any]],
                     baseline: Optional[dict[str, Any]]) -> None:
    counts = {s: sum(r["state"] == s for r in rows) for s in ("complete", "failed", "interrupted", "running")}
    cfg = plan.base_config
    text = (f"# Tune: gail on {cfg.env.id}, objective {plan.space.objective}, {len(rows)} trial(s) "
            f"({', '.join(f'{n} {s}' for s, n in counts.items() if n)})\n\n")
    text += f"Objective {plan.space.objective} (maximised): {OBJECTIVE_TEXT[plan.space.objective]}.\n\n"
    text += f"Study `study.db`, seeds {plan.options.seeds}, search space `space.yaml`:\n\n"
    text += "".join(f"- `{k}`: {d.describe()}\n" for k, d in plan.space.params.items())
    commands = _command_lines(tune_dir)
    if commands:
        text += "\nMade by:\n\n" + "".join(f"    {c}\n" for c in commands)
    if best is not None:
        text += f"\nBest: trial {best['trial']}, {plan.space.objective} {best['objective']:.3f}; its values are in `best.yaml`."
        if baseline is not None:
            text += f" Baseline (trial {baseline['trial']}, the config's own values): {baseline['objective']:.3f}."
        text += "\n"
    text += "\n" + markdown_table(*table_rows(rows, plan))
    atomic_write_text(tune_dir / "results.md", text)


def _baseline_row(rows: Sequence[dict[str, Any]], study: Any) -> Optional[dict[str, Any]]:
    number = study.user_attrs.get("baseline_trial")
    return next((r for r in rows if r["trial"] == number and r["objective"] is not None), None)


def write_outputs(study: Any, plan: TunePlan, tune_dir: Path) -> tuple[list[dict[str, Any]], Optional[dict[str, Any]]]:
    """trials.csv, results.md and best.yaml (when a trial completed), from the study and its journal."""
    rows = trial_rows(study.get_trials(deepcopy=False), plan, read_journal(tune_dir))
    write_trials_csv(rows, plan, tune_dir / "trials.csv")
    ranked = [r for r in _sorted(rows) if r["objective"] is not None]
    best = ranked[0] if ranked else None
    baseline = _baseline_row(rows, study)
    if best is not None:
        write_best_yaml(best, baseline, plan, tune_dir, len(ranked))
    write_results_md(rows, plan, tune_dir, best=best, baseline=baseline)
    return rows, best


@dataclass
class TuneOutcome:
    tune_dir: Path
    plan: TunePlan
    rows: list[dict[str, Any]]
    best: Optional[dict[str, Any]]
    status: str
    n_new: int
    n_new_failed: int
    wall_s: float
    n_target: int
    files: tuple[str, ...] = field(default=("trials.csv", "results.md", "best.yaml"))

    def summary_line(self) -> str:
        best = ("no trial completed" if self.best is None
                else f"best {self.plan.space.objective} {self.best['objective']:.3f} (trial {self.best['trial']})")
        files = ", ".join(f for f in self.files if (self.tune_dir / f).exists())
        return (f"tune: {self.n_new} new trial(s) in {self.wall_s:.0f} s, {sum(counted_row(r) for r in self.rows)} "
                f"of {self.n_target} in the study; {best}; {files} in the tune folder")

    def raise_if_incomplete(self) -> None:
        """Exit 1 when a trial of this run failed (or none ever completed)."""
        if self.n_new_failed:
            raise GailctlError(f"tune: {self.n_new_failed} of {self.n_new} new trial(s) failed; errors in "
                               f"{self.tune_dir / 'trials.csv'}")
        if self.best is None:
            raise GailctlError(f"tune: no trial completed; see {self.tune_dir / 'trials.csv'}")


def counted_row(row: dict[str, Any]) -> bool:
    return row["state"] in ("complete", "failed")


def render_tune_table(outcome: TuneOutcome, *, limit: int = 10) -> "Table":
    """The best trials on stdout (results.md has them all)."""
    from rich.markup import escape

    header, body = table_rows(outcome.rows, outcome.plan, limit=limit)
    n = len(outcome.rows)
    table = rich_table(f"tune: gail on {outcome.plan.base_config.env.id}, {outcome.plan.space.objective}, "
                       f"{'the best ' + str(limit) + ' of ' if n > limit else ''}{n} trial(s)")
    for col in header:
        table.add_column(col, justify="left" if col in ("state",) or col in outcome.plan.space.params else "right", overflow="fold")
    for line in body:
        table.add_row(*(escape(c) for c in line))
    return table
