"""`gailctl configs` and `gailctl configs show NAME`: the configs that ship with gailctl.
"""

from __future__ import annotations

from typing import Annotated

import typer

from gailctl.cli.base import (
    app,
    boundary,
    complete_config,
)
from gailctl.core import shipped
from gailctl.core.errors import GailctlError, UsageError


configs_app = typer.Typer(help="The configs that ship with gailctl: list them, or print one to copy and edit.",
                          invoke_without_command=True, no_args_is_help=False)
app.add_typer(configs_app, name="configs")


@configs_app.callback()
@boundary
def configs_list(ctx: typer.Context) -> None:
    """List the shipped configs: name (for -c NAME), env id, description, and whether an expert and demonstrations ship."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from gailctl.core.ui import results

    names = shipped.config_names()
    if not names:
        raise GailctlError("no shipped configs found: this gailctl install carries no configs/ folder")
    table = Table(title=f"shipped configs ({shipped.configs_dir()}); run one with gailctl gail -c NAME")
    for col in ("name", "env id", "expert", "demos", "description"):
        table.add_column(col, overflow="fold")
    for name in names:
        c = shipped.describe(shipped.shipped_config(name))
        table.add_row(c.name, c.env_id, "yes" if c.expert else "no", "yes" if c.demos else "no", c.description)
    results.print(table)


@configs_app.command("show")
@boundary
def configs_show(
    name: Annotated[str, typer.Argument(metavar="NAME", help="A shipped config (see `gailctl configs`).", autocompletion=complete_config, show_default=False)],
) -> None:
    """Print a shipped config, its paths made absolute, so a copy runs from anywhere: gailctl configs show cartpole > my.yaml"""
    path = shipped.shipped_config(name)
    if path is None:
        raise UsageError(f"configs show {name}: no shipped config of that name; expected one of: {', '.join(shipped.config_names())}")
    typer.echo(shipped.text_with_absolute_paths(path), nl=False)
