"""The `gailctl` command line: a thin Typer app; each command hands a typed config to a stage or an experiment.

`base` holds the app, the shared options and the one error boundary; the commands are grouped
by what they run: `stage_commands` (expert, record, gail, bc, dagger, eval), `data_commands` (convert),
`report_commands` (runs, plot, compare), `experiment_commands` (sweep, bench, tune), `config_commands` (configs).
Importing them registers them on the app. `stage_inputs` turns a stage command's flags and config keys
into the inputs and config the stage runs with.
"""

from __future__ import annotations

# In this order `gailctl --help` lists them.
from gailctl.cli import stage_commands, data_commands, report_commands, experiment_commands, config_commands  # noqa: F401, I001
from gailctl.cli.base import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point; under `python -m gailctl` too, usage lines and errors name `gailctl`
    (Click would otherwise call it `python -m gailctl` and read `-m gailctl` as part of the command)."""
    app(prog_name="gailctl")
