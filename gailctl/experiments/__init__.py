"""Many trials at once: sweep (seeds x grid), bench (configs x seeds x demos), tune (Optuna's TPE).

All three plan their trials in `plans` and run them on the one Ray Tune trial runner
(`runner`); each trial runs a stage through `gailctl.core.execution.execute`, so it is an
ordinary run folder. Their tables and plots go through `gailctl.report`.
"""
