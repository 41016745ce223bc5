"""The `gailctl` command: parse options, load the config, hand it to a stage, print a summary.

Only typer, rich, yaml and pydantic load at start-up; each command imports its stage (and so
torch, stable-baselines3, imitation) after its config has validated.
"""

from __future__ import annotations

import errno
import functools
import math
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any, Callable, Optional, TypeVar

import typer

from gailctl.core import shipped
from gailctl.core.config import Config, load_config
from gailctl.core.errors import ConfigError, GailctlError, UsageError
from gailctl.report.run_scores import plural
from gailctl.core.runs import (
    check_demos_env,
    is_run_dir,
    open_for_resume,
    resolve_demos_dir,
    resolve_policy_zip,
    resolve_stats_file,
)

app = typer.Typer(
    name="gailctl",
    help="Imitation-learning experiments from YAML configs: PPO experts, demonstrations, GAIL, evaluation.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_state = {"debug": False}
RANDOM_POLICY = "random"
"""`gailctl eval random -c CONFIG`: score uniform random actions (the normalized score's 0)."""



def _named_config(value: Optional[Path]) -> Optional[Path]:
    """-c FILE, or -c NAME for a shipped config when no such file exists (a file always wins)."""
    return shipped.find_config(value)


def _named_configs(values: Optional[list[Path]]) -> Optional[list[Path]]:
    return None if values is None else [shipped.find_config(v) for v in values]


def _named_space(value: Optional[Path]) -> Optional[Path]:
    return shipped.find_config(value, sub="tune")


def _complete_config(incomplete: str) -> list[str]:
    return shipped.complete_names(incomplete)


def _complete_space(incomplete: str) -> list[str]:
    return shipped.complete_names(incomplete, sub="tune")


CONFIG_HELP = "YAML config file, or the name of a shipped config (`gailctl configs` lists them)."
ConfigOpt = Annotated[
    Optional[Path],
    typer.Option("--config", "-c", help=CONFIG_HELP, show_default=False, callback=_named_config, autocompletion=_complete_config),
]
SetOpt = Annotated[
    Optional[list[str]],
    typer.Option("--set", help="Override a config value: KEY=VALUE with a dotted key, e.g. gail.total_timesteps=20000. Repeatable.", show_default=False),
]
SeedOpt = Annotated[Optional[int], typer.Option("--seed", help="Shortcut for --set seed=N.", show_default=False)]
RunsDirOpt = Annotated[Path, typer.Option("--runs-dir", help="Where new run folders are created.")]
AllowEnvMismatchOpt = Annotated[
    bool,
    typer.Option("--allow-env-mismatch", help="Use demonstrations whose record run names another env than env.id "
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


def _boundary(fn: F) -> F:
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
            _fail("interrupted; the run folder's summary.json says status: interrupted", 130)
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

    Click does not record which alias it parsed; the process's own arguments say it.
    """
    names = spellings.split("/")
    for arg in sys.argv[1:]:
        for name in names:
            if arg == name or (name.startswith("--") and arg.startswith(name + "=")) or (
                    not name.startswith("--") and len(name) == 2 and arg.startswith(name) and not arg.startswith("--")):
                return name
    return spellings


def _shortcuts(**given: tuple[str, str, Any]) -> tuple[list[str], dict[str, str]]:
    """Shortcut options as `--set` items, and which option set each key (for error messages).

    `given`: key -> (option's spellings, config key, value or None when not given).
    """
    items, flags = [], {}
    for flag, key, value in given.values():
        if value is not None:
            items.append(f"{key}={str(value).lower() if isinstance(value, bool) else value}")
            flags[key] = _as_typed(flag)
    return items, flags


def _config(path: Optional[Path], overrides: Optional[list[str]], seed: Optional[int],
            **shortcuts: tuple[str, str, Any]) -> Config:
    items, flags = _shortcuts(**shortcuts, seed=("--seed", "seed", seed))
    _check_config_exists(path)
    return load_config(path, [*(overrides or []), *items], flags=flags)


def _check_config_exists(path: Optional[Path]) -> None:
    if path is not None and not path.exists():
        raise ConfigError(f"{path}: config file not found, and no shipped config has that name (`gailctl configs` lists them)")


def _refuse_with_resume(**given: Any) -> None:
    """--resume continues a run exactly as configured: other settings would silently fork it."""
    clash = [f"--{k.rstrip('_')}" for k, v in given.items() if v is not None and v != []]
    if clash:
        raise UsageError(f"--resume takes the run's own config.yaml; drop {', '.join(clash)}")


def _resume_config(run_dir: Path, stage: str) -> Config:
    open_for_resume(run_dir, stage=stage)  # refuse finished or foreign runs before heavy imports
    return load_config(run_dir / "config.yaml", recorded=True)


def _input_path(given: Optional[Path], configured: Optional[str], *, command: str, flag: str, key: str, what: str,
                resolve: Callable[..., Path]) -> Path:
    """A stage's input: the flag wins over the config key; resolved and made absolute."""
    source = given if given is not None else configured
    if source is None:
        raise UsageError(f"{command}: no {what} given: pass {flag} or set {key} in the config")
    return resolve(Path(source), flag=flag.split()[0] if given is not None else f"{key} =").resolve()


def _check_demos_env(demos_dir: Path, cfg: Config, *, given: Optional[Path], key: str, allow: bool) -> None:
    """Demonstrations recorded on another env than the run's: refused, or a warning with --allow-env-mismatch."""
    warning = check_demos_env(demos_dir, env_id=cfg.env.id, allow=allow, flag="--demos" if given is not None else f"{key} =")
    if warning is not None:
        from gailctl.core.ui import console

        console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)


def _run_stage(stage: str, cfg: Config, *, runs_dir: Path, resume: Optional[Path] = None, **kwargs: Any) -> tuple[Path, dict[str, Any]]:
    """Import the stage (torch and friends load here, after the config validated) and execute it."""
    import importlib

    from gailctl import stages
    from gailctl.rl.envs import check_env_id

    check_env_id(cfg.env.id)
    module = importlib.import_module(f"gailctl.stages.{'evaluate' if stage == 'eval' else stage}")
    if resume is not None:
        kwargs["resume_dir"] = resume
    return stages.execute(stage, module.run, cfg, runs_dir=runs_dir, **kwargs)


def _with_path(cfg: Config, section: str, key: str, value: Path) -> Config:
    """The config as the run used it: the resolved input path, absolute, in its section."""
    sec = getattr(cfg, section)
    return cfg.model_copy(update={section: sec.model_copy(update={key: str(value.resolve())})})


def _finish(run_dir: Path, lines: list[str]) -> None:
    """Human summary first, the run folder as the very last line of stdout."""
    for line in lines:
        typer.echo(line)
    typer.echo(str(run_dir))


def _known(value: Any) -> bool:
    """False for a figure the run could not compute: None, empty, or NaN (a score without references)."""
    return not (value is None or value == "" or (isinstance(value, float) and math.isnan(value)))


def _notes(*parts: Optional[str]) -> str:
    """` (a, b)` of the parts that are there; `` when none is."""
    kept = [p for p in parts if p]
    return f" ({', '.join(kept)})" if kept else ""


def _normalized(value: Any) -> Optional[str]:
    """`normalized 0.950`, or None when the config has no references to normalize by."""
    return f"normalized {_fmt(value)}" if _known(value) else None


def _fmt(value: Any) -> str:
    if value is None or value == "":
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


@app.command()
@_boundary
def expert(
    config: ConfigOpt = None,
    set_: SetOpt = None,
    seed: SeedOpt = None,
    runs_dir: RunsDirOpt = Path("runs"),
    resume: ResumeOpt = None,
) -> None:
    """Train a PPO expert: periodic evaluation, checkpoints, metrics, a final SB3 model.zip."""
    if resume is not None:
        _refuse_with_resume(config=config, set_=set_, seed=seed)
        cfg = _resume_config(resume, "expert")
    else:
        cfg = _config(config, set_, seed)
    run_dir, summary = _run_stage("expert", cfg, runs_dir=runs_dir, resume=resume)
    final = summary["final"]
    _finish(run_dir, [
        f"expert: {summary['n_env_steps']} env steps in {summary['wall_s']:.0f} s; final return "
        f"{final['return_mean']:.1f} ± {final['return_std']:.1f}{_notes(_normalized(final['normalized_score']))}; "
        f"best {summary['best']['return_mean']:.1f} at {summary['best']['n_env_steps']} steps"
        + (f" ({summary['best']['note']})" if summary["best"].get("note") else ""),
    ])


@app.command()
@_boundary
def record(
    config: ConfigOpt = None,
    expert: Annotated[Optional[Path], typer.Option("--expert", help="Expert run folder or SB3 .zip (default: record.expert in the config).", show_default=False)] = None,
    episodes: Annotated[Optional[int], typer.Option("--episodes", "-n", help="Shortcut for --set record.n_episodes=N.", show_default=False)] = None,
    vecnormalize: Annotated[Optional[Path], typer.Option(
        "--vecnormalize", metavar="FILE", show_default=False,
        help="VecNormalize statistics of an expert trained behind it (VecNormalize.save's .pkl, read by a restricted "
             "unpickler, or a checkpoint's vecnormalize.pt): the policy sees normalised observations, the demos stay raw "
             "(default: record.vecnormalize).")] = None,
    human: Annotated[bool, typer.Option("--human", help="You play: a window, the keyboard drives the task (keys: record.human in the config).")] = False,
    set_: SetOpt = None,
    seed: SeedOpt = None,
    runs_dir: RunsDirOpt = Path("runs"),
) -> None:
    """Roll out an expert (or, with --human, play yourself) and save demonstrations in imitation's format."""
    cfg = _config(config, set_, seed, episodes=("-n/--episodes", "record.n_episodes", episodes))
    if human:
        if expert is not None:
            raise UsageError("record: --human records a person, --expert a policy; pass one of them")
        if vecnormalize is not None:
            raise UsageError("record: --vecnormalize applies to an expert's inputs, not to --human")
        from gailctl.rl.human import check_display, check_keymap

        check_keymap(cfg)  # a bad key map and a missing display are refused before any run folder exists
        check_display()
        cfg = cfg.model_copy(update={"record": cfg.record.model_copy(update={"expert": None})})
        run_dir, summary = _run_stage("record", cfg, runs_dir=runs_dir, human=True)
        source = f"played by a person ({summary['n_discarded']} discarded"
        source += f", stopped by {summary['stopped_by']})" if summary["stopped_by"] else ")"
    else:
        expert_zip = _input_path(expert, cfg.record.expert, command="record", flag="--expert RUN_OR_ZIP", key="record.expert",
                                 what="expert", resolve=resolve_policy_zip)
        cfg = _with_path(cfg, "record", "expert", expert_zip)
        stats_file = None
        if vecnormalize is not None or cfg.record.vecnormalize is not None:
            stats_file = _input_path(vecnormalize, cfg.record.vecnormalize, command="record", flag="--vecnormalize FILE",
                                     key="record.vecnormalize", what="statistics", resolve=resolve_stats_file)
            cfg = _with_path(cfg, "record", "vecnormalize", stats_file)
        run_dir, summary = _run_stage("record", cfg, runs_dir=runs_dir, expert_zip=expert_zip, stats_file=stats_file)
        source = f"{'deterministic' if summary['deterministic'] else 'stochastic'} expert"
    d = summary["demos"]
    _finish(run_dir, [
        f"recorded {d['n_traj']} episodes, {d['n_transitions']} transitions ({source})",
        f"return mean {d['return_mean']:.1f} std {d['return_std']:.1f} min {d['return_min']:.1f} max {d['return_max']:.1f}; "
        f"length mean {d['len_mean']:.1f} min {d['len_min']:.0f} max {d['len_max']:.0f}"
        + (f"; {_normalized(d['normalized_return_mean'])}" if _known(d["normalized_return_mean"]) else ""),
        f"demonstrations: {run_dir / 'demos'}",
    ])


@app.command()
@_boundary
def gail(
    config: ConfigOpt = None,
    demos: Annotated[Optional[Path], typer.Option("--demos", help="Record run folder or demonstrations folder (default: gail.demos in the config).", show_default=False)] = None,
    set_: SetOpt = None,
    seed: SeedOpt = None,
    runs_dir: RunsDirOpt = Path("runs"),
    resume: ResumeOpt = None,
    allow_env_mismatch: AllowEnvMismatchOpt = False,
) -> None:
    """Run GAIL (imitation's trainer) on demonstrations; per-round metrics and checkpoints."""
    if resume is not None:
        _refuse_with_resume(config=config, set_=set_, seed=seed, demos=demos, **{"allow-env-mismatch": allow_env_mismatch or None})
        cfg = _resume_config(resume, "gail")
    else:
        cfg = _config(config, set_, seed)
    demos_dir = _input_path(demos, cfg.gail.demos, command="gail", flag="--demos RUN_OR_DIR", key="gail.demos",
                            what="demonstrations", resolve=resolve_demos_dir)
    if resume is None:  # a resumed run took its demonstrations when it started
        _check_demos_env(demos_dir, cfg, given=demos, key="gail.demos", allow=allow_env_mismatch)
        cfg = _with_path(cfg, "gail", "demos", demos_dir)
    run_dir, summary = _run_stage("gail", cfg, runs_dir=runs_dir, resume=resume, demos_dir=demos_dir)
    final = summary["final"]
    _finish(run_dir, [
        f"{cfg.gail.algorithm}: {plural(summary['n_rounds'], 'round')}, {summary['n_env_steps']} env steps in {summary['wall_s']:.0f} s "
        f"on {summary['n_demo_trajectories']} demonstrations",
        f"generator true return {final['return_mean']:.1f} ± {final['return_std']:.1f}"
        + _notes(_normalized(final["normalized_score"]), "last evaluation", f"{summary['eval_episodes']} episodes"),
        *(f"final, {mode}, {summary['final_eval']['episodes']} episodes: return {s['return_mean']:.1f} ± {s['return_std']:.1f}"
          + _notes(_normalized(s["normalized_score"])) for mode, s in summary.get("final_eval", {}).items() if mode != "episodes"),
    ])


@app.command()
@_boundary
def bc(
    config: ConfigOpt = None,
    demos: Annotated[Optional[Path], typer.Option("--demos", help="Record run folder or demonstrations folder (default: bc.demos, then gail.demos).", show_default=False)] = None,
    set_: SetOpt = None,
    seed: SeedOpt = None,
    runs_dir: RunsDirOpt = Path("runs"),
    allow_env_mismatch: AllowEnvMismatchOpt = False,
) -> None:
    """Behavioural cloning (imitation's BC) on demonstrations: the baseline GAIL is compared with."""
    cfg = _config(config, set_, seed)
    key = "bc.demos" if cfg.bc.demos or not cfg.gail.demos else "gail.demos"
    demos_dir = _input_path(demos, cfg.bc.demos or cfg.gail.demos, command="bc", flag="--demos RUN_OR_DIR", key=key,
                            what="demonstrations", resolve=resolve_demos_dir)
    _check_demos_env(demos_dir, cfg, given=demos, key=key, allow=allow_env_mismatch)
    cfg = _with_path(cfg, "bc", "demos", demos_dir)
    run_dir, summary = _run_stage("bc", cfg, runs_dir=runs_dir, demos_dir=demos_dir)
    final = summary["final"]
    _finish(run_dir, [
        f"bc: {cfg.bc.n_epochs} epochs on {summary['n_demo_trajectories']} demonstrations in {summary['wall_s']:.0f} s",
        f"return {final['return_mean']:.1f} ± {final['return_std']:.1f}"
        + _notes(_normalized(final["normalized_score"]), f"{summary['eval_episodes']} episodes"),
    ])


def _eval_config(target: Path, config: Optional[Path], overrides: list[str], flags: dict[str, str]) -> Config:
    """-c wins; otherwise the config.yaml of the run folder the policy comes from."""
    if config is not None:
        _check_config_exists(config)
        return load_config(config, overrides, flags=flags)
    for folder in [target, *target.parents][:4]:
        if is_run_dir(folder):
            return load_config(folder / "config.yaml", overrides, flags=flags, recorded=True)
    raise UsageError(f"eval {target}: not inside a gailctl run folder, so pass -c CONFIG to say which env it plays")


@app.command(name="eval")
@_boundary
def eval_(
    target: Annotated[Path, typer.Argument(metavar="RUN_OR_ZIP", help="Run folder (expert or gail), SB3 .zip, or `random` for a uniform-random policy.", show_default=False)],
    config: ConfigOpt = None,
    episodes: Annotated[Optional[int], typer.Option("--episodes", "-n", help="Episodes to score (default: eval.episodes).", show_default=False)] = None,
    render: Annotated[bool, typer.Option("--render", help="Show the policy: a window if there is a display, else a video in the run folder.")] = False,
    video: Annotated[Optional[Path], typer.Option("--video", help="Write a video of the policy to FILE (.mp4 or .gif).", show_default=False)] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the --video FILE if it exists (without this, an existing file is refused).")] = False,
    deterministic: Annotated[Optional[bool], typer.Option("--deterministic/--stochastic", help="Argmax actions or samples (default: eval.deterministic).", show_default=False)] = None,
    set_: SetOpt = None,
    seed: SeedOpt = None,
    runs_dir: RunsDirOpt = Path("runs"),
) -> None:
    """Score a saved policy over N episodes; --render shows it, --video films it."""
    items, flags = _shortcuts(episodes=("-n/--episodes", "eval.episodes", episodes),
                              deterministic=("--deterministic/--stochastic", "eval.deterministic", deterministic),
                              seed=("--seed", "seed", seed))
    extra = [*(set_ or []), *items]
    is_random = str(target) == RANDOM_POLICY and not target.exists()
    if not is_random:
        from gailctl.report.inspect_runs import refuse_experiment_folder

        refuse_experiment_folder(target, command="eval")
    policy_zip = None if is_random else resolve_policy_zip(target, flag="eval")
    cfg = _eval_config(target, config, extra, flags)
    from gailctl.rl.render import check_video_path

    if video is not None:
        video = check_video_path(video, overwrite=overwrite)
    run_dir, s = _run_stage("eval", cfg, runs_dir=runs_dir, policy_zip=policy_zip, render=render, video=video)
    _print_eval_table(s)
    lines = []
    if s.get("rendered", {}).get("mode") == "video":
        lines.append(f"video: {s['rendered']['video']}")
    _finish(run_dir, lines)


def _print_eval_table(s: dict[str, Any]) -> None:
    from rich.table import Table

    from gailctl.core.ui import results

    table = Table(title=f"{s['env_id']}: {Path(s['policy']).name}")
    for col in ("episodes", "policy actions", "return mean ± std", "min / max", "length", "normalized score"):
        table.add_column(col, justify="right")
    table.add_row(
        str(s["episodes"]),
        "uniform random" if s["policy"] == RANDOM_POLICY else "deterministic" if s["deterministic"] else "stochastic",
        f"{s['return_mean']:.2f} ± {s['return_std']:.2f}",
        f"{s['return_min']:.1f} / {s['return_max']:.1f}",
        f"{s['episode_len_mean']:.1f}",
        _fmt(s["normalized_score"]) + ("" if s["normalized_score"] is not None else " (no references in config)"),
    )
    results.print(table)


def _print_tables(tables: Any) -> None:
    """Result tables on stdout: the terminal's width, or 120 columns when piped (not 1000)."""
    from gailctl.core.ui import results

    for table in tables if isinstance(tables, list) else [tables]:
        results.print(table, width=None if results.is_terminal else PIPED_WIDTH)


PIPED_WIDTH = 120
"""Columns of `runs` and `compare` tables written to a pipe or a file."""
_STAGES_HELP = "expert, record, gail (GAIL and AIRL runs), airl (AIRL runs only), bc, eval, sweep, bench, tune"
_STATUSES_HELP = "running, finished, interrupted, failed, stale, unknown"


@app.command()
@_boundary
def runs(
    runs_dir: Annotated[Path, typer.Argument(metavar="RUNS_DIR", help="Folder of run folders.")] = Path("runs"),
    stage: Annotated[Optional[str], typer.Option("--stage", help=f"Only this stage: {_STAGES_HELP}.", show_default=False)] = None,
    env: Annotated[Optional[str], typer.Option("--env", help="Only envs matching this (case-insensitive substring).", show_default=False)] = None,
    status: Annotated[Optional[str], typer.Option("--status", help=f"Only this status: {_STATUSES_HELP}.", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON list on stdout, for scripts.")] = False,
) -> None:
    """List runs: status, env steps, the final evaluation's return and normalized score (argmax, sampled), age."""
    import json

    from gailctl.report.inspect_runs import list_runs
    from gailctl.report.run_tables import render_runs_table

    found = list_runs(runs_dir, stage=stage, env=env, status=status)
    if as_json:
        typer.echo(json.dumps([r.to_json() for r in found], indent=2))
    else:
        _print_tables(render_runs_table(found, root=runs_dir))


@app.command()
@_boundary
def plot(
    run_dirs: Annotated[list[Path], typer.Argument(metavar="RUN...", help="Run folders to draw; a sweep, tune or bench folder draws all its trials, grouped.", show_default=False)],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="PNG to write (default: curves.png in the working directory, or curves_2.png... if taken).", show_default=False)] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the --out FILE if it exists (without this, an existing file is refused).")] = False,
    y: Annotated[str, typer.Option("--y", help="auto (normalized score when the config has references, else return), or a metrics.csv column.")] = "auto",
    group: Annotated[bool, typer.Option("--group", help="Runs whose configs differ only in seed become one mean line with a band.")] = False,
) -> None:
    """Learning curves from metrics.csv (GAIL runs also get discriminator panels)."""
    from gailctl.report.inspect_runs import plot_runs
    from gailctl.core.outputs import free_name, output_file

    if out is not None:
        target = output_file(out, flag="--out", suffixes=(".png",), overwrite=overwrite)
    else:
        target = free_name(Path("curves.png"))
    typer.echo(str(plot_runs(run_dirs, target, y=y, group=group)))


@app.command()
@_boundary
def compare(
    run_dirs: Annotated[list[Path], typer.Argument(metavar="RUN...", help="Run folders to compare; a sweep, tune or bench folder stands for its trials.", show_default=False)],
) -> None:
    """Final evaluations side by side, then the config keys that differ between the runs."""
    from gailctl.report.inspect_runs import compare_runs
    from gailctl.report.run_tables import render_compare_table

    _print_tables(render_compare_table(*compare_runs(run_dirs)))


@app.command()
@_boundary
def sweep(
    config: ConfigOpt = None,
    stage: Annotated[Optional[str], typer.Option("--stage", help="The stage every trial runs: expert, gail or bc (required).", show_default=False)] = None,
    seeds: Annotated[str, typer.Option("--seeds", help="Seeds: a range 0-4, a list 0,2,5, or one seed.")] = "0",
    set_: SetOpt = None,
    grid: Annotated[
        Optional[list[str]],
        typer.Option("--grid", help="Values to sweep: KEY=V1,V2,... (YAML values, e.g. gail.disc_lr=0.001,0.0003). "
                     "Repeatable; every combination runs with every seed.", show_default=False),
    ] = None,
    demos: Annotated[Optional[Path], typer.Option("--demos", help="(gail, bc) Record run folder or demonstrations folder (default: gail.demos in the config).", show_default=False)] = None,
    address: Annotated[Optional[str], typer.Option("--address", help="Join this running Ray cluster (e.g. auto) instead of starting an embedded one.", show_default=False)] = None,
    max_concurrent: Annotated[Optional[int], typer.Option("--max-concurrent", help="Trials at a time (default: the Ray cluster's CPUs).", show_default=False)] = None,
    runs_dir: RunsDirOpt = Path("runs"),
    allow_env_mismatch: AllowEnvMismatchOpt = False,
) -> None:
    """Run a stage over seeds and a grid of settings on Ray Tune; one table and one plot for all trials."""
    from gailctl.experiments.sweep import render_sweep_tables, run_sweep
    from gailctl.core.ui import results

    outcome = run_sweep(stage=stage, config_path=config, seeds=seeds, overrides=list(set_ or []), grid=list(grid or []),
                        demos=demos, runs_dir=runs_dir, address=address, max_concurrent=max_concurrent,
                        allow_env_mismatch=allow_env_mismatch)
    for table in render_sweep_tables(outcome):
        results.print(table)
    _finish(outcome.sweep_dir, [outcome.summary_line()])
    outcome.raise_if_incomplete()


@app.command()
@_boundary
def bench(
    configs: Annotated[Optional[list[Path]], typer.Option("--config", "-c", help="A config file or shipped config name to benchmark (repeatable; default: the four shipped classic-control configs).", show_default=False, callback=_named_configs, autocompletion=_complete_config)] = None,
    seeds: Annotated[str, typer.Option("--seeds", help="Seeds, e.g. 0-4 or 0,2,5.")] = "0-4",
    n_demos: Annotated[Optional[str], typer.Option("--n-demos", help="Numbers of demonstration trajectories, e.g. 1,4,10 (default: each config's gail.n_demos).", show_default=False)] = None,
    quick: Annotated[bool, typer.Option("--quick", help="A first look: seeds 0-1 and a third of each GAIL budget.")] = False,
    with_bc: Annotated[bool, typer.Option("--bc/--no-bc", help="Behavioural cloning on the same demonstrations, as the GAIL paper's baseline.")] = True,
    throughput: Annotated[bool, typer.Option("--throughput/--no-throughput", help="First measure GAIL's env steps/s against plain PPO's, alone on the machine.")] = True,
    set_: SetOpt = None,
    address: Annotated[Optional[str], typer.Option("--address", help="Join this Ray cluster instead of starting one.", show_default=False)] = None,
    max_concurrent: Annotated[Optional[int], typer.Option("--max-concurrent", help="Trials at a time (default: one per CPU).", show_default=False)] = None,
    runs_dir: RunsDirOpt = Path("runs"),
    allow_env_mismatch: AllowEnvMismatchOpt = False,
) -> None:
    """Benchmark GAIL (and BC) over configs x seeds x numbers of demonstrations: table, CSV, curves."""
    from gailctl.experiments.bench import DEFAULT_CONFIGS, QUICK_SEEDS, BenchPlan, parse_n_demos, run_bench
    from gailctl.experiments.sweep import require_ray

    plan = BenchPlan(
        configs=tuple(Path(c) for c in (configs or _named_configs([Path(n) for n in DEFAULT_CONFIGS]))),
        seeds=QUICK_SEEDS if quick and seeds == "0-4" else seeds,
        n_demos=parse_n_demos(n_demos),
        quick=quick,
        with_bc=with_bc,
        overrides=tuple(set_ or []),
        allow_env_mismatch=allow_env_mismatch,
    )
    require_ray()
    bench_dir, summary = run_bench(plan, runs_dir=runs_dir, address=address, max_concurrent=max_concurrent, throughput=throughput)
    from gailctl.core.ui import results

    results.print((bench_dir / "results.md").read_text(encoding="utf-8"), markup=False, highlight=False)
    _finish(bench_dir, [])
    if summary["n_failed"]:
        raise GailctlError(f"{summary['n_failed']} of {summary['n_trials']} trial(s) failed; see {bench_dir / 'summary.json'}")


@app.command()
@_boundary
def tune(
    config: ConfigOpt = None,
    space: Annotated[Optional[Path], typer.Option("--space", help="Search space YAML: dotted config keys -> distributions, and the objective; or the name of a shipped one (configs/tune/).", show_default=False, callback=_named_space, autocompletion=_complete_space)] = None,
    trials: Annotated[Optional[int], typer.Option("--trials", help="Trials the study should have in all (default 20; with --resume, the study's own).", show_default=False)] = None,
    seeds: Annotated[Optional[str], typer.Option("--seeds", help="Seeds every trial runs: a range 0-2, a list 0,2,5 (default 0-2).", show_default=False)] = None,
    set_: SetOpt = None,
    demos: Annotated[Optional[Path], typer.Option("--demos", help="Record run folder or demonstrations folder (default: gail.demos in the config).", show_default=False)] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", help="Seeds run at a time, one process each (default: one per seed, at most one per core).", show_default=False)] = None,
    sampler_seed: Annotated[Optional[int], typer.Option("--sampler-seed", help="Seed of Optuna's TPE sampler (default 0).", show_default=False)] = None,
    resume: Annotated[Optional[Path], typer.Option("--resume", help="Continue the study in this tune folder, with its own config, space and seeds.", show_default=False)] = None,
    runs_dir: RunsDirOpt = Path("runs"),
) -> None:
    """Tune config values with Optuna: every trial runs gail over the seeds; best.yaml keeps the winner."""
    from gailctl.experiments.tune import render_tune_table, run_tune
    from gailctl.core.ui import results

    outcome = run_tune(config_path=config, space_path=space, n_trials=trials, seeds=seeds, overrides=list(set_ or []), demos=demos,
                       workers=workers, sampler_seed=sampler_seed, resume=resume, runs_dir=runs_dir)
    results.print(render_tune_table(outcome))
    _finish(outcome.tune_dir, [outcome.summary_line()])
    outcome.raise_if_incomplete()


configs_app = typer.Typer(help="The configs that ship with gailctl: list them, or print one to copy and edit.",
                          invoke_without_command=True, no_args_is_help=False)
app.add_typer(configs_app, name="configs")


@configs_app.callback()
@_boundary
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
@_boundary
def configs_show(
    name: Annotated[str, typer.Argument(metavar="NAME", help="A shipped config (see `gailctl configs`).", autocompletion=_complete_config, show_default=False)],
) -> None:
    """Print a shipped config, its paths made absolute, so a copy runs from anywhere: gailctl configs show cartpole > my.yaml"""
    path = shipped.shipped_config(name)
    if path is None:
        raise UsageError(f"configs show {name}: no shipped config of that name; expected one of: {', '.join(shipped.config_names())}")
    typer.echo(shipped.text_with_absolute_paths(path), nl=False)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
