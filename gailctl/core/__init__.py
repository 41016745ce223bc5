"""The foundation every other part uses, importing nothing above it.

The config (schema, value types, loading), paths in configs, run folders and their lifecycle
(`execution`), the metrics writer, checkpoints, signals, errors, the console, output files,
shipped configs and the human key-map format. No torch, stable-baselines3 or imitation here.
"""
