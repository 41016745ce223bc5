"""`gailctl expert`: train a PPO expert with periodic evaluation and checkpoints.

Evaluations and checkpoints fall on rollout boundaries: the row at N env steps scores the
policy trained on N steps, and a checkpoint at N holds everything the next rollout starts from.
The run loop (`gailctl.core.run_loop`) keeps best_model.zip and stops and resumes cleanly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from gailctl.core.checkpoints import latest_checkpoint, read_state
from gailctl.core.config import Config
from gailctl.core.run_loop import EVAL_KEYS, EverySteps, LoopPlan, Resumed, RunLoop, final_scores
from gailctl.core.summaries import Best, ExpertResult, Scores
from gailctl.core.ui import console
from gailctl.rl.env.make import EVAL_SEED_OFFSET, make_venv
from gailctl.rl.evaluation import evaluate
from gailctl.rl.ppo import MODEL_FILE, PPOLearner
from gailctl.rl.torch_setup import setup_torch

COLUMNS = ("n_env_steps", "wall_s", *EVAL_KEYS)


def normalization_note(*, obs: bool, reward: bool) -> str:
    """What the summary says about a policy trained behind VecNormalize."""
    parts = [f"trained behind VecNormalize ({', '.join(k for k, on in (('observations', obs), ('rewards', reward)) if on)})"]
    if obs:
        parts.append("the observation statistics are folded into the first layers of every zip (model.zip, best_model.zip "
                     "and the checkpoints' model.zip), which take raw observations; checkpoints also keep the trained "
                     "weights (policy_trained.pt) and vecnormalize.pt for --resume")
    return "; ".join(parts)


def budget_lines(cfg: Config) -> list[str]:
    """What the expert will train, said before it starts: the budget in whole rollouts.

    SB3 only stops between rollouts, so the effective budget is `expert.total_timesteps` rounded
    up to a whole number of rollouts (the config refuses budgets under one rollout); a budget
    that needs rounding gets a warning that names the key.
    """
    ecfg = cfg.expert
    rollout, n_rollouts, n_steps = cfg.expert_steps_per_rollout, cfg.expert_n_rollouts, cfg.expert_budget
    lines = [f"expert: {n_steps:,} env steps = {n_rollouts:,} rollout{'s' if n_rollouts != 1 else ''} of {rollout:,} "
             f"({cfg.expert_env.n_envs} envs x {ecfg.ppo.n_steps} steps)"]
    if ecfg.env_kwargs:
        made = ", ".join(f"{k}={v}" for k, v in ecfg.env_kwargs.items())
        lines.append(f"expert: trains on {cfg.env.id} made with {made}; evaluated on {cfg.env.id} as it is")
    if n_steps != ecfg.total_timesteps:
        lines.append(f"[yellow]warning:[/] expert.total_timesteps = {ecfg.total_timesteps} is not a whole number of "
                     f"rollouts of {rollout:,}: rounded up to {n_steps:,} (PPO stops only between rollouts)")
    return lines


def best_note(n_env_steps: int) -> Optional[str]:
    """A hint when best_model.zip is the untrained policy (no later evaluation beat the first)."""
    if n_env_steps == 0:
        return "the untrained policy scored best: best_model.zip is the initial policy, no later evaluation beat it"
    return None


def run(cfg: Config, run_dir: Path, *, resume: bool = False) -> ExpertResult:
    setup_torch()
    ecfg = cfg.expert
    checkpoint = latest_checkpoint(run_dir) if resume else None  # execute refused a resume without one
    resumed = Resumed(checkpoint, read_state(checkpoint)) if checkpoint else None
    start = resumed.n_env_steps if resumed else 0
    # Resumed envs start fresh episodes from a seed of their own (env states are not checkpointed).
    venv = make_venv(cfg.expert_env, seed=cfg.seed + start, make_kwargs=ecfg.env_kwargs, kwargs_key="expert.env_kwargs")
    eval_venv = make_venv(cfg.env, seed=cfg.seed + EVAL_SEED_OFFSET + start, n_envs=min(ecfg.eval_episodes, cfg.expert_env.n_envs))
    for line in budget_lines(cfg):
        console.print(line)
    common = {"venv": venv, "seed": cfg.seed, "env_id": cfg.env.id, "budget": cfg.expert_budget}
    learner = PPOLearner.load(resumed.folder, resumed.state, ecfg, **common) if resumed else PPOLearner.build(ecfg, **common)

    def score() -> dict[str, Any]:  # the zip we would save, on raw eval envs, in true returns
        with learner.policy() as policy:
            return evaluate(policy, eval_venv, n_episodes=ecfg.eval_episodes, deterministic=ecfg.eval_deterministic).as_row(cfg.references)

    plan = LoopPlan(stage="expert", unit="rollout", n_units=cfg.expert_n_rollouts, columns=COLUMNS, unit_column=None,
                    eval_every=EverySteps(ecfg.eval_every, start), checkpoint_every=EverySteps(ecfg.checkpoint_every, start),
                    rows_every_unit=False, bar_label="expert", bar_total=cfg.expert_budget)
    learner.stop_on_signal()
    with RunLoop(run_dir, plan, learner, resumed=resumed, evaluate=score, keep_best=learner.save_policy) as loop:
        loop.run(lambda: learner.learn(plan.n_units, callback=lambda unit, n: loop.unit_done(unit, n)))
    learner.save_policy(run_dir / MODEL_FILE)
    return ExpertResult(
        n_env_steps=learner.n_env_steps, n_rollouts=learner.units_done, steps_per_rollout=learner.rollout_steps,
        n_updates=learner.n_updates, final=Scores(**final_scores(loop.last_eval)),
        best=Best(**loop.best, **({"note": note} if (note := best_note(loop.best["n_env_steps"])) else {})),
        eval_episodes=ecfg.eval_episodes, eval_deterministic=ecfg.eval_deterministic,
        artifacts={"model": MODEL_FILE, "best_model": "best_model.zip"},
        **({"normalization": {"obs": ecfg.normalize_obs, "reward": ecfg.normalize_reward,
                              "note": normalization_note(obs=ecfg.normalize_obs, reward=ecfg.normalize_reward)}}
           if learner.vec is not None else {}),
    )
