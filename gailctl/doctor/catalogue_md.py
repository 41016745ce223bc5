"""The troubleshooting page, made from the catalogue: `python -m gailctl.doctor.catalogue_md > docs/troubleshooting.md`.

A test checks that the committed page equals what this prints, so the page and the doctor say
the same thing.
"""

from __future__ import annotations

import sys

from gailctl.doctor.catalogue import CATALOGUE

INTRO = """# Troubleshooting: why a run did not imitate

`gailctl doctor RUN` reads a run folder (its config, metrics, imitation's log, summary and
demonstrations) and names what went wrong, with the evidence (rounds or env steps and values),
why it matters and the command to run next, whose values come from the measurements below. On a
sweep, tune or bench folder it gives one verdict per trial, then which findings recur. `--json`
prints the same for scripts. When nothing fires it says the run is healthy and why.

While `gailctl gail` trains, the checks marked *live* run every round: the first time one fires
the run prints one line (`doctor: discriminator-wins at round 140: ...`) and records it in
`findings.jsonl`; `gailctl runs` marks such runs with `!N`.

Findings are ordered by severity (error, warning, info), then as listed here: causes before
symptoms.

Measured on committed runs (`tests/fixtures/doctor/`, checked by the tests): on 18 of 19 MuJoCo runs
documented as failing, the first finding is the documented cause; the 44 runs of the shipped
MuJoCo configs that reached their targets carry no error and at most one warning; CartPole runs
made with a discriminator far stronger than the generator, one that cannot learn, a budget cut
to a tenth, demonstrations from CartPole-v1 and a generator whose entropy collapses are each
named first.

[The GAIL traps](gail-traps.md) explains the traps behind these findings, how each shows in the
metrics, and what the everyday error messages mean. This page is generated from the catalogue
(`python -m gailctl.doctor.catalogue_md`).
"""


def render() -> str:
    parts = [INTRO]
    for check in CATALOGUE:
        live = ", live" if check.live else ""
        parts.append(
            f"## `{check.name}`: {check.title}\n\n"
            f"*{check.severity}{live}*\n\n"
            f"- **Signature**: {check.signature}\n"
            f"- **Fix**: {check.fix}\n"
            f"- **Evidence**: {check.evidence}\n"
        )
    return "\n".join(parts)


if __name__ == "__main__":
    sys.stdout.write(render())
