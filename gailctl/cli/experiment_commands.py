"""The commands that run many trials: sweep, bench, tune (`gailctl.experiments`, on Ray Tune or Optuna).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from gailctl.cli.base import (
    AllowEnvMismatchOpt,
    app,
    boundary,
    complete_config,
    complete_space,
    ConfigOpt,
    finish,
    named_configs,
    named_space,
    RunsDirOpt,
    SetOpt,
    TrialsTrackOpt,
)
from gailctl.core.demo_sources import DEMOS_HELP, DEMOS_METAVAR
from gailctl.core.errors import UsageError
from gailctl.core.tracking import check_tracker
from gailctl.experiments import DEFAULT_MAX_FAILURES

MaxFailuresOpt = Annotated[int, typer.Option(
    "--max-failures", metavar="N",
    help="How often Ray starts a trial again after its worker died (killed, out of memory, its node lost); the trial "
         "goes on from its last checkpoint. A trial that fails on its own (a bad config) is not retried. 0: never.")]


@app.command()
@boundary
def sweep(
    config: ConfigOpt = None,
    stage: Annotated[Optional[str], typer.Option("--stage", help="The stage every trial runs: expert, gail or bc (required).", show_default=False)] = None,
    seeds: Annotated[str, typer.Option("--seeds", help="Seeds: a range 0-4, a list 0,2,5, or one seed.")] = "0",
    set_: SetOpt = None,
    grid: Annotated[
        Optional[list[str]],
        typer.Option("--grid", metavar="KEY=V1,V2,...", help="Values to sweep: KEY=V1,V2,... (YAML values, e.g. gail.disc_lr=0.001,0.0003). "
                     "Repeatable; every combination runs with every seed.", show_default=False),
    ] = None,
    demos: Annotated[Optional[str], typer.Option("--demos", metavar=DEMOS_METAVAR, help=f"(gail, bc) {DEMOS_HELP} (default: gail.demos in the config).", show_default=False)] = None,
    address: Annotated[Optional[str], typer.Option("--address", help="Join this running Ray cluster (e.g. auto) instead of starting an embedded one.", show_default=False)] = None,
    max_concurrent: Annotated[Optional[int], typer.Option("--max-concurrent", help="Trials at a time (default: the Ray cluster's CPUs).", show_default=False)] = None,
    max_failures: MaxFailuresOpt = DEFAULT_MAX_FAILURES,
    runs_dir: RunsDirOpt = Path("runs"),
    allow_env_mismatch: AllowEnvMismatchOpt = False,
    resume: Annotated[Optional[Path], typer.Option("--resume", help="Continue this stopped sweep in its own folder: the finished trials are kept, stopped gail and expert trials go on from their last checkpoint, the others run again from the start.", show_default=False)] = None,
    track: TrialsTrackOpt = None,
) -> None:
    """Run a stage over seeds and a grid of settings on Ray Tune; one table and one plot for all trials."""
    from gailctl.experiments.sweep import resume_sweep, run_sweep
    from gailctl.experiments.sweep_outputs import render_sweep_tables
    from gailctl.core.ui import results

    track = check_tracker(track)
    if resume is not None:
        given = [flag for flag, value in (("-c", config), ("--stage", stage), ("--seeds", seeds != "0"), ("--set", set_),
                                          ("--grid", grid), ("--demos", demos), ("--allow-env-mismatch", allow_env_mismatch))
                 if value]
        if given:
            raise UsageError(f"--resume continues a sweep with its own settings: drop {', '.join(given)}")
        outcome = resume_sweep(resume, address=address, max_concurrent=max_concurrent, max_failures=max_failures, track=track)
    else:
        outcome = run_sweep(stage=stage, config_path=config, seeds=seeds, overrides=list(set_ or []), grid=list(grid or []),
                            demos=demos, runs_dir=runs_dir, address=address, max_concurrent=max_concurrent,
                            max_failures=max_failures, allow_env_mismatch=allow_env_mismatch, track=track)
    for table in render_sweep_tables(outcome):
        results.print(table)
    finish(outcome.sweep_dir, [outcome.summary_line()])
    outcome.raise_if_incomplete()


@app.command()
@boundary
def bench(
    configs: Annotated[Optional[list[Path]], typer.Option("--config", "-c", metavar="<path>", help="A config file or shipped config name to benchmark (repeatable; default: --suite classic).", show_default=False, callback=named_configs, autocompletion=complete_config)] = None,
    suite: Annotated[Optional[str], typer.Option("--suite", help="A named list of shipped configs: classic (cartpole, acrobot, mountaincar, pendulum) or mujoco (hopper, halfcheetah, walker2d, swimmer, ant).", show_default=False)] = None,
    seeds: Annotated[str, typer.Option("--seeds", help="Seeds, e.g. 0-4 or 0,2,5.")] = "0-4",
    n_demos: Annotated[Optional[str], typer.Option("--n-demos", help="Numbers of demonstration trajectories, e.g. 1,4,10 (default: each config's gail.n_demos).", show_default=False)] = None,
    quick: Annotated[bool, typer.Option("--quick", help="A first look: seeds 0-1, each config's smallest demonstration count (unless --n-demos), each config's bench.quick_budget of its GAIL budget (a third unless it says), 10 final evaluation episodes.")] = False,
    with_bc: Annotated[bool, typer.Option("--bc/--no-bc", help="Behavioural cloning on the same demonstrations, as the GAIL paper's baseline.")] = True,
    throughput: Annotated[bool, typer.Option("--throughput/--no-throughput", help="First measure GAIL's env steps/s against plain PPO's, before any trial; the report states other processes' load meanwhile.")] = True,
    throughput_only: Annotated[bool, typer.Option("--throughput-only", help="Only that measurement, no trials (--quick: one repeat instead of three).")] = False,
    demos: Annotated[Optional[str], typer.Option("--demos", metavar=DEMOS_METAVAR, help=f"{DEMOS_HELP}, for GAIL and BC in every config (default: each config's gail.demos).", show_default=False)] = None,
    set_: SetOpt = None,
    address: Annotated[Optional[str], typer.Option("--address", help="Join this Ray cluster instead of starting one.", show_default=False)] = None,
    max_concurrent: Annotated[Optional[int], typer.Option("--max-concurrent", help="Trials at a time (default: one per CPU).", show_default=False)] = None,
    max_failures: MaxFailuresOpt = DEFAULT_MAX_FAILURES,
    runs_dir: RunsDirOpt = Path("runs"),
    allow_env_mismatch: AllowEnvMismatchOpt = False,
    resume: Annotated[Optional[Path], typer.Option("--resume", help="Continue this stopped bench in its own folder: the finished trials are kept, stopped GAIL trials continue from their last checkpoint, the others run again from the start.", show_default=False)] = None,
    track: TrialsTrackOpt = None,
) -> None:
    """Benchmark GAIL (and BC) over configs x seeds x numbers of demonstrations: table, CSV, curves."""
    from gailctl.experiments.bench import QUICK_SEEDS, BenchPlan, parse_n_demos, resume_bench, run_bench, suite_configs
    from gailctl.experiments.ray_session import require_ray

    track = check_tracker(track)
    if resume is not None:
        given = [flag for flag, value in (("-c", configs), ("--suite", suite), ("--seeds", seeds != "0-4"), ("--n-demos", n_demos),
                                          ("--quick", quick), ("--no-bc", not with_bc), ("--no-throughput", not throughput),
                                          ("--throughput-only", throughput_only), ("--demos", demos), ("--set", set_),
                                          ("--allow-env-mismatch", allow_env_mismatch))
                 if value]
        if given:
            raise UsageError(f"--resume continues a bench with its own settings: drop {', '.join(given)}")
        require_ray()
        bench_dir, summary = resume_bench(resume, address=address, max_concurrent=max_concurrent, max_failures=max_failures,
                                          track=track)
        _report_bench(bench_dir, summary)
        return
    if throughput_only and not throughput:
        raise UsageError("--throughput-only and --no-throughput: give one of them")
    suite_name, names = suite_configs(suite, configs)
    plan = BenchPlan(
        configs=tuple(Path(c) for c in (configs or named_configs([Path(n) for n in names]))),
        suite=suite_name,
        seeds=QUICK_SEEDS if quick and seeds == "0-4" else seeds,
        n_demos=parse_n_demos(n_demos),
        quick=quick,
        with_bc=with_bc,
        overrides=(*(set_ or []), *demos_overrides(demos, set_)),
        allow_env_mismatch=allow_env_mismatch,
    )
    if not throughput_only:
        require_ray()
    bench_dir, summary = run_bench(plan, runs_dir=runs_dir, address=address, max_concurrent=max_concurrent, max_failures=max_failures,
                                   throughput=throughput, trials=not throughput_only, track=track)
    _report_bench(bench_dir, summary)


def demos_overrides(demos: Optional[str], given: Optional[list[str]]) -> list[str]:
    """bench --demos: the same demonstrations for GAIL and BC in every config, as `--set` items."""
    if demos is None:
        return []
    clash = [item.partition("=")[0].strip() for item in given or [] if item.partition("=")[0].strip() in ("gail.demos", "bc.demos")]
    if clash:
        raise UsageError(f"--demos and --set {clash[0]}: give the demonstrations once")
    return [f"gail.demos={demos}", f"bc.demos={demos}"]


def _report_bench(bench_dir: Path, summary: dict[str, Any]) -> None:
    """The table on stdout, the folder, then the exit: 1 if a trial failed, 130 if interrupted."""
    from gailctl.core.ui import results
    from gailctl.experiments.bench import bench_outcome_error

    results.print((bench_dir / "results.md").read_text(encoding="utf-8"), markup=False, highlight=False)
    finish(bench_dir, [])
    if (error := bench_outcome_error(summary, bench_dir)) is not None:
        raise error


@app.command()
@boundary
def tune(
    config: ConfigOpt = None,
    space: Annotated[Optional[Path], typer.Option("--space", help="Search space YAML: dotted config keys -> distributions, and the objective; or the name of a shipped one (configs/tune/).", show_default=False, callback=named_space, autocompletion=complete_space)] = None,
    trials: Annotated[Optional[int], typer.Option("--trials", help="Trials the study should have in all (default 20; with --resume, the study's own).", show_default=False)] = None,
    seeds: Annotated[Optional[str], typer.Option("--seeds", help="Seeds every trial runs: a range 0-2, a list 0,2,5 (default 0-2).", show_default=False)] = None,
    set_: SetOpt = None,
    demos: Annotated[Optional[str], typer.Option("--demos", metavar=DEMOS_METAVAR, help=f"{DEMOS_HELP} (default: gail.demos in the config).", show_default=False)] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", help="Trials at a time on Ray, one CPU each; a trial runs its seeds one after another (default: one per CPU of the Ray cluster).", show_default=False)] = None,
    sampler_seed: Annotated[Optional[int], typer.Option("--sampler-seed", help="Seed of Optuna's TPE sampler (default 0).", show_default=False)] = None,
    resume: Annotated[Optional[Path], typer.Option("--resume", help="Continue the study in this tune folder, with its own config, space and seeds.", show_default=False)] = None,
    address: Annotated[Optional[str], typer.Option("--address", help="Join this running Ray cluster (e.g. auto) instead of starting an embedded one.", show_default=False)] = None,
    max_failures: MaxFailuresOpt = DEFAULT_MAX_FAILURES,
    runs_dir: RunsDirOpt = Path("runs"),
    track: TrialsTrackOpt = None,
) -> None:
    """Tune config values with Optuna's TPE on Ray Tune: every trial runs gail over the seeds; best.yaml keeps the winner."""
    from gailctl.experiments.tune import run_tune
    from gailctl.experiments.tune_outputs import render_tune_table
    from gailctl.core.ui import results

    track = check_tracker(track)
    outcome = run_tune(config_path=config, space_path=space, n_trials=trials, seeds=seeds, overrides=list(set_ or []), demos=demos,
                       workers=workers, sampler_seed=sampler_seed, resume=resume, runs_dir=runs_dir, address=address,
                       max_failures=max_failures, track=track)
    results.print(render_tune_table(outcome))
    finish(outcome.tune_dir, [outcome.summary_line()])
    outcome.raise_if_incomplete()
