"""Benchmark arithmetic on hand-made run folders: each figure the table reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from gailctl.report import bench_report as br


def make_run(root: Path, name: str, scores: list[float], *, seed: int = 0, method: str = "gail", n_demos: int = 4,
             every: int = 1000, final=(1.0, 0.9), stage: str = "gail", subsample_every: int = 1,
             upright: tuple = (), returns: tuple = ()) -> Path:
    run = root / name
    run.mkdir(parents=True)
    cfg = {"seed": seed, "env": {"id": "seals/CartPole-v0"}, "gail": {"algorithm": method, "subsample_every": subsample_every},
           "bc": {"eval_deterministic": True}}
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    rows = ["round,n_env_steps,wall_s,train_wall_s,normalized_score"]
    rows += [f"{i},{i * every},{i * 2.0},{i * 1.5},{s}" for i, s in enumerate(scores)]
    rows.insert(2, f"99,{every // 2},0.5,0.4,")  # a round without evaluation is skipped
    (run / "metrics.csv").write_text("\n".join(rows) + "\n")
    def scores(normalized: float) -> dict:
        return {"return_mean": 500.0 * (normalized or 0.0), "normalized_score": normalized}

    summary = {"stage": stage, "env_id": "seals/CartPole-v0", "seed": seed, "run_dir": str(run), "status": "finished",
               "n_demo_trajectories": n_demos, "eval_episodes": 5, "final": scores(final[0]),
               "final_eval": {"episodes": 50, "deterministic": scores(final[0]), "stochastic": scores(final[1])}}
    if returns:  # the final evaluation's episodes, as gail keeps them (argmax; the test's references: 0 and 500)
        cfg["references"] = {"random_return": 0.0, "expert_return": 500.0}
        (run / "config.yaml").write_text(yaml.safe_dump(cfg))
        summary["final_eval"]["deterministic"]["returns"] = list(returns)
    if upright:  # a locomotion task's final upright share, argmax and sampled (bc: its one evaluation)
        summary["final"]["upright_share"] = upright[0]
        for mode, share in zip(("deterministic", "stochastic"), upright):
            summary["final_eval"][mode]["upright_share"] = share
    (run / "summary.json").write_text(json.dumps(summary))
    return run


def test_curve_reading_and_thresholds(tmp_path: Path) -> None:
    scores = [0.8, 0.2, 0.96, 0.5, 0.97, 0.98, 0.99, 1.0, 0.97, 1.0]
    c = br.load_curve(make_run(tmp_path, "a", scores))
    assert c.steps == tuple(range(0, 10_000, 1000)) and c.score == tuple(scores)
    assert br.first_reach(c) == (2000, 4.0)  # the step-0 score does not count as reaching it
    assert br.first_hold(c) == 8000  # 4000..8000 is the first run of five
    assert br.first_hold(c, n_in_row=7) is None
    assert br.score_at(c, 4500) == 0.97 and br.score_at(c, 20_000) is None
    assert br.tail_mean(c) == pytest.approx((0.98 + 0.99 + 1.0 + 0.97 + 1.0) / 5)
    assert not br.stayed(c)  # last 10 include 0.2
    assert br.stayed(c, last_n=6) and not br.stayed(c, last_n=7)


def test_summary_rows_over_seeds(tmp_path: Path) -> None:
    good = [0.1, 0.96, 0.97, 0.98, 0.99, 1.0] + [1.0] * 10
    late = [0.1] * 8 + [0.96] * 8
    never = [0.1] * 16
    curves = [br.load_curve(make_run(tmp_path, f"s{i}", s, seed=i)) for i, s in enumerate((good, late, never))]
    curves.append(br.load_curve(make_run(tmp_path, "bc", [0.7], stage="bc", final=(0.7, None))))
    rows = br.summarize(curves, at_steps=[5000])
    assert [(r["method"], r["seeds"]) for r in rows] == [("bc", 1), ("gail", 3)]
    gail = rows[1]
    assert gail["steps to 0.95"] == "2/3 seeds, median of those 4.5k"
    assert gail["stayed >= 0.95 (last 10)"] == "1/3"
    assert gail["last-5 mean (min seed)"] == "0.10"
    assert gail["@5k"] == f"{(0.99 + 0.1 + 0.1) / 3:.2f} ± {__import__('statistics').pstdev([0.99, 0.1, 0.1]):.2f}"
    assert rows[0]["final (det.)"] == "0.70" and "steps to 0.95" not in rows[0]
    assert rows[0]["final per seed"] == "s0 0.700" and gail["final per seed"] == "s0 1.000, s1 1.000, s2 1.000"
    table = br.markdown(rows)
    assert table.splitlines()[0].startswith("| task | method | demos | seeds |") and len(table.splitlines()) == 4


def test_stayed_if_steady_counts_what_evaluation_noise_allows(tmp_path: Path) -> None:
    """A run whose final episodes are all at the expert would pass every 5-episode evaluation; one whose
    episodes are half at 0.9 and half at 1.0 passes each (a mean >= 0.95 needs 3 of 5 at 1.0) half the
    time, so 10 in a row almost never: the expected count is 1 of 2 even though neither policy changes."""
    steady = make_run(tmp_path, "s0", [1.0] * 12, seed=0, returns=(500.0,) * 50)
    noisy = make_run(tmp_path, "s1", [1.0] * 12, seed=1, returns=(450.0, 500.0) * 25)
    curves = [br.load_curve(steady), br.load_curve(noisy)]
    assert curves[1].final_episode_scores == (0.9, 1.0) * 25
    row = br.summarize(curves, at_steps=[])[0]
    assert row["stayed >= 0.95 (last 10)"] == "2/2" and row["stayed if steady (expected)"] == "1.0/2"
    old = br.load_curve(make_run(tmp_path, "s2", [1.0] * 12, seed=2))  # a summary without episode returns
    assert old.final_episode_scores == ()
    assert br.summarize([*curves, old], at_steps=[])[0]["stayed if steady (expected)"] == "n/a"


def test_per_seed_finals_show_what_the_mean_rounds_away(tmp_path: Path) -> None:
    """A seed at 0.895 reads as 0.90 in a two-place table; the per-seed column keeps it below 0.9."""
    curves = [br.load_curve(make_run(tmp_path, f"s{i}", [0.5], seed=i, final=(f, 0.8))) for i, f in enumerate((0.895, 0.95))]
    row = br.summarize(curves, at_steps=[])[0]
    assert row["final per seed"] == "s0 0.895, s1 0.950" and row["final (det.)"].startswith("0.92")


def test_all_seeds_reaching_gives_median_and_worst(tmp_path: Path) -> None:
    curves = [br.load_curve(make_run(tmp_path, f"s{i}", [0.0] * (i + 1) + [1.0] * 6, seed=i)) for i in range(3)]
    row = br.summarize(curves, at_steps=[])[0]
    assert row["steps to 0.95"] == "2.0k (worst 3.0k)"
    assert row["steps to hold 0.95 x5"] == "6.0k (worst 7.0k)"


def test_csv_and_plot(tmp_path: Path) -> None:
    curves = [br.load_curve(make_run(tmp_path, f"s{i}", [0.2, 0.6, 1.0], seed=i)) for i in range(2)]
    curves.append(br.load_curve(make_run(tmp_path, "bc", [0.7], stage="bc", final=(0.7, None))))
    br.evaluations_csv(curves, tmp_path / "evals.csv")
    lines = (tmp_path / "evals.csv").read_text().splitlines()
    assert lines[0].startswith("task,method,demos,seed,n_env_steps") and len(lines) == 1 + 3 + 3 + 1
    out = br.plot(curves, tmp_path / "bench.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000


def test_plot_labels_the_target_line_and_keeps_the_legend_off_the_curves(tmp_path: Path) -> None:
    curves = [br.load_curve(make_run(tmp_path, f"s{i}", [0.2, 0.6, 1.0], seed=i)) for i in range(2)]
    figures: list = []
    br.plot(curves, tmp_path / "bench.png", figures=figures)
    [ax] = [a for a in figures[0].axes if a.get_visible()]
    lines = {line.get_label(): line for line in ax.get_lines()}
    target, random = lines[f"target ({br.THRESHOLD:g} of expert)"], lines["random"]
    assert list(target.get_ydata()) == [br.THRESHOLD] * 2
    assert (target.get_linestyle(), target.get_color()) != (random.get_linestyle(), random.get_color())
    figures[0].canvas.draw()  # lay out, so that the boxes below are where the PNG has them
    legend, axes = ax.get_legend().get_window_extent(), ax.get_window_extent()
    assert legend.x0 >= axes.x1  # beside the panel, over no curve


def test_bench_plan_takes_demo_counts_from_each_config_unless_given(tmp_path: Path) -> None:
    from gailctl.experiments.bench import BenchPlan

    root = Path(__file__).resolve().parents[2]
    cartpole, acrobot = root / "configs/cartpole.yaml", root / "configs/acrobot.yaml"
    plan = BenchPlan(configs=(cartpole, acrobot), seeds="0-4", n_demos=None, quick=False, with_bc=True, overrides=())
    assert plan.grid(cartpole) == ["gail.n_demos=1,4"]  # its bench.n_demos
    assert plan.grid(acrobot) == []  # none: its gail.n_demos alone
    given = BenchPlan(configs=(cartpole,), seeds="0", n_demos=(2, 3), quick=False, with_bc=False, overrides=())
    assert given.grid(cartpole) == ["gail.n_demos=2,3"]


def test_quick_plan_runs_the_smallest_demo_count_on_its_quick_budget_with_short_final_evaluations() -> None:
    from gailctl.core.config_load import load_config
    from gailctl.experiments.bench import BenchPlan

    root = Path(__file__).resolve().parents[2]
    hopper, cartpole = root / "configs/hopper.yaml", root / "configs/cartpole.yaml"
    quick = BenchPlan(configs=(hopper,), seeds="0-1", n_demos=None, quick=True, with_bc=True, overrides=())
    assert load_config(hopper, []).bench.n_demos == (4, 25) and quick.grid(hopper) == ["gail.n_demos=4"]
    cfg = load_config(hopper, quick.budget_overrides(hopper))
    full = load_config(hopper, [])
    assert full.bench.quick_budget == 0.2 and cfg.gail.total_timesteps == int(full.gail.total_timesteps * 0.2)
    assert cfg.gail.final_eval_episodes == 10 and cfg.bc.eval_episodes == 10
    # --n-demos and a smaller --set stay the user's.
    given = BenchPlan(configs=(cartpole,), seeds="0", n_demos=(2, 3), quick=True, with_bc=False,
                      overrides=("gail.final_eval_episodes=4",))
    assert given.grid(cartpole) == ["gail.n_demos=2,3"]
    assert load_config(cartpole, given.budget_overrides(cartpole)).gail.final_eval_episodes == 4
    # A config that does not say runs a third.
    cart = load_config(cartpole, given.budget_overrides(cartpole))
    assert cart.gail.total_timesteps == int(load_config(cartpole, []).gail.total_timesteps / 3)


def test_throughput_table_has_a_row_per_task() -> None:
    from gailctl.experiments.bench import render_markdown

    speed = [{"env_id": env, "env_steps": 20480, "repeats": 3, "ppo_steps_per_s": 2000.0, "gail_steps_per_s": 1700.0,
              "gail_generator_s": 10.5, "gail_discriminator_s": 1.5, "ratio": ratio}
             for env, ratio in (("seals/CartPole-v0", 0.85), ("Pendulum-v1", 0.91))]
    text = render_markdown([], speed=speed, describe={"configs": ["a", "b"], "seeds": [0], "n_demos": None, "quick": False},
                           wall_s=60.0)
    assert "| seals/CartPole-v0 | 20480 | 3 | 2000 | 1700 | 10.5 | 1.5 | **0.85** |" in text
    assert "| Pendulum-v1 |" in text and "**0.91**" in text


def test_steps_to_point_nine_per_seed_and_subsampling_column(tmp_path: Path) -> None:
    """The table reports each seed's first 0.9, and which every-Kth-step protocol a row used."""
    fast = [0.0, 0.5, 0.91, 0.95]
    slow = [0.0, 0.2, 0.5, 0.89]
    curves = [br.load_curve(make_run(tmp_path, f"s{i}", s, seed=i, subsample_every=20)) for i, s in enumerate((fast, slow))]
    curves.append(br.load_curve(make_run(tmp_path, "all", fast, seed=0, subsample_every=1)))
    rows = br.summarize(curves, at_steps=[])
    assert [(r["every Kth step"], r["seeds"]) for r in rows] == [(1, 1), (20, 2)]
    assert rows[1]["steps to 0.9 (per seed)"] == "s0 2k, s1 never"
    plain = br.summarize(curves[2:], at_steps=[])
    assert "every Kth step" not in plain[0]  # all demonstrations whole: no column


def test_published_rows_sit_under_their_task_normalized_by_our_references(tmp_path: Path) -> None:
    from gailctl.core.config import PublishedResults

    pub = PublishedResults(source="imitation's benchmarking/ (10M env steps)", expert_return=2631.0, gail=2671.0, bc=2243.0)
    extra = br.published_rows("seals/Hopper-v1", pub, random_return=-36.0, expert_return=2580.0)
    assert [r["method"] for r in extra] == ["expert (published)", "gail (published)", "bc (published)"]
    assert extra[1]["final (det.)"] == f"{(2671 + 36) / (2580 + 36):.2f} (return 2671; {2671 / 2631:.2f} of their expert)"
    ours = [{"task": "seals/CartPole-v0", "method": "gail"}, {"task": "seals/Hopper-v1", "method": "gail"},
            {"task": "seals/Hopper-v1", "method": "bc"}]
    merged = br.with_published(ours, extra)
    assert [r["method"] for r in merged] == ["gail", "gail", "bc", "expert (published)", "gail (published)", "bc (published)"]
    assert "n/a (return 2671" in br.published_rows("x", pub, random_return=None, expert_return=None)[1]["final (det.)"]


def test_lead_over_bc_gives_the_gap_the_margin_beyond_both_spreads_and_welchs_p(tmp_path: Path) -> None:
    """GAIL against BC, measured: the gap, the margin beyond both seed spreads, and Welch's p."""
    gail = [0.94, 0.85, 0.88, 0.79, 0.29]
    bc = [0.03, 0.72, 0.01, 0.02, 0.01]
    lead = br.lead_over(gail, bc)
    stats = __import__("statistics")
    assert lead["gap"] == pytest.approx(0.75 - 0.158)
    assert lead["margin"] == pytest.approx(lead["gap"] - stats.pstdev(gail) - stats.pstdev(bc))
    assert lead["p"] == pytest.approx(0.01254, abs=1e-5)  # Welch: t = 3.23 on 7.76 degrees of freedom, by hand
    assert br.lead_over([0.88, 0.94], [0.88, 0.9])["margin"] == pytest.approx(-0.02)  # overlapping intervals
    assert br.lead_over([0.9], [0.5])["p"] != br.lead_over([0.9], [0.5])["p"]  # one seed: no test (NaN)
    assert br._lead_text(br.lead_over([1.0, 1.0], [1.0, 1.0])) == "+0.00, not beyond both spreads (+0.00), no spread to test"

    curves = [br.load_curve(make_run(tmp_path, f"g{i}", [0.0, g], seed=i, final=(g, None))) for i, g in enumerate(gail)]
    curves += [br.load_curve(make_run(tmp_path, f"b{i}", [b], seed=i, stage="bc", final=(b, None))) for i, b in enumerate(bc)]
    curves.append(br.load_curve(make_run(tmp_path, "other", [0.0, 0.9], n_demos=25, final=(0.9, None))))
    rows = {(r["method"], r["demos"]): r for r in br.summarize(curves, at_steps=[])}
    assert rows[("gail", 4)]["final - BC's"] == f"+0.59, beyond both spreads ({lead['margin']:+.2f}), Welch p={lead['p']:.3f}"
    assert "final - BC's" not in rows[("gail", 25)]  # no BC run with 25 demonstrations to compare with
    assert "final - BC's" not in rows[("bc", 4)]


def test_upright_share_per_seed_appears_only_for_locomotion_runs(tmp_path: Path) -> None:
    walking = [br.load_curve(make_run(tmp_path, f"w{i}", [0.5, 0.95], seed=i, upright=(share, 0.5)))
               for i, share in enumerate((1.0, 0.9321))]
    walking.append(br.load_curve(make_run(tmp_path, "bc", [0.7], stage="bc", final=(0.7, None), upright=(0.25,))))
    assert walking[0].final_upright == 1.0 and walking[2].final_upright == 0.25  # argmax first; bc its own
    rows = br.summarize(walking, at_steps=[])
    by_method = {r["method"]: r for r in rows}
    assert by_method["gail"]["upright per seed"] == "s0 1.000, s1 0.932"
    assert by_method["gail"]["upright (final)"] == "0.97 ± 0.03"
    assert by_method["bc"]["upright per seed"] == "s0 0.250"
    plain = br.summarize([br.load_curve(make_run(tmp_path, "cartpole", [0.5, 0.95]))], at_steps=[])
    assert "upright per seed" not in plain[0] and "upright (final)" not in plain[0]


def test_bench_report_keeps_results_md_to_eight_columns_and_adds_the_statistics(tmp_path: Path) -> None:
    """results.md: an 8-column table, then the IQM per method, P(gail > bc) and the profiles figure;
    results.csv: the wide table's columns in their order, then the IQM and P(> bc) columns."""
    import csv

    from gailctl.experiments.bench import _report
    from gailctl.report.bench_stats import CSV_COLUMNS, MAIN_COLUMNS

    gail, bc = [0.2, 0.9, 0.95, 1.0, 1.05], [0.1, 0.2, 0.3, 0.4, 0.5]
    runs = [make_run(tmp_path / "trials", f"g{i}", [0.0, 0.5, g], seed=i, final=(g, None)) for i, g in enumerate(gail)]
    runs += [make_run(tmp_path / "trials", f"b{i}", [b], seed=i, stage="bc", final=(b, None)) for i, b in enumerate(bc)]
    bench_dir = tmp_path / "bench"
    bench_dir.mkdir()
    describe = {"configs": ["configs/cartpole.yaml"], "seeds": [0, 1, 2, 3, 4], "n_demos": None, "quick": False, "set": []}
    root = Path(__file__).resolve().parents[2]
    summary = _report(bench_dir, describe, {"stage": "bench"}, [{"status": "finished", "run_dir": str(r)} for r in runs],
                      config_files=[root / "configs/cartpole.yaml"], speed=None, wall_s=60.0)

    report = (bench_dir / "results.md").read_text()
    tables = [line for line in report.splitlines() if line.startswith("| task | method |")]
    assert tables == ["| " + " | ".join(MAIN_COLUMNS) + " |"] and len(MAIN_COLUMNS) <= 8
    # IQM of 5 seeds: the middle 3 (0.9, 0.95, 1.0); BC's: 0.2, 0.3, 0.4
    assert "| seals/CartPole-v0 | gail | 4 | 5 | 0.95 [" in report and "| seals/CartPole-v0 | bc | 4 | 5 | 0.30 [" in report
    # four GAIL seeds beat every BC seed; the 0.2 seed beats 0.1 and ties 0.2: (20 + 1.5) / 25
    assert "| seals/CartPole-v0 | 4 | P(gail > bc) | 0.86 [" in report and "**all" not in report  # one task: no average
    assert "](profiles.png)" in report and (bench_dir / "profiles.png").read_bytes()[:4] == b"\x89PNG"

    with open(bench_dir / "results.csv", newline="") as fh:
        reader = csv.DictReader(fh)
        columns, wide = list(reader.fieldnames or []), list(reader)
    assert columns == br.columns_of(summary["table"]) + list(CSV_COLUMNS)
    by_method = {r["method"]: r for r in wide}
    assert float(by_method["gail"]["final IQM"]) == pytest.approx(0.95)
    assert float(by_method["gail"]["P(> bc)"]) == pytest.approx(0.86) and by_method["bc"]["P(> bc)"] == ""
    low, high = float(by_method["gail"]["final IQM 95% CI low"]), float(by_method["gail"]["final IQM 95% CI high"])
    assert low <= 0.95 <= high and low < high
    assert summary["statistics"]["iqm"][0]["method"] == "gail" and summary["artifacts"]["profiles"] == "profiles.png"


def _with_picks(run: Path, *, selection: float, rescored: float, reward_free: float) -> Path:
    """A gail run's summary with its kept policies' records (as `gailctl.rl.selection.selected` writes them)."""
    summary = json.loads((run / "summary.json").read_text())

    def pick(criterion: str, chosen: float, fresh: float) -> dict:
        return {"criterion": criterion, "uses_env_reward": criterion == "env_reward", "file": f"{criterion}.zip",
                "round": 3, "n_env_steps": 3000, "selection_value": chosen,
                "selection": {"return_mean": 500 * chosen, "normalized_score": chosen},
                "rescored": {"return_mean": 500 * fresh, "normalized_score": fresh}, "rescored_episodes": 50,
                "gap": chosen - fresh, "gap_is_normalized": True}

    summary["best_by_reward"] = pick("env_reward", selection, rescored)
    summary["best_reward_free"] = pick("heldout_demos", 0.5, reward_free)
    (run / "summary.json").write_text(json.dumps(summary))
    return run


def test_model_selection_table_from_summaries_and_older_runs_skipped(tmp_path: Path) -> None:
    from gailctl.report import bench_selection

    curves = [br.load_curve(_with_picks(make_run(tmp_path, "s0", [0.5, 1.0], seed=0, final=(0.8, 0.7)),
                                        selection=1.0, rescored=0.9, reward_free=0.85)),
              br.load_curve(_with_picks(make_run(tmp_path, "s1", [0.5, 1.0], seed=1, final=(0.6, 0.7)),
                                        selection=1.1, rescored=0.7, reward_free=0.65)),
              br.load_curve(make_run(tmp_path, "bc0", [0.5], method="bc", stage="bc", final=(0.5, 0.5)))]
    (row,) = bench_selection.rows(curves)  # bc kept no pick: no row
    assert (row["task"], row["method"], row["seeds"]) == ("seals/CartPole-v0", "gail", "2")
    assert row["final"] == "0.70" and row["best by reward, re-scored"] == "0.80"
    assert row["selection optimism"] == "0.25" and row["best by held-out demos, re-scored"] == "0.75"
    text = "\n".join(bench_selection.section(curves))
    assert "## Model selection" in text and "| seals/CartPole-v0 | gail | 4 | 2 | 0.70 | 0.80 | 0.25 | 0.75 |" in text
    wide = {r["method"]: r for r in br.summarize(curves, at_steps=[])}
    assert wide["gail"]["best by reward, re-scored, per seed"] == "s0 0.900, s1 0.700"
    assert wide["gail"]["selection optimism per seed"] == "s0 0.100, s1 0.400"
    assert "selection optimism per seed" not in wide["bc"]
    assert bench_selection.section(curves[2:]) == []  # runs without picks (older gail, bc): no table
    # Demonstrations with nothing beyond the training trajectories: the pick was measured on those, and marked.
    on_training = tmp_path / "s2"
    _with_picks(make_run(tmp_path, "s2", [0.5, 1.0], seed=2, final=(0.8, 0.7)), selection=1.0, rescored=0.9,
                reward_free=0.85)
    summary = json.loads((on_training / "summary.json").read_text())
    summary["heldout"] = {"heldout": False, "n_trajectories": 4, "n_transitions": 800, "note": "not held out"}
    (on_training / "summary.json").write_text(json.dumps(summary))
    (marked,) = bench_selection.rows([br.load_curve(on_training)])
    assert marked["best by held-out demos, re-scored"] == "0.85 †" and row["best by held-out demos, re-scored"] == "0.75"


def test_statistics_use_the_three_places_the_table_prints(tmp_path: Path) -> None:
    """Seeds 0.98612 and 0.98649 print as 0.986 both: the bench and a page reading results.csv back
    must both count them a tie, or P(GAIL > BC) differs between the two."""
    from gailctl.report import bench_stats

    gail = [0.98612, 0.95, 0.97]
    bc = [0.98649, 0.96, 0.99]
    curves = [br.load_curve(make_run(tmp_path, f"g{i}", [s], seed=i, final=(s, s))) for i, s in enumerate(gail)]
    curves += [br.load_curve(make_run(tmp_path, f"b{i}", [s], seed=i, stage="bc", final=(s, None))) for i, s in enumerate(bc)]
    finals = br.final_scores(curves)
    assert sorted(finals.values()) == [[0.986, 0.95, 0.97], [0.986, 0.96, 0.99]]
    from_table = bench_stats.finals_from_rows(br.summarize(curves, at_steps=[]))
    ours, theirs = bench_stats.compute(finals), bench_stats.compute(from_table)
    assert [i.estimate.text() for i in ours.improvements] == [i.estimate.text() for i in theirs.improvements]
    assert ours.improvements[0].estimate.point == pytest.approx((0.5 + 1 + 0 + 0 + 0 + 0 + 0 + 1 + 0) / 9)  # the tie counts half
