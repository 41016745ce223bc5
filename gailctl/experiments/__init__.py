"""Many trials at once: sweep (seeds x grid on Ray Tune), bench (configs x seeds x demos), tune (Optuna).

Each trial runs a stage through `gailctl.core.execution.execute`, so it is an ordinary run folder.
"""
