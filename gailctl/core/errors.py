"""The project's own exceptions: the CLI turns each into one line and an exit code."""


class GailctlError(Exception):
    """A failure the user can act on; `exit_code` 1 (a run failed)."""

    exit_code = 1


class UsageError(GailctlError):
    """Bad input: a config, a flag, a path that cannot be used; exit code 2."""

    exit_code = 2


class ConfigError(UsageError):
    """A config file or override that does not validate."""


class Unattainable(GailctlError):
    """A request the run tried and could not meet (too few upright episodes within the cap); exit code 2
    like bad input, but the run folder stays, failed, with what it measured."""

    exit_code = 2


class Interrupted(GailctlError):
    """SIGINT/SIGTERM stopped a run after a checkpoint; `gailctl STAGE --resume RUN` continues it."""

    exit_code = 130


def one_line_error(exc: BaseException) -> str:
    """Our errors as they are; anything else as `Type: first line`, like the CLI prints them."""
    if isinstance(exc, GailctlError):
        return str(exc)
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first[:300]}" if first else type(exc).__name__
