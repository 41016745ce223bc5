"""The commands that run one stage: expert, record, gail, bc, dagger, eval.

Each parses its options into a validated config, resolves its inputs (expert, demonstrations,
policy) to absolute paths, runs the stage through `gailctl.core.execution.execute`, and
prints a short summary with the run folder as the last line of stdout.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from gailctl.cli.base import (
    AllowEnvMismatchOpt,
    app,
    boundary,
    check_config_exists,
    config_from_options,
    ConfigOpt,
    finish,
    fmt,
    known,
    normalized,
    notes,
    ResumeOpt,
    RunsDirOpt,
    SeedOpt,
    SetOpt,
    TrackOpt,
    shortcuts,
)
from gailctl.cli.stage_inputs import (
    check_demos_env,
    demos_source,
    input_path,
    refuse_with_resume,
    resume_config,
    with_path,
)
from gailctl.core.errors import UsageError
from gailctl.core.tracking import check_tracker
from gailctl.core.demo_sources import DEMOS_HELP, DEMOS_METAVAR
from gailctl.core.runs import resolve_policy_zip, resolve_stats_file
from gailctl.report.run_scores import plural

if TYPE_CHECKING:
    from gailctl.core.config import Config


RANDOM_POLICY = "random"
"""`gailctl eval random -c CONFIG`: score uniform random actions (the normalized score's 0)."""



def _run_stage(stage: str, cfg: Config, *, runs_dir: Path, resume: Optional[Path] = None,
               inputs: Optional[dict[str, Any]] = None, track: Optional[str] = None, **kwargs: Any) -> tuple[Path, dict[str, Any]]:
    """Import the stage (torch and friends load here, after the config validated) and execute it;
    with `track`, send the finished run to that tracker (`core.tracking`).

    `inputs`: what the command line gave, as typed, added to the run's summary.json.
    """
    from gailctl.core import execution
    from gailctl.rl.env.make import check_env_id
    from gailctl.stages import stage_run

    check_env_id(cfg.env.id)
    if resume is not None:
        kwargs["resume_dir"] = resume
    if inputs:
        kwargs["inputs"] = inputs
    run_dir, summary = execution.execute(stage, stage_run(stage), cfg, runs_dir=runs_dir, **kwargs)
    if track is not None:
        _track(run_dir, track)
    return run_dir, summary


def _track(run_dir: Path, tracker: str) -> None:
    """`--track`: the finished run to MLflow or W&B; a tracker that fails is a warning, the run folder stays."""
    from gailctl.core.tracking import send_run

    typer.echo(send_run(run_dir, tracker)[1], err=True)


@app.command()
@boundary
def expert(
    config: ConfigOpt = None,
    set_: SetOpt = None,
    seed: SeedOpt = None,
    runs_dir: RunsDirOpt = Path("runs"),
    track: TrackOpt = None,
    resume: ResumeOpt = None,
) -> None:
    """Train a PPO expert: periodic evaluation, checkpoints, metrics, a final SB3 model.zip."""
    if resume is not None:
        refuse_with_resume(config=config, set_=set_, seed=seed)
        cfg = resume_config(resume, "expert")
    else:
        cfg = config_from_options(config, set_, seed)
    run_dir, summary = _run_stage("expert", cfg, runs_dir=runs_dir, resume=resume, track=check_tracker(track))
    final = summary["final"]
    finish(run_dir, [
        f"expert: {summary['n_env_steps']} env steps in {summary['wall_s']:.0f} s; final return "
        f"{final['return_mean']:.1f} ± {final['return_std']:.1f}"
        f"{notes(normalized(final['normalized_score']), summary.get('eval_episodes') and plural(summary['eval_episodes'], 'episode'))}; "
        f"best {summary['best']['return_mean']:.1f} at {summary['best']['n_env_steps']} steps"
        + (f" ({summary['best']['note']})" if summary["best"].get("note") else ""),
    ])


@app.command()
@boundary
def record(
    config: ConfigOpt = None,
    expert: Annotated[Optional[Path], typer.Option("--expert", help="Expert run folder, SB3 .zip, Hub-layout folder (ALGO-ENV.zip [+ vec_normalize.pkl]) or hf:ORG/REPO from the local Hugging Face cache (default: record.expert in the config).", show_default=False)] = None,
    episodes: Annotated[Optional[int], typer.Option("--episodes", "-n", help="Shortcut for --set record.n_episodes=N.", show_default=False)] = None,
    min_upright_share: Annotated[Optional[float], typer.Option(
        "--min-upright-share", metavar="SHARE", show_default=False,
        help="Locomotion tasks: keep only episodes upright for at least this share of their steps, rolling out until "
             "-n are kept (shortcut for --set record.min_upright_share=SHARE).")] = None,
    vecnormalize: Annotated[Optional[Path], typer.Option(
        "--vecnormalize", metavar="FILE", show_default=False,
        help="VecNormalize statistics of an expert trained behind it (VecNormalize.save's .pkl, read by a restricted "
             "unpickler, or a checkpoint's vecnormalize.pt): the policy sees normalised observations, the demos stay raw "
             "(default: record.vecnormalize).")] = None,
    human: Annotated[bool, typer.Option("--human", help="You play: a window, the keyboard drives the task (keys: record.human in the config).")] = False,
    format_: Annotated[str, typer.Option("--format", metavar="imitation|minari", help="minari: also write the demonstrations as a new dataset in the local Minari store (needs --dataset-id); the run folder always holds them in imitation's format.")] = "imitation",
    dataset_id: Annotated[Optional[str], typer.Option("--dataset-id", metavar="ID", help="The Minari dataset id for --format minari, e.g. cartpole-expert-v0 (Minari's ENV-NAME-vN; never overwritten).", show_default=False)] = None,
    set_: SetOpt = None,
    seed: SeedOpt = None,
    runs_dir: RunsDirOpt = Path("runs"),
) -> None:
    """Roll out an expert (or, with --human, play yourself) and save demonstrations in imitation's format (and Minari's)."""
    minari_id = _minari_target(format_, dataset_id)
    cfg = config_from_options(config, set_, seed, episodes=("-n/--episodes", "record.n_episodes", episodes),
                              min_upright_share=("--min-upright-share", "record.min_upright_share", min_upright_share))
    if human:
        if expert is not None:
            raise UsageError("record: --human records a person, --expert a policy; pass one of them")
        if cfg.record.min_upright_share is not None:
            raise UsageError(f"record.min_upright_share = {cfg.record.min_upright_share}: filters an expert's episodes, "
                             "not --human ones (every finished episode a person plays is kept)")
        if vecnormalize is not None:
            raise UsageError("record: --vecnormalize applies to an expert's inputs, not to --human")
        from gailctl.rl.env.human import check_display, check_keymap

        check_keymap(cfg)  # a bad key map and a missing display are refused before any run folder exists
        check_display("record --human")
        cfg = cfg.model_copy(update={"record": cfg.record.model_copy(update={"expert": None})})
        run_dir, summary = _run_stage("record", cfg, runs_dir=runs_dir, human=True, minari_id=minari_id)
        source = (f"played by a person: {summary['ended']}; {summary['n_redone']} redone, "
                  f"{summary['n_ended_early']} ended once over")
    else:
        expert_zip = input_path(expert, cfg.record.expert, command="record", flag="--expert RUN_OR_ZIP", key="record.expert",
                                 what="expert", resolve=resolve_policy_zip)
        cfg = with_path(cfg, "record", "expert", expert_zip)
        stats_file = None
        if vecnormalize is not None or cfg.record.vecnormalize is not None:
            stats_file = input_path(vecnormalize, cfg.record.vecnormalize, command="record", flag="--vecnormalize FILE",
                                     key="record.vecnormalize", what="statistics", resolve=resolve_stats_file)
        else:
            from gailctl.core.hub_experts import hub_stats

            stats_file = hub_stats(expert_zip)  # a Hub-layout expert's own statistics (restricted unpickler)
        if stats_file is not None:
            cfg = with_path(cfg, "record", "vecnormalize", stats_file)
        run_dir, summary = _run_stage("record", cfg, runs_dir=runs_dir, expert_zip=expert_zip, stats_file=stats_file,
                                      minari_id=minari_id)
        source = f"{'deterministic' if summary['deterministic'] else 'stochastic'} expert"
    d = summary["demos"]
    finish(run_dir, [
        f"recorded {plural(d['n_traj'], 'episode')}, {d['n_transitions']} transitions ({source})",
        f"return mean {d['return_mean']:.1f} std {d['return_std']:.1f} min {d['return_min']:.1f} max {d['return_max']:.1f}; "
        f"length mean {d['len_mean']:.1f} min {d['len_min']:.0f} max {d['len_max']:.0f}"
        + (f"; {normalized(d['normalized_return_mean'])}" if known(d["normalized_return_mean"]) else ""),
        *_upright_lines(d, summary.get("upright_selection")),
        f"demonstrations: {run_dir / 'demos'}",
        *([f"Minari dataset: minari:{summary['minari_dataset']}"] if summary.get("minari_dataset") else []),
    ])


SHOWN_DROPPED = 10
"""Dropped episodes listed in record's summary line; all of them are in summary.json and metrics.csv."""


def _upright_lines(demos: dict[str, Any], selection: Optional[dict[str, Any]]) -> list[str]:
    """record's summary lines on standing: the kept episodes' upright share, and what min_upright_share dropped."""
    lines = []
    if demos.get("upright_share") is not None:
        lines.append(f"upright share mean {demos['upright_share']:.3f} min {demos['upright_share_min']:.3f}")
    if selection:
        pairs = list(zip(selection["dropped_returns"], selection["dropped_upright_shares"]))
        dropped = ", ".join(f"{r:.1f} ({u:.2f})" for r, u in pairs[:SHOWN_DROPPED])
        dropped += f", {len(pairs) - SHOWN_DROPPED} more in metrics.csv" if len(pairs) > SHOWN_DROPPED else ""
        lines.append(f"kept {selection['n_kept']} of {plural(selection['n_rolled_out'], 'episode')} rolled out "
                     f"(upright share >= {selection['min_upright_share']}); dropped {selection['n_dropped']}"
                     + (f": return (upright share) {dropped}" if dropped else "")
                     + (f"; {selection['n_unused']} more upright ones not needed" if selection.get("n_unused") else ""))
    return lines


RECORD_FORMATS = ("imitation", "minari")


def _minari_target(format_: str, dataset_id: Optional[str]) -> Optional[str]:
    """record --format/--dataset-id: the Minari id to write, checked before anything is recorded; None for imitation's only."""
    if format_ not in RECORD_FORMATS:
        raise UsageError(f"--format {format_}: record writes {' or '.join(RECORD_FORMATS)} "
                         "(`gailctl convert` writes npz and hdf5 from a record run)")
    if format_ == "imitation":
        if dataset_id is not None:
            raise UsageError("--dataset-id: names a Minari dataset; add --format minari")
        return None
    if dataset_id is None:
        raise UsageError("--format minari: needs --dataset-id ID, e.g. cartpole-expert-v0")
    from gailctl.rl.demo_formats.minari_io import check_dataset_id

    check_dataset_id(dataset_id)
    return dataset_id


@app.command()
@boundary
def gail(
    config: ConfigOpt = None,
    demos: Annotated[Optional[str], typer.Option("--demos", metavar=DEMOS_METAVAR, help=f"{DEMOS_HELP} (default: gail.demos in the config).", show_default=False)] = None,
    set_: SetOpt = None,
    seed: SeedOpt = None,
    runs_dir: RunsDirOpt = Path("runs"),
    track: TrackOpt = None,
    resume: ResumeOpt = None,
    allow_env_mismatch: AllowEnvMismatchOpt = False,
) -> None:
    """Run GAIL (imitation's trainer) on demonstrations; per-round metrics and checkpoints."""
    if resume is not None:
        refuse_with_resume(config=config, set_=set_, seed=seed, demos=demos, **{"allow-env-mismatch": allow_env_mismatch or None})
        cfg = resume_config(resume, "gail")
    else:
        cfg = config_from_options(config, set_, seed)
    source = demos_source(demos, cfg.gail.demos, command="gail", key="gail.demos")
    if resume is None:  # a resumed run took its demonstrations when it started
        check_demos_env(source, cfg, given=demos, key="gail.demos", allow=allow_env_mismatch)
        cfg = with_path(cfg, "gail", "demos", source)
    run_dir, summary = _run_stage("gail", cfg, runs_dir=runs_dir, resume=resume, demos=source, track=check_tracker(track))
    final = summary["final"]
    finish(run_dir, [
        f"{cfg.gail.algorithm}: {plural(summary['n_rounds'], 'round')}, {summary['n_env_steps']} env steps in {summary['wall_s']:.0f} s "
        f"on {summary['n_demo_trajectories']} demonstrations",
        f"generator true return {final['return_mean']:.1f} ± {final['return_std']:.1f}"
        + notes(normalized(final["normalized_score"]), "last evaluation", plural(summary['eval_episodes'], 'episode')),
        *(f"final, {mode}, {plural(summary['final_eval']['episodes'], 'episode')}: return {s['return_mean']:.1f} ± {s['return_std']:.1f}"
          + notes(normalized(s["normalized_score"])) for mode, s in summary.get("final_eval", {}).items() if mode != "episodes"),
        *(f"last iterate (policy_last_iterate.zip), {mode}: return {s['return_mean']:.1f} ± {s['return_std']:.1f}"
          + notes(normalized(s["normalized_score"])) for mode, s in (summary.get("last_iterate") or {}).items() if mode != "episodes"),
    ])


@app.command()
@boundary
def bc(
    config: ConfigOpt = None,
    demos: Annotated[Optional[str], typer.Option("--demos", metavar=DEMOS_METAVAR, help=f"{DEMOS_HELP} (default: bc.demos, then gail.demos).", show_default=False)] = None,
    set_: SetOpt = None,
    seed: SeedOpt = None,
    runs_dir: RunsDirOpt = Path("runs"),
    track: TrackOpt = None,
    allow_env_mismatch: AllowEnvMismatchOpt = False,
) -> None:
    """Behavioural cloning (imitation's BC) on demonstrations: the baseline GAIL is compared with."""
    cfg = config_from_options(config, set_, seed)
    key = "bc.demos" if cfg.bc.demos or not cfg.gail.demos else "gail.demos"
    source = demos_source(demos, cfg.bc.demos or cfg.gail.demos, command="bc", key=key)
    check_demos_env(source, cfg, given=demos, key=key, allow=allow_env_mismatch)
    cfg = with_path(cfg, "bc", "demos", source)
    run_dir, summary = _run_stage("bc", cfg, runs_dir=runs_dir, demos=source, track=check_tracker(track))
    final = summary["final"]
    finish(run_dir, [
        f"bc: {cfg.bc.n_epochs} epochs on {summary['n_demo_trajectories']} demonstrations in {summary['wall_s']:.0f} s",
        f"return {final['return_mean']:.1f} ± {final['return_std']:.1f}"
        + notes(normalized(final["normalized_score"]), plural(summary['eval_episodes'], 'episode')),
    ])


@app.command()
@boundary
def dagger(
    config: ConfigOpt = None,
    expert: Annotated[Optional[Path], typer.Option("--expert", help="Expert run folder or SB3 .zip that labels every visited state (DAgger; default: dagger.expert).", show_default=False)] = None,
    human: Annotated[bool, typer.Option("--human", help="You label: a window, hold a key to take over from the policy (HG-DAgger; keys: record.human).")] = False,
    demos: Annotated[Optional[str], typer.Option("--demos", metavar=DEMOS_METAVAR, help=f"Starting demonstrations: {DEMOS_HELP} (default: dagger.demos, bc.demos, then gail.demos).", show_default=False)] = None,
    rounds: Annotated[Optional[int], typer.Option("--rounds", help="Shortcut for --set dagger.rounds=N.", show_default=False)] = None,
    set_: SetOpt = None,
    seed: SeedOpt = None,
    runs_dir: RunsDirOpt = Path("runs"),
    resume: ResumeOpt = None,
    allow_env_mismatch: AllowEnvMismatchOpt = False,
) -> None:
    """Interactive imitation: the policy acts, an expert (--expert) or you (--human) label, BC retrains on all labels."""
    if resume is not None:
        refuse_with_resume(config=config, set_=set_, seed=seed, demos=demos, expert=expert, rounds=rounds,
                            human=human or None, **{"allow-env-mismatch": allow_env_mismatch or None})
        cfg = resume_config(resume, "dagger")
    else:
        cfg = config_from_options(config, set_, seed, rounds=("--rounds", "dagger.rounds", rounds))
        if human and expert is not None:
            raise UsageError("dagger: --human labels with a person, --expert with a policy; pass one of them")
        teacher = "human" if human else ("expert" if expert is not None else cfg.dagger.teacher)
        cfg = cfg.model_copy(update={"dagger": cfg.dagger.model_copy(update={"teacher": teacher})})
    d = cfg.dagger
    expert_zip = None
    if d.teacher == "expert":
        expert_zip = input_path(expert, d.expert, command="dagger", flag="--expert RUN_OR_ZIP", key="dagger.expert",
                                 what="expert", resolve=resolve_policy_zip)
    else:
        from gailctl.rl.env.human import check_display, check_keymap

        check_keymap(cfg)
        check_display("dagger --human")
    demos_dir = None
    if d.start_from_demos:
        configured = d.demos or cfg.bc.demos or cfg.gail.demos
        key = "dagger.demos" if d.demos else ("bc.demos" if cfg.bc.demos else "gail.demos")
        if demos is None and configured is None:
            raise UsageError(f"dagger: no starting demonstrations given: pass --demos {DEMOS_METAVAR} or set {key} "
                             "in the config (or set dagger.start_from_demos=false)")
        demos_dir = demos_source(demos, configured, command="dagger", key=key)
    if resume is None:
        if demos_dir is not None:
            check_demos_env(demos_dir, cfg, given=demos, key="dagger.demos", allow=allow_env_mismatch)
            cfg = with_path(cfg, "dagger", "demos", demos_dir)
        if expert_zip is not None:
            cfg = with_path(cfg, "dagger", "expert", expert_zip)
    run_dir, summary = _run_stage("dagger", cfg, runs_dir=runs_dir, resume=resume, expert_zip=expert_zip,
                                  demos_dir=demos_dir)
    final, reached = summary["final"], summary.get("reached")
    finish(run_dir, [
        f"dagger ({summary['teacher']}): {plural(summary['rounds'], 'round')}, {summary['labels']} labels, "
        f"{summary['n_env_steps']} env steps in {summary['wall_s']:.0f} s",
        f"policy alone: return {final['return_mean']:.1f} ± {final['return_std']:.1f}"
        + notes(normalized(final.get("normalized_score")), plural(summary['eval_episodes'], 'episode')),
        (f"first at {reached['threshold']:.2f} normalized: round {reached['round']} ({reached['labels']} labels)"
         if reached else "never reached 0.95 normalized"),
    ])


def _eval_config(target: Path, config: Optional[Path], overrides: list[str], flags: dict[str, str]) -> Config:
    """-c wins; otherwise the config.yaml of the run folder the policy comes from."""
    from gailctl.core.config_load import load_config
    from gailctl.core.runs import is_run_dir

    if config is not None:
        check_config_exists(config)
        return load_config(config, overrides, flags=flags)
    for folder in [target, *target.parents][:4]:
        if is_run_dir(folder):
            return load_config(folder / "config.yaml", overrides, flags=flags, recorded=True)
    raise UsageError(f"eval {target}: not inside a gailctl run folder, so pass -c CONFIG to say which env it plays")


@app.command(name="eval")
@boundary
def eval_(
    target: Annotated[Path, typer.Argument(metavar="RUN_OR_ZIP", help="Run folder (expert or gail), SB3 .zip, Hub-layout folder, hf:ORG/REPO (local Hugging Face cache), or `random` for a uniform-random policy.", show_default=False)],
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
    items, flags = shortcuts(episodes=("-n/--episodes", "eval.episodes", episodes),
                              deterministic=("--deterministic/--stochastic", "eval.deterministic", deterministic),
                              seed=("--seed", "seed", seed))
    extra = [*(set_ or []), *items]
    is_random = str(target) == RANDOM_POLICY and not target.exists()
    if not is_random:
        from gailctl.report.run_info import refuse_experiment_folder

        refuse_experiment_folder(target, command="eval")
    policy_zip = None if is_random else resolve_policy_zip(target, flag="eval").resolve()
    cfg = _eval_config(target, config, extra, flags)
    from gailctl.rl.env.render import check_video_path

    if video is not None:
        video = check_video_path(video, overwrite=overwrite)
    # summary.json: `policy` is the zip scored, absolute; `policy_as_typed` the argument, relative to `cwd`.
    typed = None if is_random else {"policy_as_typed": str(target), "cwd": str(Path.cwd())}
    run_dir, s = _run_stage("eval", cfg, runs_dir=runs_dir, inputs=typed, policy_zip=policy_zip, render=render, video=video)
    _print_eval_table(s)
    lines = []
    if s.get("rendered", {}).get("mode") == "video":
        lines.append(f"video: {s['rendered']['video']}")
    finish(run_dir, lines)


def _print_eval_table(s: dict[str, Any]) -> None:
    from rich.table import Table

    from gailctl.core.ui import results

    table = Table(title=f"{s['env_id']}: {Path(s['policy']).name}")
    upright = s.get("upright_share") is not None  # locomotion tasks only
    for col in ("episodes", "policy actions", "return mean ± std", "min / max", "length", "normalized score",
                *(("upright (min)",) if upright else ())):
        table.add_column(col, justify="right")
    table.add_row(
        str(s["episodes"]),
        "uniform random" if s["policy"] == RANDOM_POLICY else "deterministic" if s["deterministic"] else "stochastic",
        f"{s['return_mean']:.2f} ± {s['return_std']:.2f}",
        f"{s['return_min']:.1f} / {s['return_max']:.1f}",
        f"{s['episode_len_mean']:.1f}",
        fmt(s["normalized_score"]) + ("" if s["normalized_score"] is not None else " (no references in config)"),
        *((f"{s['upright_share']:.2f} ({s['upright_share_min']:.2f})",) if upright else ()),
    )
    results.print(table)
