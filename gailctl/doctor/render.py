"""The doctor's answer as plain text lines: a verdict per run, and for an experiment folder one
line per trial, then which findings recur."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from gailctl.doctor.diagnose import Report, Verdict

_MARK = {"error": "error  ", "warning": "warning", "info": "info   "}


def _heading(v: Verdict, name: Optional[str] = None) -> str:
    view = v.view
    parts = [view.algorithm or view.stage or "run", view.env_id or "?"]
    if view.seed is not None:
        parts.append(f"seed {view.seed}")
    parts.append(view.status)
    if view.final_score is not None:
        parts.append(f"final {view.final_score:.2f}")
    return f"{name or view.path}: {', '.join(parts)}"


def verdict_lines(v: Verdict, *, name: Optional[str] = None) -> list[str]:
    lines = [_heading(v, name)]
    for f in v.findings:
        lines.append(f"  {_MARK.get(f.severity, f.severity)} {f.name}: {f.evidence}")
        lines.append(f"          why: {f.why}")
        if f.next_step:
            lines.append(f"          next: {f.next_step}")
    if v.healthy:
        lines.append("  healthy: " + "; ".join(v.healthy_because))
    return lines


def report_lines(report: Report) -> list[str]:
    if report.kind == "run":
        return verdict_lines(report.verdicts[0])
    lines = [f"{report.path}: a {report.kind} folder, {len(report.verdicts)} trial(s)"]
    for v in report.verdicts:
        name = Path(v.view.path).name
        if v.first is None or v.healthy:
            score = f" (final {v.view.final_score:.2f})" if v.view.final_score is not None else ""
            extra = f"; {v.first.severity} {v.first.name}" if v.first else ""
            lines.append(f"  {name}: healthy{score}{extra}")
        else:
            more = len([f for f in v.findings if f.severity in ("error", "warning")]) - 1
            lines.append(f"  {name}: {v.first.severity} {v.first.name}: {v.first.evidence}"
                         + (f" (+{more} more)" if more > 0 else ""))
    recurring = report.recurring()
    if recurring:
        lines.append("recurring: " + ", ".join(f"{n} in {c} of {len(report.verdicts)}" for n, c in recurring))
        lines.append(f"details of one trial: gailctl doctor {report.path}/trials/TRIAL")
    else:
        lines.append("recurring: nothing; every trial is healthy")
    return lines
