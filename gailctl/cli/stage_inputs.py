"""What a stage command does with its options before the stage runs: the inputs it names and the config it runs with.

The flag wins over the config key; paths are resolved and made absolute; demonstrations recorded on
another env are refused (or, asked to, warned about); `--resume` takes the run's own config.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

from gailctl.core.demo_sources import DEMOS_METAVAR, DemoSource, resolve_demos
from gailctl.core.errors import UsageError

if TYPE_CHECKING:
    from gailctl.core.config import Config


def refuse_with_resume(**given: Any) -> None:
    """--resume continues a run exactly as configured: other settings would silently fork it."""
    clash = [f"--{k.rstrip('_')}" for k, v in given.items() if v is not None and v != []]
    if clash:
        raise UsageError(f"--resume takes the run's own config.yaml; drop {', '.join(clash)}")


def resume_config(run_dir: Path, stage: str) -> Config:
    """The config a run folder recorded, once the folder is known to be an unfinished run of `stage`."""
    from gailctl.core.config_load import load_config
    from gailctl.core.runs import open_for_resume

    open_for_resume(run_dir, stage=stage)  # refuse finished or foreign runs before heavy imports
    return load_config(run_dir / "config.yaml", recorded=True)


def input_path(given: Optional[Path], configured: Optional[str], *, command: str, flag: str, key: str, what: str,
               resolve: Callable[..., Path]) -> Path:
    """A stage's input: the flag wins over the config key; resolved and made absolute."""
    source = given if given is not None else configured
    if source is None:
        raise UsageError(f"{command}: no {what} given: pass {flag} or set {key} in the config")
    return resolve(Path(source), flag=flag.split()[0] if given is not None else f"{key} =").resolve()


def demos_source(given: Optional[str], configured: Optional[str], *, command: str, key: str) -> DemoSource:
    """A stage's demonstrations: --demos wins over the config key; any format `resolve_demos` accepts."""
    source = given if given is not None else configured
    if source is None:
        raise UsageError(f"{command}: no demonstrations given: pass --demos {DEMOS_METAVAR} or set {key} in the config")
    return resolve_demos(source, flag="--demos" if given is not None else f"{key} =")


def check_demos_env(source: DemoSource, cfg: Config, *, given: Optional[str], key: str, allow: bool) -> None:
    """Demonstrations recorded on another env than the run's: refused, or a warning with --allow-env-mismatch."""
    from gailctl.core.demo_sources import check_demos_env

    warning = check_demos_env(source, env_id=cfg.env.id, allow=allow, flag="--demos" if given is not None else f"{key} =")
    if warning is not None:
        from gailctl.core.ui import console

        console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)


def with_path(cfg: Config, section: str, key: str, value: Path | DemoSource) -> Config:
    """The config as the run used it: the resolved input (an absolute path, or a named source) in its section."""
    sec = getattr(cfg, section)
    text = value.spec if isinstance(value, DemoSource) else str(value.resolve())
    return cfg.model_copy(update={section: sec.model_copy(update={key: text})})
