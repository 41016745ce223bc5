"""`gailctl bc`: behavioural cloning on the same demonstrations, the baseline GAIL is judged against."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gailctl.core.config import Config, PPOConfig
from gailctl.core.run_loop import EVAL_KEYS, LoopPlan, Never, RunLoop, final_scores
from gailctl.core.summaries import BCResult, Scores
from gailctl.core.demo_sources import DemoSource
from gailctl.rl.cloning import BCEpochs, bc_trainer, demo_normalizer, normalized_demos
from gailctl.rl.demos import check_demos_fit, load_demos
from gailctl.rl.env.make import EVAL_SEED_OFFSET, make_venv
from gailctl.rl.env.normalize import raw_obs_weights
from gailctl.rl.evaluation import evaluate
from gailctl.rl.policies import build_ppo, save_zip
from gailctl.rl.subsample import demo_transitions
from gailctl.rl.torch_setup import setup_torch

COLUMNS = ("epoch", "n_env_steps", "wall_s", "bc_loss", *EVAL_KEYS)


def run(cfg: Config, run_dir: Path, *, demos: DemoSource) -> BCResult:
    """Train imitation's BC on a fresh PPO MlpPolicy, so the result is an ordinary SB3 zip.

    With bc.normalize_obs the policy learns on demonstrations normalised by their own statistics;
    it is evaluated and saved with those folded into its first layers, so it takes raw observations.
    Only the last epoch is evaluated.
    """
    setup_torch()
    b = cfg.bc
    trajs = load_demos(demos, n_demos=b.n_demos or cfg.gail.n_demos, key="bc.n_demos" if b.n_demos else "gail.n_demos")
    venv = make_venv(cfg.env, seed=cfg.seed)
    # gail.subsample_every: BC learns from exactly the transitions GAIL gets (the paper's baseline).
    kept = demo_transitions(trajs, every=cfg.gail.subsample_every, seed=cfg.seed)
    check_demos_fit(trajs, venv, cfg, demos, batch_size=b.batch_size, batch_key="bc.batch_size",
                    need_fixed_horizon=False, n_transitions=len(kept))  # episode ends leak nothing to a supervised learner
    eval_venv = make_venv(cfg.env, seed=cfg.seed + EVAL_SEED_OFFSET, n_envs=min(b.eval_episodes, cfg.env.n_envs))
    # A PPO shell gives the policy SB3's MlpPolicy layout and, later, a zip eval can load.
    model = build_ppo(venv, PPOConfig(net_arch=b.net_arch), seed=cfg.seed)
    vec = demo_normalizer(venv) if b.normalize_obs else None
    learner = BCEpochs(bc_trainer(model.policy, normalized_demos(kept, vec), b, seed=cfg.seed, log_dir=run_dir / "imitation"))

    def score() -> dict[str, Any]:
        with raw_obs_weights(model, vec):
            return evaluate(model, eval_venv, n_episodes=b.eval_episodes, deterministic=b.eval_deterministic).as_row(cfg.references)

    plan = LoopPlan(stage="bc", unit="epoch", n_units=b.n_epochs, columns=COLUMNS, unit_column="epoch",
                    eval_every=Never(), checkpoint_every=None, eval_at_start=False, bar_label="bc epochs")
    with RunLoop(run_dir, plan, learner, evaluate=score, describe=lambda stats: f"loss {stats['bc_loss']:.3f}") as loop:
        loop.run(lambda: learner.learn(b.n_epochs, loop.unit_done))
    with raw_obs_weights(model, vec):  # built on the raw env, so SB3's data needs no "folded" marker
        save_zip(model, run_dir / "policy.zip")
    return BCResult(
        demos=demos.spec, n_demo_trajectories=len(trajs), subsample_every=cfg.gail.subsample_every,
        n_demo_transitions=len(kept), normalize_obs=b.normalize_obs, n_env_steps=0,
        final=Scores(**final_scores(loop.last_eval)),
        bc_loss=loop.last_stats["bc_loss"], eval_episodes=b.eval_episodes, eval_deterministic=b.eval_deterministic,
        artifacts={"policy": "policy.zip"},
    )
