"""Benchmark arithmetic: learning curves of finished runs -> the figures the benchmark reports.

Pure functions over run folders (metrics.csv, summary.json, config.yaml); no training here.
Tables and curves go through the shared writer and plotter (`report.tables`, `report.plots`).
Normalized scores: random = 0, expert = 1, from each run's own `references`.
"""

from __future__ import annotations

import csv
import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import yaml

from gailctl.core.config import References
from gailctl.core.summaries import parse_summary

from gailctl.report.plots import draw_curves, new_figure, reference_line, save_png
from gailctl.report.tables import columns_of, markdown_table, write_csv

THRESHOLD = 0.95
PER_SEED_THRESHOLD = 0.9  # "steps to 0.9 (per seed)": when each seed first reaches 0.9
HOLD_EVALS = 5  # "holds >= 0.95 for 5 evaluations in a row"
STAY_EVALS = 10  # "its last 10 evaluations all >= 0.95"
TAIL_EVALS = 5  # "mean of the last 5 evaluations"


@dataclass(frozen=True)
class Curve:
    """One run's evaluations. `steps`, `wall_s`, `score` have one entry per evaluation."""

    run_dir: Path
    env_id: str
    method: str  # gail, airl or bc
    n_demos: int
    seed: int
    status: str
    steps: tuple[int, ...]
    wall_s: tuple[float, ...]
    train_wall_s: tuple[float, ...]
    score: tuple[float, ...]
    final_deterministic: Optional[float]
    final_stochastic: Optional[float]
    eval_episodes: int
    final_episodes: int
    eval_deterministic: bool = True
    subsample_every: int = 1
    """The demonstrations' every K-th transition was kept (`gail.subsample_every`, 1 = all)."""
    final_upright: Optional[float] = None
    """Share of the final evaluation's steps spent upright (argmax when there is one); None on
    tasks without healthy conditions (`gailctl.rl.upright`)."""
    best_rescored: Optional[float] = None
    """best_policy.zip (the highest per-round return) scored again on fresh final episodes; None for
    runs without one (bc, older gail runs). Normalized, as every score here."""
    best_selection: Optional[float] = None
    """The per-round evaluation that picked best_policy.zip (optimistic: the highest of several)."""
    reward_free_rescored: Optional[float] = None
    """best_policy_reward_free.zip (the evaluation's states closest to held-out demonstrations') scored again on fresh final episodes."""
    reward_free_on_training: bool = False
    """The reward-free pick was measured on the training trajectories: the demonstrations held none beyond them."""
    final_episode_scores: tuple[float, ...] = ()
    """Each final episode's normalized score, in the per-round evaluations' mode; empty where not kept (bc, older gail)."""


def _float(text: Any) -> Optional[float]:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return None if value != value else value  # NaN -> None


def load_curve(run_dir: Path) -> Curve:
    """Read a finished gail/bc run folder into a Curve (evaluation rows only)."""
    run_dir = Path(run_dir)
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8"))
    summary = parse_summary(json.loads((run_dir / "summary.json").read_text(encoding="utf-8")))
    stage = summary.stage
    method = "bc" if stage == "bc" else cfg.get("gail", {}).get("algorithm", "gail")
    with open(run_dir / "metrics.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if _float(r.get("normalized_score")) is not None]
    scores = summary.scores()
    argmax = scores.deterministic is not False  # bc and expert evaluate one way, argmax unless they say otherwise
    det = scores.final.normalized_score if scores.final and argmax else None
    sto = scores.sampled.normalized_score if scores.sampled else (
        scores.final.normalized_score if scores.final and not argmax else None)
    shown = scores.final or scores.sampled  # argmax when there is one
    upright = shown.upright_share if shown else None
    by_reward, reward_free = getattr(summary, "best_by_reward", None), getattr(summary, "best_reward_free", None)
    eval_deterministic = getattr(summary, "eval_deterministic", None) is not False  # unsaid: the configs' default, argmax
    as_per_round = scores.final if eval_deterministic else scores.sampled  # gail's final episodes, as its evaluations ran
    refs = References.model_validate(cfg.get("references") or {})
    episode_scores = tuple(v for r in (as_per_round.returns or []) if (v := refs.normalize(r)) is not None) \
        if as_per_round is not None and method != "bc" else ()
    return Curve(
        run_dir=run_dir,
        env_id=summary.env_id,
        method=method,
        n_demos=int(getattr(summary, "n_demo_trajectories", None) or 0),
        seed=summary.seed,
        status=summary.status,
        steps=tuple(int(float(r["n_env_steps"])) for r in rows),
        wall_s=tuple(float(r["wall_s"]) for r in rows),
        train_wall_s=tuple(float(r.get("train_wall_s") or r["wall_s"]) for r in rows),
        score=tuple(float(r["normalized_score"]) for r in rows),
        final_deterministic=_float(det),
        final_stochastic=_float(sto),
        eval_episodes=int(getattr(summary, "eval_episodes", None) or 0),
        final_episodes=int(scores.episodes or 0),
        eval_deterministic=eval_deterministic,
        subsample_every=int((cfg.get("gail") or {}).get("subsample_every", 1)),
        final_upright=_float(upright),
        best_rescored=_float(by_reward.rescored.normalized_score) if by_reward else None,
        best_selection=_float(by_reward.selection.normalized_score) if by_reward else None,
        reward_free_rescored=_float(reward_free.rescored.normalized_score) if reward_free else None,
        reward_free_on_training=bool(reward_free) and getattr(summary, "heldout", None) is not None
        and not summary.heldout.heldout,
        final_episode_scores=episode_scores,
    )


def first_reach(curve: Curve, threshold: float = THRESHOLD) -> Optional[tuple[int, float]]:
    """(env steps, wall seconds) of the first evaluation at or above `threshold`, if any."""
    for step, wall, score in zip(curve.steps, curve.wall_s, curve.score):
        if step > 0 and score >= threshold:
            return step, wall
    return None


def first_hold(curve: Curve, threshold: float = THRESHOLD, n_in_row: int = HOLD_EVALS) -> Optional[int]:
    """Env steps at the evaluation that completes the first run of `n_in_row` scores >= threshold."""
    run = 0
    for step, score in zip(curve.steps, curve.score):
        run = run + 1 if (step > 0 and score >= threshold) else 0
        if run >= n_in_row:
            return step
    return None


def stayed(curve: Curve, threshold: float = THRESHOLD, last_n: int = STAY_EVALS) -> bool:
    """True when the last `last_n` evaluations are all >= threshold (and there are that many)."""
    tail = curve.score[-last_n:]
    return len(tail) == last_n and min(tail) >= threshold


def steady_stays(group: Sequence[Curve], threshold: float = THRESHOLD, last_n: int = STAY_EVALS) -> Optional[float]:
    """The expected number of runs passing `stayed` if each were a steady policy with its final episodes
    (None unless every run keeps them): per-round evaluations average a few episodes, so noise alone makes dips."""
    if not group or any(not c.final_episode_scores or c.eval_episodes < 1 for c in group):
        return None
    import numpy as np

    from gailctl.report.stats import SEED, steady_stay_chance

    return sum(steady_stay_chance(c.final_episode_scores, episodes_per_eval=c.eval_episodes, n_evals=last_n,
                                  threshold=threshold, rng=np.random.default_rng(SEED)) for c in group)


def tail_mean(curve: Curve, n: int = TAIL_EVALS) -> Optional[float]:
    tail = curve.score[-n:]
    return sum(tail) / len(tail) if tail else None


def score_at(curve: Curve, step: int) -> Optional[float]:
    """The latest evaluation at or before `step` (None if the run never got there)."""
    if not curve.steps or curve.steps[-1] < step:
        return None
    best = None
    for s, score in zip(curve.steps, curve.score):
        if s <= step:
            best = score
    return best


def _mean_std(values: Sequence[Optional[float]]) -> str:
    vals = [v for v in values if v is not None]
    if not vals:
        return "n/a"
    if len(vals) == 1:
        return f"{vals[0]:.2f}"
    return f"{statistics.fmean(vals):.2f} ± {statistics.pstdev(vals):.2f}"


def _median_worst(values: Sequence[Optional[float]], n_seeds: int, unit: str = "") -> str:
    """Median and worst over seeds; a seed that never got there makes the worst 'never'."""
    got = [v for v in values if v is not None]
    if not got:
        return "never"
    med = statistics.median(got) if len(got) == n_seeds else None
    worst = max(got) if len(got) == n_seeds else None
    fmt = (lambda v: f"{v / 1000:.1f}k") if unit == "steps" else (lambda v: f"{v:.0f}")
    if med is None:
        return f"{len(got)}/{n_seeds} seeds, median of those {fmt(statistics.median(got))}"
    return f"{fmt(med)} (worst {fmt(worst)})"


def _final(c: Curve) -> Optional[float]:
    """A run's final score: argmax when it has one (bc scores once, in its own mode)."""
    return c.final_deterministic if c.final_deterministic is not None else c.final_stochastic


def lead_over(ours: Sequence[float], theirs: Sequence[float]) -> dict[str, float]:
    """How far `ours` (final scores over seeds) ends above `theirs`, measured two ways.

    `margin`: the gap in means less both population stds (the bench's "±") added together, so
    > 0 means the two mean ± std intervals do not overlap. `p`: Welch's t-test, two-sided (unequal
    variances; seeds are too few to assume equal ones). NaN where a side has fewer than 2 seeds,
    and `p` NaN where neither side varies (every seed scored the same).
    """
    gap = statistics.fmean(ours) - statistics.fmean(theirs)
    out = {"gap": gap, "margin": float("nan"), "p": float("nan")}
    if len(ours) >= 2 and len(theirs) >= 2:
        out["margin"] = gap - statistics.pstdev(ours) - statistics.pstdev(theirs)
        if statistics.pstdev(ours) == statistics.pstdev(theirs) == 0:
            return out
        from scipy import stats  # only here: the rest of the report needs no scipy

        out["p"] = float(stats.ttest_ind(ours, theirs, equal_var=False).pvalue)
    return out


def _lead_text(lead: dict[str, float]) -> str:
    if lead["margin"] != lead["margin"]:
        return f"{lead['gap']:+.2f} (too few seeds to test)"
    beyond = "beyond" if lead["margin"] > 0 else "not beyond"
    p = f"Welch p={lead['p']:.3f}" if lead["p"] == lead["p"] else "no spread to test"
    return f"{lead['gap']:+.2f}, {beyond} both spreads ({lead['margin']:+.2f}), {p}"


def summarize(curves: Sequence[Curve], *, at_steps: Sequence[int]) -> list[dict[str, Any]]:
    """One row per (task, method, n_demos): the benchmark's table, as plain values."""
    groups: dict[tuple[str, str, int, int], list[Curve]] = {}
    for c in curves:
        groups.setdefault((c.env_id, c.method, c.n_demos, c.subsample_every), []).append(c)
    show_subsample = any(c.subsample_every != 1 for c in curves)
    rows = []
    for (env_id, method, n_demos, every), group in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][2], kv[0][3], kv[0][1])):
        group = sorted(group, key=lambda c: c.seed)
        n = len(group)
        reach = [first_reach(c) for c in group]
        row: dict[str, Any] = {
            "task": env_id,
            "method": method,
            "demos": n_demos,
            **({"every Kth step": every} if show_subsample else {}),
            "seeds": n,
            "final (det.)": _mean_std([c.final_deterministic for c in group]),
            "final (stoch.)": _mean_std([c.final_stochastic for c in group]),
            "final episodes": "/".join(str(e) for e in sorted({c.final_episodes for c in group})),
            "final per seed": per_seed_finals(group),
        }
        if any(c.final_upright is not None for c in group):  # locomotion tasks: did it stay on its feet?
            row["upright (final)"] = _mean_std([c.final_upright for c in group])
            row["upright per seed"] = per_seed_finals(group, value=lambda c: c.final_upright)
        row.update(selection_per_seed(group))
        if method != "bc":
            bc_finals = [f for c in groups.get((env_id, "bc", n_demos, every), []) if (f := _final(c)) is not None]
            finals = [f for c in group if (f := _final(c)) is not None]
            if bc_finals and finals:
                row["final - BC's"] = _lead_text(lead_over(finals, bc_finals))
            modes = {c.eval_deterministic for c in group}
            row["per-round evals"] = "argmax" if modes == {True} else "sampled" if modes == {False} else "mixed"
            for step in at_steps:
                row[f"@{step // 1000}k"] = _mean_std([score_at(c, step) for c in group])
            row["last-5 mean (min seed)"] = (
                f"{min(t for t in tails):.2f}" if (tails := [tail_mean(c) for c in group if tail_mean(c) is not None]) else "n/a"
            )
            row["steps to 0.95"] = _median_worst([r[0] if r else None for r in reach], n, "steps")
            row["wall s to 0.95"] = _median_worst([r[1] if r else None for r in reach], n)
            row["steps to hold 0.95 x5"] = _median_worst([first_hold(c) for c in group], n, "steps")
            row[f"steps to {PER_SEED_THRESHOLD:g} (per seed)"] = per_seed_reach(group, PER_SEED_THRESHOLD)
            row["stayed >= 0.95 (last 10)"] = f"{sum(stayed(c) for c in group)}/{n}"
            steady = steady_stays(group)
            row["stayed if steady (expected)"] = "n/a" if steady is None else f"{steady:.1f}/{n}"
        rows.append(row)
    return rows


def final_scores(curves: Sequence[Curve]) -> dict[tuple[str, str, str, str], list[float]]:
    """Each bench row's final scores over its seeds (seed order), keyed as `bench_stats.row_key` keys rows.

    To the three places `final per seed` prints, so that the pages, which read them back from
    results.csv, compute the same IQMs and P(X > BC): two seeds equal to three places are a tie
    (counting half) in both.
    """
    out: dict[tuple[str, str, str, str], list[float]] = {}
    for c in sorted(curves, key=lambda c: c.seed):
        final = _final(c)
        if final is not None:
            out.setdefault((c.env_id, c.method, str(c.n_demos), str(c.subsample_every)), []).append(round(final, 3))
    return out


def per_seed_finals(group: Sequence[Curve], *, value: Callable[[Curve], Optional[float]] = _final) -> str:
    """`s0 0.895, s1 1.063`: each seed's final score (or another `value` of its run) to three places,
    so a per-seed target ("every one of 5 seeds >= 0.9") is read exactly, not from a rounded 0.90."""
    def one(c: Curve) -> str:
        final = value(c)
        return f"s{c.seed} {'n/a' if final is None else f'{final:.3f}'}"
    return ", ".join(one(c) for c in sorted(group, key=lambda c: c.seed))


def selection_per_seed(group: Sequence[Curve]) -> dict[str, str]:
    """results.csv's per-seed columns of model selection (`report.bench_selection`), where the runs have it."""
    if not any(c.best_rescored is not None or c.reward_free_rescored is not None for c in group):
        return {}

    def optimism(c: Curve) -> Optional[float]:
        return None if c.best_selection is None or c.best_rescored is None else c.best_selection - c.best_rescored

    return {"best by reward, re-scored, per seed": per_seed_finals(group, value=lambda c: c.best_rescored),
            "selection optimism per seed": per_seed_finals(group, value=optimism),
            "best by held-out demos, re-scored, per seed": per_seed_finals(group, value=lambda c: c.reward_free_rescored)}


def per_seed_reach(group: Sequence[Curve], threshold: float) -> str:
    """`s0 210k, s1 never`: each seed's env steps at its first evaluation >= threshold."""
    def one(c: Curve) -> str:
        got = first_reach(c, threshold)
        return f"s{c.seed} {got[0] / 1000:.0f}k" if got else f"s{c.seed} never"
    return ", ".join(one(c) for c in sorted(group, key=lambda c: c.seed))


def published_rows(env_id: str, published: Any, *, random_return: Optional[float],
                   expert_return: Optional[float]) -> list[dict[str, Any]]:
    """Reference rows for a task from another project's published returns (`bench.published`).

    Their expert is not ours, so each return is shown normalized by our references (random = 0,
    our expert = 1) and as a fraction of their own expert."""
    rows = []
    for method in ("expert", "gail", "airl", "bc"):
        value = published.expert_return if method == "expert" else getattr(published, method)
        if value is None:
            continue
        ours = (f"{(value - random_return) / (expert_return - random_return):.2f}"
                if random_return is not None and expert_return is not None else "n/a")
        rows.append({"task": env_id, "method": f"{method} (published)", "demos": "",
                     "final (det.)": f"{ours} (return {value:g}; {value / published.expert_return:.2f} of their expert)"})
    return rows


def with_published(rows: Sequence[dict[str, Any]], extra: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """`rows` with each task's published reference rows right after that task's own rows."""
    out: list[dict[str, Any]] = []
    tasks = list(dict.fromkeys([r["task"] for r in rows] + [r["task"] for r in extra]))
    for task in tasks:
        out += [r for r in rows if r["task"] == task] + [r for r in extra if r["task"] == task]
    return out


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The benchmark's results table in markdown; columns are the union of the rows' keys, in first-seen order."""
    return markdown_table(columns_of(rows), rows)


def evaluations_csv(curves: Sequence[Curve], path: Path) -> None:
    """Every evaluation of every run, one row each, for anyone who wants other statistics."""
    write_csv(path, ["task", "method", "demos", "seed", "n_env_steps", "wall_s", "normalized_score", "run"],
              [[c.env_id, c.method, c.n_demos, c.seed, step, wall, score, c.run_dir.name]
               for c in curves for step, wall, score in zip(c.steps, c.wall_s, c.score)])


def plot(curves: Sequence[Curve], out: Path, *, figures: Optional[list[Any]] = None) -> Path:
    """One panel per (task, demos): normalized score vs env steps, a line per seed, BC as a band;
    expert, random and the 0.95 target as labelled lines of their own styles; the legend beside
    each panel. `figures`, if given, receives the Figure (for tests)."""
    panels = sorted({(c.env_id, c.n_demos) for c in curves})
    ncols = min(2, len(panels)) or 1
    nrows = (len(panels) + ncols - 1) // ncols or 1
    fig = new_figure(width=8.0 * ncols, height=4.0 * nrows, constrained=True)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    styles = {"gail": "-", "airl": "--"}
    for ax, (env_id, n_demos) in zip(axes.flat, panels):
        here = [c for c in curves if (c.env_id, c.n_demos) == (env_id, n_demos)]
        for c in sorted(here, key=lambda c: (c.method, c.seed)):
            if c.method == "bc":
                continue
            draw_curves(ax, [(c.steps, c.score)], color=f"C{c.seed % 10}", style=styles.get(c.method, ":"), alpha=0.8,
                        lw=1.2, label=f"{c.method} seed {c.seed}")
        bc = [b for c in here if c.method == "bc" and (b := _final(c)) is not None]
        if bc:
            ax.axhspan(min(bc), max(bc), color="tab:red", alpha=0.15, label=f"BC (final, {len(bc)} seeds)")
        reference_line(ax, 1.0, kind="expert", label="expert")
        reference_line(ax, 0.0, kind="random", label="random")
        reference_line(ax, THRESHOLD, kind="target", label=f"target ({THRESHOLD:g} of expert)")
        ax.set_title(f"{env_id}, {n_demos} demonstration{'s' if n_demos != 1 else ''}")
        ax.set_xlabel("environment steps")
        ax.set_ylabel("normalized score")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)  # beside the curves, not on them
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    save_png(fig, Path(out))
    if figures is not None:
        figures.append(fig)
    return Path(out)
