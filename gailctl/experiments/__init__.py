"""Many trials at once: sweep (seeds x grid), bench (configs x seeds x demos), tune (Optuna's TPE).

All three plan their trials in `plans` and run them on the one Ray Tune trial runner
(`runner`); each trial runs a stage through `gailctl.core.execution.execute`, so it is an
ordinary run folder. Their tables and plots go through `gailctl.report`.
"""

DEFAULT_MAX_FAILURES = 3
"""How often Ray starts a trial again after its worker died (killed, out of memory, its node lost):
`--max-failures`' default. Here, not in `runner`, so that `gailctl --help` imports nothing to show it."""
