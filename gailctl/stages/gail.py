"""`gailctl gail`: imitation's GAIL (or AIRL) on saved demonstrations, with per-round metrics.

The learner (`gailctl.rl.gail.GailLearner`) trains round by round through imitation's public
`train_gen` / `train_disc`; the run loop (`gailctl.core.run_loop`) writes a metrics row per round
with the discriminator's statistics, measures the generator's true return on separate eval envs
every few rounds, checkpoints on round boundaries, and stops and resumes cleanly. It keeps two
policies besides the last (`gailctl.rl.selection`): best_policy.zip, the round with the highest
return, and best_policy_reward_free.zip, the round whose visited states are closest to held-out
demonstrations' states; both are scored again on fresh episodes at the end. With
gail.policy_average_halflife the policy evaluated, kept and shipped is a moving average of the
rounds' weights (`gailctl.rl.gail.averaging`); the last iterate is saved and scored beside it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional

from gailctl.core.checkpoints import latest_checkpoint, read_state
from gailctl.core.config import Config
from gailctl.core.run_loop import EVAL_KEYS, EveryUnits, LoopPlan, Resumed, RunLoop, final_scores
from gailctl.core.summaries import FinalEval, GailResult, HeldOutSource, Scores, Selected
from gailctl.core.ui import console
from gailctl.doctor.live import LiveDoctor
from gailctl.report.curves import gail_curve_png
from gailctl.core.demo_sources import DemoSource
from gailctl.rl.demos import check_demos_fit, next_obs_note, read_demos
from gailctl.rl.env.make import EVAL_SEED_OFFSET, make_venv, warn_variable_horizon
from gailctl.rl.evaluation import evaluate
from gailctl.rl.gail.learner import LAST_ITERATE_FILE, POLICY_FILE, REWARD_NET_FILE, GailLearner, RoundDone
from gailctl.rl.gail.trainer import DISC_KEYS, mean_disc_stats
from gailctl.rl.heldout import COLUMN as HELDOUT_COLUMN
from gailctl.rl.heldout import COLUMNS as HELDOUT_COLUMNS
from gailctl.rl.heldout import STATE_COLUMN, HeldOutDemos, heldout_demos, policy_error
from gailctl.rl.state_distance import EVAL_STATE_EVERY
from gailctl.rl.selection import BY_REWARD, CRITERIA, REWARD_FREE, rescore, selected, selection_line
from gailctl.rl.subsample import demo_transitions
from gailctl.rl.torch_setup import setup_torch

COLUMNS = ("round", "n_env_steps", "wall_s", "train_wall_s", *DISC_KEYS, *EVAL_KEYS, *HELDOUT_COLUMNS)


def metrics_header(run_dir: Path) -> list[str]:
    """metrics.csv's columns ([] without one)."""
    path = run_dir / "metrics.csv"
    return path.read_text(encoding="utf-8").split("\n", 1)[0].strip().split(",") if path.is_file() else []


def _held_out_columns(run_dir: Path, *, resumed: bool) -> tuple[str, ...]:
    """The held-out measures this invocation writes: all of them, or on a resume those its metrics.csv was
    started with (a run begun by an older gailctl keeps its header)."""
    if not resumed:
        return HELDOUT_COLUMNS
    header = metrics_header(run_dir)
    return tuple(c for c in HELDOUT_COLUMNS if c in header)


def _held_out(read: Any, demos: DemoSource, *, n_train: int) -> Optional[HeldOutDemos]:
    """The demonstrations the held-out measures are taken on; None for dict observations."""
    every = read.trajectories if read.n_available <= n_train else read_demos(demos).trajectories
    return heldout_demos(every, n_train=n_train)


def _picks(cfg: Config, run_dir: Path, picks: dict[str, dict[str, Any]]) -> dict[str, Selected]:
    """Each kept policy's record, with its score on fresh final-evaluation episodes (once per round:
    both criteria often pick the same one, and its zips then hold the same policy)."""
    n = cfg.gail.final_eval_episodes
    out: dict[str, Selected] = {}
    scored: dict[int, Scores] = {}
    for criterion, keep in CRITERIA.items():
        if keep.file in picks and (run_dir / keep.file).is_file():
            row, unit = picks[keep.file], int(float(picks[keep.file]["round"]))
            if unit not in scored:
                scored[unit] = rescore(run_dir / keep.file, cfg, n_episodes=n)
            out[criterion] = selected(criterion, row, scored[unit], n_episodes=n)
    return out


def budget_line(cfg: Config) -> tuple[str, Optional[str]]:
    """What the run will train, said before it starts, and a warning if the budget was cut to whole rounds.

    gail.total_timesteps below one round is refused by the config (exit 2), so there is at least one.
    """
    g, per_round = cfg.gail, cfg.gail_steps_per_round
    n_rounds = g.total_timesteps // per_round
    line = f"{g.algorithm}: {n_rounds * per_round:,} env steps = {n_rounds} round{'' if n_rounds == 1 else 's'} of {per_round:,}"
    warning = None
    if n_rounds * per_round != g.total_timesteps:
        warning = (f"gail.total_timesteps = {g.total_timesteps:,} is not a whole number of rounds "
                   f"(gail.ppo.n_steps x env.n_envs = {per_round:,}): training {n_rounds * per_round:,} env steps")
    return line, warning


def run(cfg: Config, run_dir: Path, *, demos: DemoSource, resume: bool = False) -> GailResult:
    """`demos`: any source `core.demo_sources.resolve_demos` accepts (folder, Minari dataset, npz, HDF5)."""
    setup_torch()
    g = cfg.gail
    read = read_demos(demos, n_demos=g.n_demos)
    trajs = read.trajectories
    checkpoint = latest_checkpoint(run_dir) if resume else None  # execute refused a resume without one
    resumed = Resumed(checkpoint, read_state(checkpoint)) if checkpoint else None
    steps0 = resumed.n_env_steps if resumed else 0
    # Resumed envs start fresh episodes from a seed of their own (env states are not checkpointed).
    venv = make_venv(cfg.env, seed=cfg.seed + steps0)
    kept = demo_transitions(trajs, every=g.subsample_every, seed=cfg.seed)
    check_demos_fit(trajs, venv, cfg, demos, n_transitions=len(kept))
    for warning in (warn_variable_horizon(cfg.env), next_obs_note(read, cfg)):
        if warning is not None:
            console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    eval_venv = make_venv(cfg.env, seed=cfg.seed + EVAL_SEED_OFFSET + steps0, n_envs=min(g.eval_episodes, cfg.env.n_envs))
    common = {"env": cfg.env, "seed": cfg.seed, "venv": venv, "demos": kept, "log_dir": run_dir / "imitation"}
    if resumed:
        learner = GailLearner.load(resumed.folder, resumed.state, g, **common)
    else:
        learner = GailLearner.build(g, bc=cfg.bc, **common)
    if learner.bc_init_loss is not None:
        console.print(f"generator cloned from the demonstrations: {g.bc_init_epochs} BC epochs, last loss {learner.bc_init_loss:.3f}")
    n_rounds = g.total_timesteps // learner.steps_per_round
    if learner.rounds_done < g.value_warmup_rounds:
        console.print(f"rounds {learner.rounds_done + 1}-{min(g.value_warmup_rounds, n_rounds)}: "
                      "PPO trains only its value function (gail.value_warmup_rounds)")
    measured = _held_out_columns(run_dir, resumed=resumed is not None)
    held = _held_out(read, demos, n_train=len(trajs)) if measured else None
    if held is not None and not held.heldout:
        console.print(f"[yellow]note:[/] reward-free selection (best_policy_reward_free.zip): {held.note}",
                      highlight=False, soft_wrap=True)
    line, cut = budget_line(cfg)
    if cut is not None:
        console.print(f"[yellow]warning:[/] {cut}")
    console.print(line)

    # A fresh run writes every column (NaN where there is nothing held out); a resume keeps its header's.
    columns = tuple(c for c in COLUMNS if c not in HELDOUT_COLUMNS or c in measured)

    def score(n_episodes: int, deterministic: bool, *, per_round: bool = False, returns: bool = False,
              last_iterate: bool = False) -> dict[str, Any]:
        shipped = learner.last_iterate() if last_iterate else learner.policy()
        with shipped as policy:  # as policy.zip (or policy_last_iterate.zip) ships it, on raw eval envs
            states = per_round and held is not None and STATE_COLUMN in columns
            scored = evaluate(policy, eval_venv, n_episodes=n_episodes, deterministic=deterministic,
                              keep_states_every=EVAL_STATE_EVERY if states else 0)
            row = scored.as_row(cfg.references)
            if per_round and HELDOUT_COLUMN in columns:  # the same weights, on the held-out demonstrations' observations
                row[HELDOUT_COLUMN] = policy_error(policy, held) if held is not None else float("nan")
            if per_round and STATE_COLUMN in columns:  # where its episodes went, against the held-out states
                row[STATE_COLUMN] = held.states.mmd2(scored.states) if states and scored.states is not None else float("nan")
            if returns:
                row["returns"] = [float(r) for r in scored.returns]
            return row

    plan = LoopPlan(stage="gail", unit="round", n_units=n_rounds, columns=columns, unit_column="round",
                    eval_every=EveryUnits(max(1, math.ceil(g.eval_every / learner.steps_per_round))),
                    checkpoint_every=EveryUnits(max(1, math.ceil(g.checkpoint_every / learner.steps_per_round))),
                    bar_label=f"{g.algorithm} rounds")
    learner.stop_on_signal()
    with RunLoop(run_dir, plan, learner, resumed=resumed,
                 evaluate=lambda: score(g.eval_episodes, g.eval_deterministic, per_round=True),
                 describe=lambda stats: f"disc acc {stats['disc_acc']:.2f}", keep_best=learner.save_policy,
                 keep=(BY_REWARD, REWARD_FREE)) as loop:
        # The doctor's live checks read every row (a resumed run's after the loop cut them back to its checkpoint).
        doctor = LiveDoctor.for_gail(run_dir, cfg, trajs=trajs, demos=demos, n_kept=len(kept),
                                     start_round=learner.rounds_done, echo=console.print)
        loop.watch(doctor.observe)

        def round_done(done: RoundDone) -> None:
            loop.unit_done(done.round, done.n_env_steps, mean_disc_stats(done.disc_stats))

        loop.run(lambda: learner.learn(n_rounds, callback=round_done))
    learner.save_reward_net(run_dir / REWARD_NET_FILE)
    learner.save_policy(run_dir / POLICY_FILE)
    modes = (("deterministic", True), ("stochastic", False))
    final_evals = {mode: Scores(**score(g.final_eval_episodes, det, returns=True)) for mode, det in modes}
    last_iterate = None
    if learner.average is not None:
        learner.save_last_iterate(run_dir / LAST_ITERATE_FILE)
        last_iterate = FinalEval(episodes=g.final_eval_episodes, **{
            mode: Scores(**score(g.final_eval_episodes, det, returns=True, last_iterate=True)) for mode, det in modes})
    picks = _picks(cfg, run_dir, loop.picks)  # after the final evaluation: loading a zip reseeds torch
    for pick in picks.values():
        console.print(selection_line(pick), highlight=False, soft_wrap=True)
    curves = gail_curve_png(run_dir)  # never raises: a picture must not fail a finished training
    return GailResult(
        algorithm=g.algorithm, demos=demos.spec, n_demo_trajectories=len(trajs), subsample_every=g.subsample_every,
        n_demo_transitions=len(kept), bc_init_epochs=g.bc_init_epochs, value_warmup_rounds=g.value_warmup_rounds,
        bc_weight=g.bc_weight, n_rounds=n_rounds, steps_per_round=learner.steps_per_round, n_env_steps=learner.n_env_steps,
        final=Scores(**final_scores(loop.last_eval)),
        eval_episodes=g.eval_episodes, eval_deterministic=g.eval_deterministic,
        final_eval=FinalEval(episodes=g.final_eval_episodes, **final_evals), last_iterate=last_iterate,
        artifacts={"policy": POLICY_FILE, "reward_net": REWARD_NET_FILE, "curves": curves.name if curves else None,
                   **({"policy_last_iterate": LAST_ITERATE_FILE} if last_iterate is not None else {}),
                   **{k.file.removesuffix(".zip"): k.file for c, k in CRITERIA.items() if c in picks}},
        demo_stats=doctor.demos.to_json(),
        best_by_reward=picks.get("env_reward"), best_reward_free=picks.get("heldout_demos"),
        heldout=HeldOutSource(**held.summary()) if held is not None else None,
    )
