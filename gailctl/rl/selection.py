"""gail's two kept policies, and their honest scores: each pick played again on fresh episodes.

`BY_REWARD` keeps best_policy.zip at the per-round evaluation with the highest return; that pick
is optimistic (the highest of several noisy scores is likely a lucky one) and needs the env's
reward. `REWARD_FREE` keeps best_policy_reward_free.zip where the evaluation's states are closest to
held-out demonstrations' states (`gailctl.rl.heldout`), which needs demonstrations only. At the run's end each kept zip is loaded
as `gailctl eval` loads it and scored on episodes whose seeds no per-round evaluation used.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

from gailctl.core.config import Config
from gailctl.core.selection import KeepBest
from gailctl.core.summaries import Scores, Selected
from gailctl.rl.env.make import EVAL_SEED_OFFSET, make_venv
from gailctl.rl.heldout import STATE_COLUMN

BY_REWARD = KeepBest("best_policy.zip", column="return_mean", higher_is_better=True)
REWARD_FREE = KeepBest("best_policy_reward_free.zip", column=STATE_COLUMN, higher_is_better=False)
CRITERIA = {"env_reward": BY_REWARD, "heldout_demos": REWARD_FREE}
STATEMENTS = {
    "env_reward": "picked by the env's reward: the per-round evaluation with the highest return (needs the reward)",
    "heldout_demos": ("picked without the env's reward: the per-round evaluation whose visited states are closest "
                      "(MMD) to held-out demonstrations' states (needs demonstrations only)"),
}

RESCORE_SEED_OFFSET = EVAL_SEED_OFFSET // 2
"""Re-scoring env i starts its episodes from seed + 5,000 + i; per-round evaluations' envs draw their
seeds from a generator seeded apart (`make_venv`), so no pick is scored again on its own episodes."""


def rescore(path: Path, cfg: Config, *, n_episodes: int) -> Scores:
    """`path` loaded as `gailctl eval` loads a zip, scored with argmax actions over `n_episodes` fresh episodes.

    Every pick is scored on the same episode seeds, so two picks are compared on the same starts.
    """
    from gailctl.rl.evaluation import evaluate
    from gailctl.rl.policies import load_ppo

    venv = make_venv(cfg.env, seed=cfg.seed + RESCORE_SEED_OFFSET, n_envs=min(n_episodes, cfg.env.n_envs))
    try:
        model = load_ppo(path, venv, env_id=cfg.env.id, seed=cfg.seed)
        venv.seed(cfg.seed + RESCORE_SEED_OFFSET)  # after the build, which seeds its env with the model's seed
        return Scores(**evaluate(model, venv, n_episodes=n_episodes, deterministic=True).as_row(cfg.references))
    finally:
        venv.close()


def selected(criterion: str, row: Mapping[str, Any], rescored: Scores, *, n_episodes: int) -> Selected:
    """The summary's record of one pick: the metrics row that chose it and its fresh score."""
    keep = CRITERIA[criterion]
    chosen = Scores(**{k: float(row[k]) for k in Scores.model_fields if row.get(k, "") not in ("", None)})
    normalized = chosen.normalized_score is not None and rescored.normalized_score is not None
    gap = (chosen.normalized_score - rescored.normalized_score if normalized  # type: ignore[operator]
           else chosen.return_mean - rescored.return_mean)
    value = keep.value(row)
    return Selected(criterion=criterion, uses_env_reward=criterion == "env_reward", statement=STATEMENTS[criterion],
                    file=keep.file, round=int(float(row["round"])), n_env_steps=int(float(row["n_env_steps"])),
                    selection_value=math.nan if value is None else value, selection=chosen, rescored=rescored,
                    rescored_episodes=n_episodes, gap=gap, gap_is_normalized=normalized)


def selection_line(pick: Selected) -> str:
    """One line for the end of `gailctl gail`: where the pick was, what chose it, what it scores afresh."""
    kind = "normalized" if pick.gap_is_normalized else "return"

    def val(s: Scores) -> float:
        return s.normalized_score if pick.gap_is_normalized else s.return_mean  # type: ignore[return-value]

    how = "by env reward" if pick.uses_env_reward else "by held-out demos, reward-free"
    return (f"{pick.file} ({how}): round {pick.round} ({pick.n_env_steps:,} env steps), {kind} {val(pick.selection):.3f} "
            f"when picked, {val(pick.rescored):.3f} on {pick.rescored_episodes} fresh episodes "
            f"(optimism {pick.gap:+.3f})")
