"""One module per command, each `run(cfg, run_dir, ...) -> dict` of summary fields.

`expert`, `record`, `gail` (GAIL and AIRL), `bc` and `evaluate` (`gailctl eval`). A stage never
imports another: what two stages share lives in `gailctl.rl` (learning pieces) or
`gailctl.core` (run folders, metrics, checkpoints). `gailctl.core.execution.execute` runs a
stage's `run` in its run folder.
"""
