"""The Typer app and what every command shares: options, the error boundary, config loading, output.

Start-up imports typer and gailctl's stdlib-only modules, nothing more: `gailctl --help`
answers without pydantic, yaml, rich, numpy or torch. A command loads its config (pydantic)
once it runs, and its stage (torch, stable-baselines3, imitation) once the config validated.
The commands themselves live in `stage_commands`, `report_commands`, `experiment_commands`
and `config_commands`; `gailctl.cli` registers them.
"""

from __future__ import annotations

import errno
import functools
import math
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Callable, Optional, Sequence, TypeVar

import typer
from typer.core import TyperGroup

from gailctl.core import shipped
from gailctl.core.errors import ConfigError, GailctlError

if TYPE_CHECKING:
    from gailctl.core.config import Config

_state: dict[str, Any] = {"debug": False, "argv": None}
"""--debug, and the arguments the app was invoked with (`sys.argv[1:]`, or a test runner's)."""


def _click_errors() -> Any:
    """Click's exception classes: Typer 0.2x carries its own copy of Click (`typer._click`), older Typer uses click."""
    try:
        from typer._click import exceptions
    except ImportError:  # typer < 0.20
        from click import exceptions
    return exceptions


class GailctlGroup(TyperGroup):
    """The app's Click group, with Click's own usage errors in gailctl's words.

    A value Typer cannot convert (`--seed abc`), an unknown option or a missing argument is
    one `error: ...` line naming the option as typed, exit 2, like every error `boundary`
    reports; Click's usage block and `Try ... for help` stay out of it.
    """

    def main(self, args: Any = None, prog_name: Optional[str] = None, complete_var: Optional[str] = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        _state["argv"] = argv
        call = functools.partial(super().main, args=argv, prog_name=prog_name, complete_var=complete_var,
                                 standalone_mode=False, **extra)
        if not standalone_mode:
            return call()
        errors = _click_errors()
        try:
            rv = call()
        except errors.UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # bare `gailctl`: the help, as Click shows it
                exc.show()
                sys.exit(exc.exit_code)
            typer.echo(f"error: {click_usage_message(exc, argv, commands=list(self.commands))}", err=True)
            sys.exit(2)
        except errors.ClickException as exc:
            typer.echo(f"error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo("error: aborted", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)  # Click returns an Exit's code when not standalone


app = typer.Typer(
    cls=GailctlGroup,
    name="gailctl",
    help="Imitation-learning experiments from YAML configs: PPO experts, demonstrations, GAIL, evaluation.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rich's help formatter costs more than the 0.3 s --help may take
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120},
)


def named_config(value: Optional[Path]) -> Optional[Path]:
    """-c FILE, or -c NAME for a shipped config when no such file exists (a file always wins)."""
    return shipped.find_config(value)


def named_configs(values: Optional[list[Path]]) -> Optional[list[Path]]:
    return None if values is None else [shipped.find_config(v) for v in values]


def named_space(value: Optional[Path]) -> Optional[Path]:
    return shipped.find_config(value, sub="tune")


def complete_config(incomplete: str) -> list[str]:
    return shipped.complete_names(incomplete)


def complete_space(incomplete: str) -> list[str]:
    return shipped.complete_names(incomplete, sub="tune")


CONFIG_HELP = "YAML config file, or the name of a shipped config (`gailctl configs` lists them)."
ConfigOpt = Annotated[
    Optional[Path],
    typer.Option("--config", "-c", help=CONFIG_HELP, show_default=False, callback=named_config, autocompletion=complete_config),
]
SetOpt = Annotated[
    Optional[list[str]],
    typer.Option("--set", metavar="KEY=VALUE", help="Override a config value: KEY=VALUE with a dotted key, e.g. gail.total_timesteps=20000. Repeatable.", show_default=False),
]
SeedOpt = Annotated[Optional[int], typer.Option("--seed", help="Shortcut for --set seed=N.", show_default=False)]
RunsDirOpt = Annotated[Path, typer.Option("--runs-dir", help="Where new run folders are created.")]
TrackOpt = Annotated[
    Optional[str],
    typer.Option("--track", metavar="mlflow|wandb", help="Once the run finishes, send its config, metrics rows, final scores "
                 "and artifacts to MLflow (MLFLOW_TRACKING_URI, else its local store) or W&B (offline unless WANDB_MODE says "
                 "otherwise).", show_default=False),
]
TrialsTrackOpt = Annotated[
    Optional[str],
    typer.Option("--track", metavar="mlflow|wandb", help="Once the trials have run, send each finished trial's run (config, "
                 "metrics rows, final scores, artifacts) to MLflow (MLFLOW_TRACKING_URI, else its local store) or W&B (offline "
                 "unless WANDB_MODE says otherwise) as a run of its own, grouped under the experiment folder's name (MLflow "
                 "experiment, W&B group). With --resume: the trials not sent yet.", show_default=False),
]
AllowEnvMismatchOpt = Annotated[
    bool,
    typer.Option("--allow-env-mismatch", help="Use demonstrations recorded on another env than env.id "
                 "(refused by default: the shapes can match while the dynamics differ, e.g. CartPole-v1 and seals/CartPole-v0)."),
]
ResumeOpt = Annotated[
    Optional[Path],
    typer.Option("--resume", help="Continue this unfinished run in its own folder, from its last checkpoint, with its own config.", show_default=False),
]




@app.callback()
def _main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False) -> None:
    _state["debug"] = debug


F = TypeVar("F", bound=Callable[..., None])


def boundary(fn: F) -> F:
    """The one error boundary: our errors become `error: ...` on stderr and an exit code.

    Usage errors exit 2, failed runs 1, Ctrl-C 130; a traceback only with --debug.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except GailctlError as exc:
            _fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted (Ctrl-C)", 130)  # a run folder's own stop says more: core.execution.stopped_message
        except OSError as exc:
            where = f" ({exc.filename})" if exc.filename else ""
            if exc.errno == errno.ENOSPC:
                _fail(f"no space left on device{where}; the previous checkpoint and files are intact", 1)
            _fail(f"{exc.strerror or exc}{where}", 1)
        except Exception as exc:  # noqa: BLE001 - anything else is a bug or an environment failure
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            _fail(f"{type(exc).__name__}: {first[:300]} (rerun with --debug for the traceback)", 1)

    return wrapper  # type: ignore[return-value]


def _fail(message: str, code: int) -> None:
    if _state["debug"]:
        traceback.print_exc()
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)




def _as_typed(spellings: str) -> str:
    """The spelling of an option found on the command line (`-n` of `-n/--episodes`), else all of them.

    Click does not record which alias it parsed; the arguments the app was given say it.
    """
    found = typed_option(spellings.split("/"))
    return spellings if found is None else found[0]


def typed_option(names: list[str], argv: Optional[list[str]] = None) -> Optional[tuple[str, Optional[str]]]:
    """(the spelling used, its value as typed) of the last use of an option on the command line, or None.

    `-n 3`, `-n3`, `--episodes 3` and `--episodes=3` all count; the value is None when none follows.
    """
    if argv is None:
        argv = _state["argv"] if _state["argv"] is not None else sys.argv[1:]
    args = list(argv)
    found = None
    for i, arg in enumerate(args):
        if arg == "--":
            break
        for name in names:
            if arg == name:
                found = (name, args[i + 1] if i + 1 < len(args) else None)
            elif name.startswith("--") and arg.startswith(name + "="):
                found = (name, arg[len(name) + 1:])
            elif not name.startswith("--") and len(name) == 2 and arg.startswith(name) and not arg.startswith("--"):
                found = (name, arg[2:])
    return found


_EXPECTED = (("valid integer", "expected a whole number"), ("valid number", "expected a number"),
             ("valid boolean", "expected true or false"))
"""Typer's conversion messages, said as the rest of gailctl's errors say what was expected."""


def click_usage_message(exc: Any, argv: list[str], *, commands: Sequence[str] = ()) -> str:
    """One line for a Click usage error: `--seed abc: expected a whole number`; `eval: missing argument RUN_OR_ZIP`.

    `commands`: the app's command names, to name the command when Click's error does not carry it.
    """
    errors = _click_errors()
    ctx = getattr(exc, "ctx", None)
    words = ctx.command_path.split()[1:] if ctx is not None else []
    if not words:
        words = [arg for arg in argv if arg in commands][:1]
    command = " ".join(["gailctl", *words])
    param = getattr(exc, "param", None)
    if isinstance(exc, errors.BadParameter) and not isinstance(exc, errors.MissingParameter) and param is not None:
        message = str(exc.message).strip().rstrip(".")
        expected = next((text for phrase, text in _EXPECTED if phrase in message.lower()), message)
        if getattr(param, "param_type_name", "") == "argument":
            return f"{command}: {param.name.upper() if not param.metavar else param.metavar}: {expected}"
        typed = typed_option([*param.opts, *param.secondary_opts], argv)
        where = "/".join(param.opts) if typed is None else typed[0] if typed[1] is None else f"{typed[0]} {typed[1]}"
        return f"{where}: {expected}"
    message = exc.format_message().strip()
    message = message[:1].lower() + message[1:]
    return f"{' '.join(words) + ': ' if words else ''}{message.rstrip('.')} (see {command} --help)"


def shortcuts(**given: tuple[str, str, Any]) -> tuple[list[str], dict[str, str]]:
    """Shortcut options as `--set` items, and which option set each key (for error messages).

    `given`: key -> (option's spellings, config key, value or None when not given).
    """
    items, flags = [], {}
    for flag, key, value in given.values():
        if value is not None:
            items.append(f"{key}={str(value).lower() if isinstance(value, bool) else value}")
            flags[key] = _as_typed(flag)
    return items, flags


def config_from_options(path: Optional[Path], overrides: Optional[list[str]], seed: Optional[int],
                        **options: tuple[str, str, Any]) -> Config:
    """The validated config of a command: -c FILE (or defaults), then --set items, then shortcut options."""
    from gailctl.core.config_load import load_config

    items, flags = shortcuts(**options, seed=("--seed", "seed", seed))
    check_config_exists(path)
    return load_config(path, [*(overrides or []), *items], flags=flags)


def check_config_exists(path: Optional[Path]) -> None:
    if path is not None and not path.exists():
        raise ConfigError(f"{path}: config file not found, and no shipped config has that name (`gailctl configs` lists them)")



def finish(run_dir: Path, lines: list[str]) -> None:
    """Human summary first, the run folder as the very last line of stdout."""
    for line in lines:
        typer.echo(line)
    typer.echo(str(run_dir))


def known(value: Any) -> bool:
    """False for a figure the run could not compute: None, empty, or NaN (a score without references)."""
    return not (value is None or value == "" or (isinstance(value, float) and math.isnan(value)))


def notes(*parts: Optional[str]) -> str:
    """` (a, b)` of the parts that are there; `` when none is."""
    kept = [p for p in parts if p]
    return f" ({', '.join(kept)})" if kept else ""


def normalized(value: Any) -> Optional[str]:
    """`normalized 0.950`, or None when the config has no references to normalize by."""
    return f"normalized {fmt(value)}" if known(value) else None


def fmt(value: Any) -> str:
    if value is None or value == "":
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def print_tables(tables: Any) -> None:
    """Result tables on stdout: the terminal's width, or 120 columns when piped (not 1000)."""
    from gailctl.core.ui import results

    for table in tables if isinstance(tables, list) else [tables]:
        results.print(table, width=None if results.is_terminal else PIPED_WIDTH)


PIPED_WIDTH = 120
"""Columns of `runs` and `compare` tables written to a pipe or a file."""
