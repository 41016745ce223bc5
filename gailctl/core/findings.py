"""A run folder's `findings.jsonl`: what `gailctl.doctor`'s live checks found while the run
trained. Stdlib only, so `gailctl runs` lists them without loading the doctor."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Optional

FINDINGS_FILE = "findings.jsonl"
"""One JSON object a line: a finding and the round at which it fired (`fired_round`)."""


class FindingsFile:
    """Where live findings go: one line printed, one JSON line appended to findings.jsonl."""

    def __init__(self, run_dir: Path, *, echo: Optional[Callable[[str], Any]] = None):
        self.path = Path(run_dir) / FINDINGS_FILE
        self.echo = echo

    def __call__(self, finding: Any, fired_round: int, fired_env_steps: int) -> None:
        record = {"fired_round": fired_round, "fired_env_steps": fired_env_steps, **finding.to_json()}
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
        if self.echo is not None:
            self.echo(f"doctor: {finding.name} at round {fired_round}: {finding.evidence}")

    def keep_until(self, last_round: int) -> set[str]:
        """On a resume: drop what fired after the checkpoint's round (those rounds run again); the
        names of what stays."""
        kept = [r for r in read_findings(self.path.parent) if int(r.get("fired_round") or 0) <= last_round]
        if self.path.exists():
            self.path.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
        return {str(r.get("name")) for r in kept}


def read_findings(run_dir: Path) -> list[dict[str, Any]]:
    """The findings a run recorded while it trained (empty without findings.jsonl)."""
    try:
        lines = (Path(run_dir) / FINDINGS_FILE).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    out = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:  # a line cut short by a kill
            continue
        if isinstance(record, dict):
            out.append(record)
    return out
