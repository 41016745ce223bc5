"""The Click command behind the Typer app, for tools that read Click apps (the documentation
site's CLI reference renders it with mkdocs-click, so the reference is the code's own help)."""

from __future__ import annotations

import typer

from gailctl.cli import app

command = typer.main.get_command(app)
