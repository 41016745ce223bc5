"""What a check returns (`Finding`), what the catalogue says of each check (`Check`), and the
ready-to-run commands findings propose (`rerun_with`)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from gailctl.doctor.view import RunView

SEVERITIES = ("error", "warning", "info")
"""In order of weight: an error explains why the run did not imitate; a warning costs score or
stability; info is context."""


@dataclass(frozen=True)
class Finding:
    """One named finding about a run, with its evidence and what to run next."""

    name: str
    severity: str
    evidence: str
    """Where and what was measured: rounds or env steps, and the values."""
    why: str
    """Why it matters, in one sentence."""
    next_step: Optional[str] = None
    """A ready-to-run command."""
    round: Optional[int] = None
    """The round (or, without rounds, nothing) where the evidence starts or the check fired."""
    n_env_steps: Optional[int] = None
    values: Mapping[str, Any] = field(default_factory=dict)
    """The measured numbers, for `--json`."""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "severity": self.severity, "evidence": self.evidence, "why": self.why,
                "next_step": self.next_step, "round": self.round, "n_env_steps": self.n_env_steps, "values": dict(self.values)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Finding":
        return cls(name=str(data.get("name")), severity=str(data.get("severity")), evidence=str(data.get("evidence", "")),
                   why=str(data.get("why", "")), next_step=data.get("next_step"), round=data.get("round"),
                   n_env_steps=data.get("n_env_steps"), values=data.get("values") or {})


CheckFn = Callable[[RunView], Optional[Finding]]


@dataclass(frozen=True)
class Check:
    """A catalogue entry: the check and what the troubleshooting page says of it."""

    name: str
    severity: str
    """Its usual severity (a check may report a lighter one when the evidence is weaker)."""
    title: str
    signature: str
    """What the doctor looks for, in words, with the thresholds."""
    fix: str
    evidence: str
    """The measurements behind the thresholds and the fix (files under docs/)."""
    fn: CheckFn
    live: bool = False
    """Also checked round by round while `gailctl gail` trains."""


def steps(n: Optional[float]) -> str:
    """`737k`, `15,360`: env steps, short when large."""
    if n is None:
        return "?"
    n = int(n)
    return f"{n / 1000:.0f}k" if n >= 100_000 else f"{n:,}"


def rerun_with(view: RunView, settings: Mapping[str, Any]) -> str:
    """The run's own command again with these `--set` items (replacing any of the same keys).

    A run whose command.txt is not a plain `gailctl STAGE ...` line (a sweep or bench trial)
    gets `gailctl STAGE -c RUN/config.yaml`, which is its resolved config.
    """
    stage = view.stage or "gail"
    items = [f"{k}={_value(v)}" for k, v in settings.items()]
    argv = _own_argv(view.command, stage)
    if argv is None:
        argv = ["gailctl", stage, "-c", str(Path(view.path) / "config.yaml")]
    keys = {k for k in settings}
    kept: list[str] = []
    skip = 0
    for i, arg in enumerate(argv):
        if skip:
            skip -= 1
            continue
        if arg == "--resume":
            skip = 1
            continue
        if arg == "--set" and i + 1 < len(argv) and argv[i + 1].split("=", 1)[0] in keys:
            skip = 1
            continue
        kept.append(arg)
    for item in items:
        kept += ["--set", item]
    return shlex.join(kept)


def _own_argv(command: Optional[str], stage: str) -> Optional[list[str]]:
    if not command:
        return None
    text = command.split("&&", 1)[1] if "&&" in command else command
    try:
        argv = shlex.split(text.split("  #", 1)[0])
    except ValueError:
        return None
    if len(argv) < 2 or argv[0] != "gailctl" or argv[1] not in (stage, "airl" if stage == "gail" else stage):
        return None
    return argv


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)
