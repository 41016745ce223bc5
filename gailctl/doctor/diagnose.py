"""Verdicts: every check of the catalogue over one run, ordered; one verdict per trial of a
sweep, tune or bench folder and which findings recur."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

from gailctl.core.errors import UsageError
from gailctl.doctor.catalogue import CATALOGUE, CHECK_RANK, SEVERITY_RANK
from gailctl.doctor.checks_adversarial import DISC_WIN_ACC, ROLLING_WINDOW
from gailctl.doctor.finding import Finding
from gailctl.doctor.view import PeerScore, RunView, read_run
from gailctl.report.run_info import experiment_kind, experiment_trials, summary_or_none
from gailctl.report.run_scores import final_scores


@dataclass(frozen=True)
class Verdict:
    """What the doctor says of one run."""

    view: RunView
    findings: tuple[Finding, ...]
    healthy_because: tuple[str, ...]
    """When no error or warning fired: what the doctor saw that says the run is fine."""

    @property
    def healthy(self) -> bool:
        return not any(f.severity in ("error", "warning") for f in self.findings)

    @property
    def first(self) -> Optional[Finding]:
        return self.findings[0] if self.findings else None

    def to_json(self) -> dict[str, Any]:
        v = self.view
        return {"run": str(v.path), "stage": v.stage, "algorithm": v.algorithm, "env_id": v.env_id, "seed": v.seed,
                "status": v.status, "final_normalized_score": v.final_score, "healthy": self.healthy,
                "findings": [f.to_json() for f in self.findings], "healthy_because": list(self.healthy_because)}


def order(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Errors first, then warnings, then info; within a severity, the catalogue's order (causes first)."""
    return tuple(sorted(findings, key=lambda f: (SEVERITY_RANK.get(f.severity, 3), CHECK_RANK.get(f.name, len(CHECK_RANK)))))


def diagnose(view: RunView) -> Verdict:
    found = [f for f in (c.fn(view) for c in CATALOGUE) if f is not None]
    if any(f.name != "not-imitating" and f.severity in ("error", "warning") for f in found):
        found = [f for f in found if f.name != "not-imitating"]
    findings = order(found)
    healthy = () if any(f.severity in ("error", "warning") for f in findings) else tuple(healthy_reasons(view))
    return Verdict(view=view, findings=findings, healthy_because=healthy)


def healthy_reasons(view: RunView) -> list[str]:
    """What says a run without findings is fine, from what it logged."""
    out = []
    score = view.final_score
    if score is not None:
        mode = "argmax" if view.final.deterministic else "sampled" if view.final.deterministic is False else "last evaluation"
        episodes = f", {view.final.episodes} episodes" if view.final.episodes else ""
        out.append(f"final normalized score {score:.2f} ({mode}{episodes})")
    rows = view.train_rows
    if rows and view.budget:
        tail = [r for r in rows if r.n_env_steps >= rows[-1].n_env_steps - ROLLING_WINDOW * view.budget]
        acc = sum(r.disc_acc or 0.0 for r in tail) / len(tail)
        out.append(f"discriminator accuracy {acc:.2f} over the last {ROLLING_WINDOW:.0%} of the budget: "
                   f"contested, not won outright (>= {DISC_WIN_ACC})")
    if view.rows:
        out.append(f"no NaN or inf in {len(view.rows)} metrics rows" + (f" and {len(view.progress)} rounds of imitation's log"
                                                                        if view.progress else ""))
    if not view.has_references:
        out.append("no references in the config: the checks that need a normalized score were skipped")
    out.append(f"{len(CATALOGUE)} checks ran")
    return out


# --- BC runs on the same demonstrations --------------------------------------------------


def _same_data(summary: Mapping[str, Any], view: RunView) -> bool:
    return (summary.get("stage") == "bc" and summary.get("status") == "finished" and summary.get("env_id") == view.env_id
            and summary.get("demos") == view.summary.get("demos")
            and summary.get("n_demo_trajectories") == view.summary.get("n_demo_trajectories")
            and summary.get("subsample_every") == view.summary.get("subsample_every"))


def bc_peers(view: RunView, candidates: Iterable[Path]) -> tuple[PeerScore, ...]:
    """Finished BC runs among `candidates` on the same env, demonstrations, count and subsampling."""
    if view.stage != "gail" or not view.summary.get("demos"):
        return ()
    out = []
    for path in candidates:
        if Path(path) == view.path:
            continue
        summary = summary_or_none(Path(path))
        if not summary or not _same_data(summary, view):
            continue
        score = final_scores("bc", summary).normalized_score
        if score is not None:
            seed = summary.get("seed")
            out.append(PeerScore(run=Path(path).name, seed=seed if isinstance(seed, int) else None, normalized_score=score))
    return tuple(out)


def _siblings(run_dir: Path) -> list[Path]:
    try:
        return sorted(p for p in Path(run_dir).parent.iterdir() if p.is_dir() and p.name.startswith("bc__"))
    except OSError:
        return []


# --- one run, or every trial of an experiment --------------------------------------------


@dataclass(frozen=True)
class Report:
    """The doctor's answer for a path: one verdict, or one per trial of an experiment folder."""

    path: Path
    kind: str
    """`run`, or the experiment's kind (`sweep`, `tune`, `bench`)."""
    verdicts: tuple[Verdict, ...]

    def recurring(self) -> list[tuple[str, int]]:
        """Finding names and how many trials have each, most frequent first."""
        counts = Counter(name for v in self.verdicts for name in {f.name for f in v.findings})
        return sorted(counts.items(), key=lambda kv: (-kv[1], CHECK_RANK.get(kv[0], 99)))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": str(self.path), "kind": self.kind, "verdicts": [v.to_json() for v in self.verdicts]}
        if self.kind != "run":
            data["recurring"] = [{"name": n, "trials": c} for n, c in self.recurring()]
        return data


def examine(path: Path) -> Report:
    """Read and diagnose a run folder, or every trial of a sweep, tune or bench folder."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path}: no such run folder")
    if not path.is_dir():
        raise UsageError(f"{path}: expected a run folder (or a sweep, tune or bench folder), got a file")
    kind = experiment_kind(path)
    if kind is None:
        view = read_run(path)
        view = replace(view, bc_peers=bc_peers(view, _siblings(path)))
        return Report(path=path, kind="run", verdicts=(diagnose(view),))
    trials = experiment_trials(path)
    if not trials:
        raise UsageError(f"{path}: a {kind} folder with no trial run folder under trials/ yet")
    views = [read_run(t) for t in trials]
    return Report(path=path, kind=kind,
                  verdicts=tuple(diagnose(replace(v, bc_peers=bc_peers(v, trials))) for v in views))


def first_findings(report: Report) -> Sequence[Optional[str]]:
    return [v.first.name if v.first else None for v in report.verdicts]
