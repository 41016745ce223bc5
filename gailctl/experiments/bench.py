"""`gailctl bench`: GAIL (and BC) over configs x seeds x demonstration counts, on the sweep machinery.

Each config is planned as one sweep per method, and all their trials run as one Ray Tune run,
longest first (each an ordinary run folder under `trials/`); the report (`evaluations.csv`,
`results.md`, `results.csv`, `curves.png`) is computed from those folders by `gailctl.bench_report`.
Throughput (GAIL env steps/s over plain PPO's with the same generator settings) is measured
first, before any trial, in this process; the report states the load other processes put on the
machine meanwhile (`core.cpu_load`), and says "alone" only when they took almost none.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

from gailctl.core import cpu_load
from gailctl.report import bench_report
from gailctl.core.config_load import load_config
from gailctl.core import shipped
from gailctl.core.errors import GailctlError, Interrupted, UsageError, one_line_error
from gailctl.core.paths import shown_path
from gailctl.core.runs import atomic_write_text, create_run, now_iso, read_summary, run_lock, write_run_header, write_summary
from gailctl.experiments.runner import DEFAULT_MAX_FAILURES, NEVER_STARTED, check_max_failures
from gailctl.experiments.trial_list import TRIALS_FILE, new_trial_list, read_trial_list, run_trials
from gailctl.experiments.trial_runs import RUNS_FILE
from gailctl.experiments.sweep_outputs import restarts_cell
from gailctl.experiments.throughput import measure_throughput
from gailctl.report import bench_selection, bench_stats
from gailctl.report.tables import markdown_table, write_csv

SUITES = {
    "classic": ("cartpole", "acrobot", "mountaincar", "pendulum"),
    "mujoco": ("hopper", "halfcheetah", "walker2d", "swimmer", "ant"),  # the GAIL paper's locomotion tasks
}
"""Shipped config names (`gailctl configs`) that `gailctl bench --suite NAME` runs."""
DEFAULT_CONFIGS = SUITES["classic"]
"""What the benchmark runs when neither -c nor --suite is given."""
QUICK_SEEDS = "0-1"
QUICK_EVAL_EPISODES = 10  # ... and scores the final policies over at most 10 episodes


@dataclass(frozen=True)
class BenchPlan:
    configs: tuple[Path, ...]
    seeds: str
    n_demos: Optional[tuple[int, ...]]
    quick: bool
    with_bc: bool
    overrides: tuple[str, ...]
    allow_env_mismatch: bool = False
    """Use demonstrations whose record run names another env (see `runs.check_demos_env`)."""
    suite: Optional[str] = None
    """The `--suite` these configs came from; names the bench folder."""

    def budget_overrides(self, config: Path) -> list[str]:
        """--set items for one config: the user's, plus the smaller budgets of --quick.

        --quick: the config's bench.quick_budget of the GAIL budget (a third unless it says) and
        at most QUICK_EVAL_EPISODES final evaluation episodes for GAIL and BC (on MuJoCo, GAIL's
        2 x 50 final episodes are 100k env steps, half of what a fifth of a 1M-step run trains).
        """
        items = list(self.overrides)
        if self.quick:
            cfg = load_config(config, items)
            quick_steps = max(cfg.gail_steps_per_round, int(cfg.gail.total_timesteps * cfg.bench.quick_budget))
            items += [f"gail.total_timesteps={quick_steps}",
                      f"gail.final_eval_episodes={min(cfg.gail.final_eval_episodes, QUICK_EVAL_EPISODES)}",
                      f"bc.eval_episodes={min(cfg.bc.eval_episodes, QUICK_EVAL_EPISODES)}"]
        return items

    def grid(self, config: Path) -> list[str]:
        """The demonstration counts to sweep for one config: --n-demos, else its bench.n_demos
        (with --quick, only the smallest of those: the GAIL paper's low end, where BC falls behind)."""
        counts = self.n_demos or load_config(config, list(self.overrides)).bench.n_demos
        if self.quick and not self.n_demos and counts:
            counts = (min(counts),)
        return [f"gail.n_demos={','.join(map(str, counts))}"] if counts else []


def suite_configs(suite: Optional[str], configs: Optional[Sequence[Path]]) -> tuple[Optional[str], tuple[str, ...]]:
    """(suite name, shipped config names) for `--suite`/`-c`; the classic suite when neither is given."""
    if suite is not None and configs:
        raise UsageError("--suite and --config: give one of them (a suite is a list of shipped configs)")
    if suite is None:
        return ("classic", DEFAULT_CONFIGS) if not configs else (None, ())
    if suite not in SUITES:
        raise UsageError(f"--suite {suite}: expected one of {', '.join(SUITES)}")
    return suite, SUITES[suite]


def parse_n_demos(text: Optional[str]) -> Optional[tuple[int, ...]]:
    """`1,4,10` -> (1, 4, 10); None keeps each config's gail.n_demos."""
    if text is None:
        return None
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise UsageError(f"--n-demos {text}: expected whole numbers separated by commas, e.g. 1,4,10") from None
    if not values or min(values) < 1:
        raise UsageError(f"--n-demos {text}: expected positive whole numbers, e.g. 1,4,10")
    return values


def bench_payload(sweeps: Sequence[tuple[str, Any]], trials_dir: Path) -> tuple[dict[str, Any], list[str], list[int]]:
    """Every (stage, sweep plan)'s trials as one Tune run: its payload, a label per trial, and
    each trial's place in the sweeps' own order (to report them in that order).

    One run, not one per sweep: a 5-seed sweep on 2 workers ran its fifth trial alone, and
    Ray started and stopped once per sweep. Trials go longest first (GAIL by its env-step budget,
    then BC), so the short ones fill the last gaps, as in longest-processing-time scheduling.
    """
    from gailctl.experiments.plans import trial_payload

    entries = []
    for stage, sweep in sweeps:
        payload = trial_payload(sweep, trials_dir)
        for trial, cfg, item in zip(sweep.trials, sweep.configs, payload["trials"]):
            budget = cfg.gail.total_timesteps if stage == "gail" else 0
            entries.append((budget, len(entries), {**item, "stage": stage}, f"{stage} {cfg.env.id} {trial.label}"))
    entries.sort(key=lambda e: -e[0])  # stable: equal budgets keep the configs' order
    payload = {"stage": None, "cwd": str(sweeps[0][1].cwd), "trials_dir": str(trials_dir), "runs_file": str(Path(trials_dir).parent / RUNS_FILE),
               "trials": [{**item, "key": str(i)} for i, (_b, _p, item, _l) in enumerate(entries)]}
    return payload, [label for *_rest, label in entries], [place for _b, place, *_rest in entries]


def bench_status(results: Sequence[dict[str, Any]]) -> str:
    """`failed` if a trial failed, `interrupted` if one was stopped or never ran (Ctrl-C), else `finished`."""
    statuses = {r.get("status") for r in results}
    return "failed" if "failed" in statuses else "interrupted" if statuses - {"finished"} else "finished"


def bench_outcome_error(summary: dict[str, Any], bench_dir: Path) -> Optional[GailctlError]:
    """What the command exits with: 1 if a trial failed, 130 if the bench was interrupted, else None."""
    n, where = summary["n_trials"], bench_dir / "summary.json"
    if summary["n_failed"]:
        return GailctlError(f"{summary['n_failed']} of {n} trial(s) failed; see {where}")
    if summary["status"] == "interrupted":
        never = sum(1 for r in summary["interrupted"] if r.get("error") == NEVER_STARTED)
        return Interrupted(f"bench interrupted: {summary['n_finished']} of {n} trial(s) finished, "
                           f"{summary['n_interrupted'] - never} stopped, {never} never started; "
                           f"{bench_dir / 'results.md'} reports the finished ones; continue with: "
                           f"gailctl bench --resume {bench_dir}")
    return None


@contextlib.contextmanager
def _ends_in_summary(bench_dir: Path, base: dict[str, Any], wall_s: Callable[[], float]) -> Iterator[None]:
    """A bench stopped by an exception says so in its summary.json: `interrupted` on Ctrl-C, else
    `failed` with the error, never `running` (which `gailctl runs` would list as stale)."""
    try:
        yield
    except KeyboardInterrupt as exc:
        write_summary(bench_dir, {**base, "status": "interrupted", "wall_s": round(wall_s(), 1)})
        then = (f"continue with: gailctl bench --resume {bench_dir}" if (bench_dir / TRIALS_FILE).is_file()
                else "it stopped before its trials were listed, so there is nothing to resume; run the bench again")
        raise Interrupted(f"bench interrupted; {bench_dir}/summary.json says so; {then}") from exc
    except BaseException as exc:
        write_summary(bench_dir, {**base, "status": "failed", "error": one_line_error(exc), "wall_s": round(wall_s(), 1)})
        raise


def _trial_name(result: dict[str, Any], bench_dir: Path) -> Optional[str]:
    """A trial's run folder as the bench's summary.json names it: relative to the bench folder."""
    return result.get("run_dir") and shown_path(result["run_dir"], base=bench_dir)


def _trial_dirs(results: Sequence[dict[str, Any]]) -> list[Path]:
    return [Path(r["run_dir"]) for r in results if r.get("status") == "finished" and r.get("run_dir")]


def run_bench(
    plan: BenchPlan,
    *,
    runs_dir: Path,
    address: Optional[str] = None,
    max_concurrent: Optional[int] = None,
    max_failures: int = DEFAULT_MAX_FAILURES,
    throughput: bool = True,
    trials: bool = True,
    track: Optional[str] = None,
) -> tuple[Path, dict[str, Any]]:
    """Plan every sweep (all configs validated before anything runs), run them, write the report.

    `trials=False` measures throughput only (the configs and their data are still checked).
    `track` (mlflow, wandb): each finished trial's run is sent there afterwards (`trial_tracking`).
    """
    from gailctl.experiments.plans import plan_sweep

    check_max_failures(max_failures)
    sweeps = []
    for config in plan.configs:
        items = plan.budget_overrides(config)
        stages = ["gail", "bc"] if plan.with_bc else ["gail"]
        sweeps += [(config, stage, plan_sweep(stage=stage, config_path=config, seeds=plan.seeds, overrides=items,
                                              grid=plan.grid(config), allow_env_mismatch=plan.allow_env_mismatch))
                   for stage in stages]
    from gailctl.rl.env.make import check_env_id
    from gailctl.experiments.plans import check_trial_data

    for _config, _stage, sweep in sweeps:  # every trial's data, as its stage will check it, before Ray
        for env_id in dict.fromkeys(c.env.id for c in sweep.configs):
            check_env_id(env_id)
        check_trial_data(sweep, grid_flag="--n-demos" if plan.n_demos else None)
    first = sweeps[0][2]
    bench_dir = create_run(runs_dir, stage="bench", env_id=first.base_config.env.id if len(plan.configs) == 1 else f"{plan.suite or 'multi'}-suite",
                           seeds=first.seeds).absolute()
    from gailctl.core.config_load import config_to_yaml

    write_run_header(bench_dir, config_yaml=config_to_yaml(first.base_config))
    describe = {"configs": [shown_path(c) for c in plan.configs], "seeds": list(first.seeds) if trials else [],
                "n_demos": None if plan.n_demos is None else list(plan.n_demos),
                "quick": plan.quick, "bc": plan.with_bc and trials, "set": list(plan.overrides), "trials": trials}
    atomic_write_text(bench_dir / "bench.json", json.dumps(describe, indent=2) + "\n")
    base = {"stage": "bench", "env_id": first.base_config.env.id, "seed": first.seeds[0], "run_dir": shown_path(bench_dir),
            "started": now_iso()}
    t0 = time.monotonic()
    with run_lock(bench_dir), _ends_in_summary(bench_dir, base, lambda: time.monotonic() - t0):
        write_summary(bench_dir, {**base, "status": "running"})
        repeats = 1 if plan.quick else 3
        speed = [measure_throughput(c, plan.budget_overrides(c), repeats=repeats) for c in plan.configs] if throughput else None
        results: list[dict[str, Any]] = []
        if trials:
            payload, labels, places = bench_payload([(stage, sweep) for _config, stage, sweep in sweeps], bench_dir / "trials")
            results = run_trials(bench_dir, new_trial_list(payload, labels, places), address=address, max_concurrent=max_concurrent,
                                 max_failures=max_failures, order=", longest first")
        summary = _report(bench_dir, describe, base, results, config_files=plan.configs, speed=speed,
                          wall_s=time.monotonic() - t0)
        if trials:
            _track_trials(bench_dir, summary, track)
    return bench_dir, summary


def resume_bench(bench_dir: Path, *, address: Optional[str] = None, max_concurrent: Optional[int] = None,
                 max_failures: int = DEFAULT_MAX_FAILURES, track: Optional[str] = None) -> tuple[Path, dict[str, Any]]:
    """Finish the trials of `bench_dir` that did not finish; keep the finished ones; report them all.

    A stopped or lost GAIL trial continues in its run folder from its last checkpoint; a failed,
    unstarted or BC trial (or one stopped before its first checkpoint) runs again from the start in
    a new one.

    The trials are the ones the bench saved when it started (its configs as they were then), and
    the throughput table is the first invocation's. `wall_s` adds up every invocation. With
    `track`, every finished trial not yet sent there is sent (none twice).
    """
    check_max_failures(max_failures)
    bench_dir = Path(bench_dir)
    summary = read_summary(bench_dir)
    if summary.get("stage") != "bench":
        raise UsageError(f"--resume {bench_dir}: not a bench folder (no bench summary.json)")
    if not (bench_dir / TRIALS_FILE).is_file():
        raise UsageError(f"--resume {bench_dir}: no {TRIALS_FILE} (a --throughput-only bench, or one from before "
                         "gailctl saved its trial list): nothing to resume")
    with run_lock(bench_dir):
        trial_list = read_trial_list(bench_dir)
        if all(r is not None and r.get("status") == "finished" for r in trial_list["results"]):
            from gailctl.experiments.trial_tracking import listed_runs, unsent

            if not unsent(listed_runs(trial_list), track):
                sent = f" and was sent to {track}" if track else ""
                raise UsageError(f"--resume {bench_dir}: every trial finished{sent}; nothing to resume")
        describe = json.loads((bench_dir / "bench.json").read_text(encoding="utf-8"))
        base = {k: summary.get(k) for k in ("stage", "env_id", "seed", "run_dir", "started")}
        earlier_s = float(summary.get("wall_s") or 0.0)
        write_summary(bench_dir, {**summary, "status": "running"})
        t0 = time.monotonic()
        with _ends_in_summary(bench_dir, summary, lambda: earlier_s + time.monotonic() - t0):
            results = run_trials(bench_dir, trial_list, address=address, max_concurrent=max_concurrent, max_failures=max_failures,
                                 order=", longest first")
            summary = _report(bench_dir, describe, base, results,
                              config_files=_config_files(describe, trial_list["payload"]["cwd"]),
                              speed=summary.get("throughput"), wall_s=earlier_s + time.monotonic() - t0)
        _track_trials(bench_dir, summary, track)
    return bench_dir, summary


def _track_trials(bench_dir: Path, summary: dict[str, Any], track: Optional[str]) -> None:
    """`--track`: the finished trials' runs, unless the bench was interrupted (its resume sends them)."""
    if track is not None and summary["status"] != "interrupted":
        from gailctl.experiments.trial_tracking import listed_runs, send_trials

        send_trials(listed_runs(read_trial_list(bench_dir)), track, exp_dir=bench_dir, kind="bench")


def _config_files(describe: dict[str, Any], cwd: str) -> list[Path]:
    """bench.json's configs as files again: named relative to the folder the bench started in
    (absolute in older folders), or a shipped config by its name."""
    files = []
    for given in describe["configs"]:
        path = Path(cwd) / given
        files.append(path if path.is_file() else (shipped.find_config(Path(given)) or path))
    return files


def _report(bench_dir: Path, describe: dict[str, Any], base: dict[str, Any], results: list[dict[str, Any]], *,
            config_files: Sequence[Path], speed: Optional[list[dict[str, Any]]], wall_s: float) -> dict[str, Any]:
    """results.md, results.csv, evaluations.csv, curves.png and summary.json from the finished trials'
    run folders. Paths in them are relative: configs to the working folder, trials to the bench folder."""
    curves = [bench_report.load_curve(d) for d in _trial_dirs(results)]
    budgets = sorted({c.steps[-1] for c in curves if c.steps and c.method != "bc"})
    at_steps = sorted({s for s in (25_000, 50_000, 100_000) if budgets and s < budgets[-1]})
    rows = bench_report.summarize(curves, at_steps=at_steps)
    configs = [load_config(p, list(describe["set"])) for p in config_files]
    references = {c.env.id: c.references.model_dump() for c in configs}  # what the scores were normalized with
    published = [(c.env.id, c.references, c.bench.published) for c in configs if c.bench.published is not None]
    rows = bench_report.with_published(rows, [row for env_id, refs, pub in published for row in bench_report.published_rows(
        env_id, pub, random_return=refs.random_return, expert_return=refs.expert_return)])
    describe = {**describe, "published": {env_id: pub.source for env_id, _refs, pub in published}}
    bench_report.evaluations_csv(curves, bench_dir / "evaluations.csv")
    plot = bench_report.plot(curves, bench_dir / "curves.png") if curves else None
    statistics = bench_stats.compute(bench_report.final_scores(curves))
    profiles = bench_stats.plot_profiles(statistics, bench_dir / bench_stats.PROFILE_PNG)
    restarted = [(_trial_name(r, bench_dir), restarts_cell(r)) for r in results if r.get("restarts")]
    atomic_write_text(bench_dir / "results.md", render_markdown(rows, speed=speed, describe=describe, wall_s=wall_s,
                                                                restarted=restarted, statistics=statistics,
                                                                profiles=profiles.name if profiles else None,
                                                                selection=bench_selection.section(curves)))
    write_csv(bench_dir / "results.csv", *bench_stats.csv_rows(rows, statistics))  # the wide table, for scripts and spreadsheets
    failed = [r for r in results if r.get("status") == "failed"]
    unfinished = [r for r in results if r.get("status") not in ("finished", "failed")]  # a Ctrl-C stopped them
    summary = {**base, "status": bench_status(results), "wall_s": round(wall_s, 1),
               "n_trials": len(results), "n_finished": len(results) - len(failed) - len(unfinished),
               "n_failed": len(failed), "n_interrupted": len(unfinished), "throughput": speed, "table": rows,
               "statistics": bench_stats.summary(statistics),
               "references": references,
               "failed": [{"error": r.get("error"), "run_dir": _trial_name(r, bench_dir)} for r in failed],
               "interrupted": [{"error": r.get("error"), "run_dir": _trial_name(r, bench_dir)} for r in unfinished],
               "restarted": [{"run_dir": _trial_name(r, bench_dir), "restarts": r["restarts"], "from_n_env_steps": r.get("restarted_from")}
                             for r in results if r.get("restarts")],
               "artifacts": {"results": "results.md", "results_csv": "results.csv", "evaluations": "evaluations.csv",
                             "curves": plot.name if plot else None, "profiles": profiles.name if profiles else None}}
    write_summary(bench_dir, summary)
    return summary


THROUGHPUT_COLUMNS = ("task", "env steps", "repeats", "PPO env steps/s", "GAIL env steps/s", "GAIL generator s",
                      "GAIL discriminator s", "GAIL/PPO", "other processes")


def render_markdown(rows: Sequence[dict[str, Any]], *, speed: Optional[list[dict[str, Any]]], describe: dict[str, Any], wall_s: float,
                    restarted: Sequence[tuple[Optional[str], str]] = (), statistics: Optional[bench_stats.BenchStats] = None,
                    profiles: Optional[str] = None, selection: Sequence[str] = ()) -> str:
    if not describe.get("trials", True):
        lines = ["# gailctl bench --throughput-only", "", f"Configs {', '.join(describe['configs'])}. Whole run {wall_s / 60:.1f} min.", ""]
        return "\n".join(lines + _throughput_lines(speed or []))
    lines = [
        "# gailctl bench",
        "",
        f"Configs {', '.join(describe['configs'])}; seeds {describe['seeds']}; "
        f"demonstrations {describe['n_demos'] or 'as each config says'}{'; --quick' if describe['quick'] else ''}. "
        f"Whole run {wall_s / 60:.1f} min.",
        "",
        bench_stats.EXPLAINED_REPORT,
        "",
        bench_stats.main_table(rows, statistics) if rows else "(no finished trial)\n",
    ]
    if describe.get("published"):
        lines += ["Rows marked (published) are not runs of ours: "
                  + "; ".join(f"{env_id}: {source}" for env_id, source in describe["published"].items())
                  + ". Normalized with this config's references; in brackets the raw return and its fraction of their own expert.", ""]
    if restarted:
        lines += ["Trials whose worker died and that went on (times, and the env steps they went on from): "
                  + "; ".join(f"`{name}` {cell}" for name, cell in restarted) + ".", ""]
    if statistics:
        lines += bench_stats.section(statistics, profile_png=profiles)
    lines += list(selection)  # bench_selection.section: empty when no run kept a pick
    if speed:
        lines += _throughput_lines(speed)
    return "\n".join(lines)


def load_cell(s: dict[str, Any]) -> str:
    """Other processes' load during one measurement: `alone (0.01 cores)`, `0.93 of 2 cores`, or `not measured`."""
    cores = s.get("other_cores")
    if cores is None:
        return "not measured"
    if s.get("alone"):
        return f"alone ({cores:.2f} cores)"
    return f"{cores:.2f} of {s.get('machine_cores') or '?'} cores"


def _throughput_lines(speed: Sequence[dict[str, Any]]) -> list[str]:
    measured = [s for s in speed if s.get("other_cores") is not None]
    if measured and all(s.get("alone") for s in measured) and len(measured) == len(speed):
        when = "measured alone before any trial (other processes' CPU time read from /proc/stat stayed under " \
               f"{cpu_load.ALONE_CORES} cores)"
    elif measured:
        when = ("measured before any trial, but NOT alone where `other processes` gives a load: other processes' CPU time "
                "(from /proc/stat) slowed both sides, so the steps/s are lower than alone and the ratio is less certain")
    else:
        when = "measured before any trial; other processes' load was not measured (no /proc/stat), so not known to be alone"
    return [
        f"Throughput, {when}: plain PPO and GAIL with the same generator settings, one torch thread, a round of each in "
        "turn, medians over the repeats (GAIL/PPO: the median of each repeat's ratio); `other processes`: the cores "
        "other processes kept busy on average during the measurement.",
        "",
        markdown_table(THROUGHPUT_COLUMNS, [
            [s["env_id"], s["env_steps"], s["repeats"], f"{s['ppo_steps_per_s']:.0f}", f"{s['gail_steps_per_s']:.0f}",
             f"{s['gail_generator_s']:.1f}", f"{s['gail_discriminator_s']:.1f}", f"**{s['ratio']:.2f}**", load_cell(s)]
            for s in speed]),
    ]
