"""`gailctl dagger`: interactive imitation. The policy acts, a teacher labels, BC retrains on everything labelled.

With an expert (`--expert`) it is DAgger on imitation's SimpleDAggerTrainer; with a person
(`--human`) HG-DAgger on its DAggerTrainer, in a window where the person takes over while
holding a key (gailctl.rl.dagger). The run loop (gailctl.core.run_loop) writes a row per round
with the policy alone scored, checkpoints every round and stops and resumes cleanly; after every
round the run folder holds the aggregate in imitation's format (`demos/`, for gail, bc or
another dagger) and the policy (`policies/round_NNN.zip`; `policy.zip` the last).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Optional

import numpy as np

from gailctl.core.checkpoints import latest_checkpoint, read_state
from gailctl.core.config import Config, PPOConfig
from gailctl.core.demo_sources import DemoSource
from gailctl.core.errors import UsageError
from gailctl.core.run_loop import EVAL_KEYS, EveryUnits, LoopPlan, Resumed, RunLoop
from gailctl.core.summaries import DaggerResult, Reached, Scores
from gailctl.rl.cloning import bc_trainer
from gailctl.rl.dagger import DaggerLearner, ExpertTeacher, PersonTeacher
from gailctl.rl.demos import check_demos_fit, load_demos, write_demos
from gailctl.rl.env.make import EVAL_SEED_OFFSET, make_venv
from gailctl.rl.evaluation import evaluate
from gailctl.rl.policies import build_ppo, load_ppo, save_zip
from gailctl.rl.torch_setup import setup_torch

COLUMNS = ("round", "n_env_steps", "wall_s", "beta", "labels", "round_labels", "takeover_steps", "round_return",
           "bc_loss", *EVAL_KEYS)
HUMAN_STEPS_FILE = "human_steps.csv"
TARGET = 0.95
"""The normalized score whose first round the summary reports (`reached`), as the benchmarks do."""


def start_trajectories(cfg: Config, demos_dir: Optional[DemoSource], venv: Any) -> list[Any]:
    """The starting demonstrations, whole (DAgger learns from trajectories; gail.subsample_every does not apply)."""
    d = cfg.dagger
    if not d.start_from_demos or demos_dir is None:
        return []
    n_demos = d.n_demos or cfg.gail.n_demos
    trajs = load_demos(demos_dir, n_demos=n_demos, key="dagger.n_demos" if d.n_demos else "gail.n_demos")
    check_demos_fit(trajs, venv, cfg, demos_dir, batch_size=cfg.bc.batch_size, batch_key="bc.batch_size",
                    need_fixed_horizon=False)
    return trajs


def policy_actor(policy: Any, *, continuous: bool) -> Any:
    """The policy's argmax action for one observation, as the env takes it (what the person watches)."""

    def act(obs: np.ndarray) -> Any:
        action, _ = policy.predict(np.asarray(obs)[None], deterministic=True)
        return np.asarray(action[0], dtype=np.float32) if continuous else int(action[0])

    return act


def run(cfg: Config, run_dir: Path, *, expert_zip: Optional[Path] = None, demos_dir: Optional[DemoSource] = None,
        resume: bool = False) -> DaggerResult:
    setup_torch()
    d, b = cfg.dagger, cfg.bc
    human = d.teacher == "human"
    checkpoint = latest_checkpoint(run_dir) if resume else None  # execute refused a resume without one
    resumed = Resumed(checkpoint, read_state(checkpoint)) if checkpoint else None
    if human:
        from gailctl.rl.env.human import check_keymap
        from gailctl.rl.env.window import prefer_x11

        keymap = check_keymap(cfg)
        prefer_x11()
        import datasets  # noqa: F401  its first import takes seconds: not in the window's first pause
    venv = make_venv(cfg.env, seed=cfg.seed, n_envs=1 if human else d.n_envs, render_mode="rgb_array" if human else None)
    spaces = (venv.observation_space, venv.action_space)
    eval_venv = make_venv(cfg.env, seed=cfg.seed + EVAL_SEED_OFFSET, n_envs=min(d.eval_episodes, cfg.env.n_envs))
    expert = None
    if not human:
        from gailctl.rl.env.vecnorm_stats import obs_normalization_for

        assert expert_zip is not None, "the CLI resolves the expert before calling"
        obs_normalization_for(expert_zip, None)  # an expert that needs VecNormalize statistics is refused here
        expert = load_ppo(expert_zip, venv, env_id=cfg.env.id, seed=cfg.seed).policy
    start = [] if resumed else start_trajectories(cfg, demos_dir, venv)
    model = build_ppo(venv, PPOConfig(net_arch=b.net_arch), seed=cfg.seed)  # a PPO shell: SB3's layout, a zip eval loads
    bc = bc_trainer(model.policy, None, b, seed=cfg.seed, log_dir=run_dir / "imitation")
    trainer = DaggerLearner.make_trainer(venv=venv, bc=bc, scratch=run_dir / "dagger", seed=cfg.seed,
                                         beta_rampdown_rounds=d.beta_rampdown_rounds, expert_policy=expert,
                                         log_dir=run_dir / "imitation")
    continuous = not hasattr(venv.action_space, "n")

    def score() -> dict[str, Any]:
        return evaluate(model, eval_venv, n_episodes=d.eval_episodes, deterministic=d.eval_deterministic).as_row(cfg.references)

    def save_round(unit: int) -> None:
        write_demos(run_dir / "demos", learner.aggregate, env_cfg=cfg.env, spaces=spaces)
        save_zip(model, run_dir / "policies" / f"round_{unit:03d}.zip")
        save_zip(model, run_dir / "policy.zip")

    plan = LoopPlan(stage="dagger", unit="round", n_units=d.rounds, columns=COLUMNS, unit_column="round",
                    eval_every=EveryUnits(1), checkpoint_every=EveryUnits(1), bar_label="dagger rounds")
    with contextlib.ExitStack() as stack:
        if human:
            from gailctl.core.signals import OpenStops
            from gailctl.rl.env.human import Session, StepLog, episode_horizon

            steps = stack.enter_context(StepLog(run_dir / HUMAN_STEPS_FILE))
            session = Session(venv, keymap, env_id=cfg.env.id, horizon=episode_horizon(cfg.env, venv), fps=cfg.record.human.fps, title=f"gailctl dagger --human: {cfg.env.id}", command="dagger --human",
                              stop=OpenStops(), steps=steps)
            stack.callback(session.close)
            teacher: Any = PersonTeacher(session, continuous=continuous, n_rounds=d.rounds,
                                         act=policy_actor(model.policy, continuous=continuous))
        else:
            teacher = ExpertTeacher(expert, steps_per_round=d.steps_per_round)
        learner = DaggerLearner(trainer, teacher, bc_epochs=d.bc_epochs, seed=cfg.seed, aggregate=[])
        start_stats: dict[str, Any] = {}
        if resumed is not None:
            n = int(resumed.state["n_trajectories"])
            learner.aggregate = load_demos(run_dir / "demos", n_demos=n) if n else []
            learner.restore(resumed.folder, resumed.state)
        else:
            loss = learner.start(start, epochs=b.n_epochs)
            start_stats = {"labels": learner.labels, "round_labels": learner.labels,
                           "bc_loss": "" if loss is None else loss}
            save_round(0)
        if human:
            session.open(cfg.seed + learner.units_done + 1)
            _say_how(cfg, keymap)

        def round_done(unit: int, n_env_steps: int, stats: dict[str, Any]) -> None:
            save_round(unit)
            loop.unit_done(unit, n_env_steps, stats)

        with RunLoop(run_dir, plan, learner, resumed=resumed, evaluate=score,
                     describe=lambda stats: f"labels {stats['labels']}") as loop:
            loop.run(lambda: learner.learn(d.rounds, round_done), start_stats=start_stats)
    return _result(cfg, run_dir, learner, expert_zip=expert_zip, demos_dir=demos_dir, last=loop.last_eval)


def _say_how(cfg: Config, keymap: Any) -> None:
    from gailctl.core.ui import console

    console.print(f"dagger --human: a window is open on {cfg.env.id}. Each round is one episode: press return and the "
                  f"policy drives; hold {keymap.start_keys()} to take over ({keymap.legend(cfg.env.id)}), release to hand "
                  "back. Your steps join the demonstrations and BC retrains after the episode. Space pauses, backspace "
                  "redoes the episode, return lets the policy finish it unseen, esc stops (resume with --resume).",
                  highlight=False)


def _result(cfg: Config, run_dir: Path, learner: DaggerLearner, *, expert_zip: Optional[Path],
            demos_dir: Optional[DemoSource], last: dict[str, Any]) -> DaggerResult:
    """The summary's result, read from the run's own rows (a resumed run's earlier rounds included)."""
    from gailctl.core.metrics import read_metrics

    rows = [r for r in read_metrics(run_dir) if r.get("return_mean", "") != ""]
    first = next((r for r in rows if r["normalized_score"] not in ("", None) and float(r["normalized_score"]) >= TARGET), None)
    takeovers = [int(float(r["takeover_steps"])) for r in rows if r.get("takeover_steps", "") != ""]

    def scores(row: dict[str, Any]) -> Scores:
        return Scores(**{k: float(row[k]) for k in EVAL_KEYS if row.get(k, "") != ""})

    return DaggerResult(
        teacher=cfg.dagger.teacher, expert=None if expert_zip is None else str(expert_zip),
        demos=str(demos_dir) if demos_dir is not None and cfg.dagger.start_from_demos else None,
        n_start_trajectories=learner.n_start, n_start_transitions=sum(len(t.acts) for t in learner.aggregate[:learner.n_start]),
        rounds=learner.units_done, n_env_steps=learner.n_env_steps, labels=learner.labels,
        takeover_steps=sum(takeovers) if cfg.dagger.teacher == "human" else None,
        start=scores(rows[0]) if rows and int(float(rows[0]["round"])) == 0 else None,
        final=Scores(**{k: float(last[k]) for k in EVAL_KEYS if k in last}),
        reached=None if first is None else Reached(threshold=TARGET, round=int(float(first["round"])),
                                                   labels=int(float(first["labels"])),
                                                   n_env_steps=int(float(first["n_env_steps"]))),
        eval_episodes=cfg.dagger.eval_episodes, eval_deterministic=cfg.dagger.eval_deterministic,
        artifacts={"policy": "policy.zip", "policies": "policies", "demos": "demos",
                   **({"steps": HUMAN_STEPS_FILE} if cfg.dagger.teacher == "human" else {})},
    )
