"""The command that moves demonstrations between formats: convert (`gailctl.rl.demo_formats.convert`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from gailctl.cli.base import app, boundary
from gailctl.core.demo_sources import DEMOS_HELP, DEMOS_METAVAR


@app.command()
@boundary
def convert(
    demos: Annotated[str, typer.Argument(metavar=DEMOS_METAVAR, help=f"The demonstrations to read: {DEMOS_HELP}.", show_default=False)],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", metavar="PATH", help="Write FILE.npz (flat steps with final observations), FILE.hdf5 (D4RL layout), or a new folder in imitation's format.", show_default=False)] = None,
    dataset_id: Annotated[Optional[str], typer.Option("--dataset-id", metavar="ID", help="Write a new dataset in the local Minari store (MINARI_DATASETS_PATH), e.g. cartpole-expert-v0.", show_default=False)] = None,
    format_: Annotated[Optional[str], typer.Option("--format", metavar="imitation|minari|npz|hdf5", help="The format to write (default: from --output's suffix, or minari with --dataset-id).", show_default=False)] = None,
    env: Annotated[Optional[str], typer.Option("--env", metavar="ENV_ID", help="The env the demonstrations were recorded on, for sources that name none (a Minari dataset records one).", show_default=False)] = None,
) -> None:
    """Convert demonstrations between imitation's format, Minari, .npz and D4RL's HDF5; exact both ways."""
    from gailctl.core.demo_sources import resolve_demos
    from gailctl.rl.demo_formats.convert import convert_demos, convert_target

    source = resolve_demos(demos, flag="convert")
    target = convert_target(output, dataset_id, format_)
    read = convert_demos(source, target, env_id=env)
    n_steps = sum(len(t.acts) for t in read.trajectories)
    typer.echo(f"{len(read.trajectories)} trajectories, {n_steps} transitions: {source} -> {target.format}")
    typer.echo(target.spec)
