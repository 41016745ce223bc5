"""Findings about what the run learned from and how it ended: it stopped or failed; its
demonstrations came from another env or horizon, were too few for the batch, or scored below the
expert reference; BC on the same demonstrations scored above it."""

from __future__ import annotations

import shlex
from typing import Optional

from gailctl.doctor.finding import Finding, rerun_with
from gailctl.doctor.view import RunView

EXPERT_BELOW = 0.85
"""Normalized score under which an expert, or the demonstrations it recorded, is below its
reference. The shipped MuJoCo experts' sampled actions (what `record` keeps by default) score
0.92-0.98 of their argmax reference (configs/*.yaml comments); HalfCheetah's first expert, which
flipped onto its back in a quarter of its episodes, had a return std of 26% of its mean
(4,887 ± 1,272 over 100 episodes, experts/README.md)."""

BC_MARGIN = 0.05
"""BC above GAIL by more than this: at 25 trajectories BC ended above GAIL by 0.07-0.08 on Hopper
and Swimmer (Welch's p 0.016-0.026, docs/benchmarks/mujoco/results.md), which their BC
term (gail.bc_weight) then closed (docs/results/mujoco.md)."""


def run_stopped(view: RunView) -> Optional[Finding]:
    """A run that failed or was stopped: what it said, and how to go on."""
    if view.status == "failed":
        return Finding(name="run-failed", severity="error", evidence=f"summary.json: status failed: {(view.error or '?')[:200]}",
                       why="the run did not finish, so its curves end where it failed and it has no final evaluation",
                       next_step=None)
    if view.status in ("interrupted", "stale", "running"):
        last = view.rows[-1] if view.rows else None
        where = f" at {last.where}" if last else ""
        said = "still says running, but nobody holds its lock" if view.status == "stale" else view.status
        resume = shlex.join(["gailctl", view.stage or "gail", "--resume", str(view.path)]) if view.stage in ("gail", "expert") else None
        return Finding(name="run-unfinished", severity="info", evidence=f"summary.json: {said}{where}",
                       why="an unfinished run has no final evaluation: the findings read its curves so far",
                       next_step=resume if view.status != "running" else None)
    return None


def demos_mismatch(view: RunView) -> Optional[Finding]:
    d = view.demos
    if view.stage not in ("gail", "bc"):
        return None
    if d.recorded_env_id and view.env_id and d.recorded_env_id != view.env_id:
        return Finding(
            name="demos-mismatch", severity="error",
            evidence=f"demonstrations recorded on {d.recorded_env_id} ({d.path}); this run's env.id = {view.env_id}",
            why="the learner imitates another task's behaviour: shapes can match while dynamics or episode ends differ",
            next_step=shlex.join(["gailctl", "record", "-c", _config_arg(view)]),
            values={"recorded_env_id": d.recorded_env_id, "env_id": view.env_id})
    lengths = {r.episode_len_mean for r in view.scored_rows if r.episode_len_mean is not None}
    if d.len_min is not None and d.len_min == d.len_max and len(lengths) == 1:
        horizon = lengths.pop()
        if abs(horizon - d.len_max) > 0.5:
            return Finding(
                name="demos-mismatch", severity="error",
                evidence=f"demonstration episodes last {d.len_max:.0f} steps; this run's episodes last {horizon:.0f}",
                why="fixed-horizon GAIL compares states at the same stage of an episode; another horizon shows it a different task",
                next_step=shlex.join(["gailctl", "record", "-c", _config_arg(view)]),
                values={"demo_len": d.len_max, "env_len": horizon})
    return None


def too_few_transitions(view: RunView) -> Optional[Finding]:
    n_kept = view.demos.n_kept
    key = "gail.demo_batch_size" if view.stage == "gail" else "bc.batch_size" if view.stage == "bc" else None
    batch = view.setting(key) if key else None
    if n_kept is None or not isinstance(batch, int) or n_kept >= batch:
        return None
    every = view.setting("gail.subsample_every", 1)
    return Finding(
        name="too-few-transitions", severity="error",
        evidence=f"{n_kept} expert transitions kept (gail.subsample_every = {every}) for {key} = {batch}",
        why="a batch larger than the demonstrations cannot be filled: the learner sees no full expert batch",
        next_step=rerun_with(view, {key: n_kept}), values={"n_kept": n_kept, "batch": batch})


def expert_below_reference(view: RunView) -> Optional[Finding]:
    if view.stage == "expert":
        score = view.final_score
        if score is None or score >= EXPERT_BELOW:
            return None
        return Finding(
            name="expert-below-reference", severity="warning",
            evidence=f"the expert's last evaluation scores {score:.2f} of references.expert_return",
            why="demonstrations recorded from it carry its mistakes, and imitation of it cannot reach 1 on this scale",
            next_step=rerun_with(view, {"expert.total_timesteps": 2 * (view.budget or 0)}) if view.budget else None,
            values={"normalized": score})
    d = view.demos
    if view.stage not in ("gail", "bc") or d.normalized_return is None or d.normalized_return >= EXPERT_BELOW:
        return None
    return Finding(
        name="expert-below-reference", severity="error",
        evidence=(f"the demonstrations' mean return {d.return_mean:.1f} is {d.normalized_return:.2f} of "
                  f"references.expert_return ({d.path})"),
        why="a learner imitates its demonstrations, so its normalized score is capped near theirs",
        next_step=shlex.join(["gailctl", "expert", "-c", _config_arg(view)]), values={"demos_normalized": d.normalized_return})


def bc_above_gail(view: RunView) -> Optional[Finding]:
    final = view.final_score
    if view.stage != "gail" or final is None or not view.bc_peers:
        return None
    same_seed = [p for p in view.bc_peers if p.seed == view.seed]
    peers = same_seed or list(view.bc_peers)
    bc = sum(p.normalized_score for p in peers) / len(peers)
    if bc - final <= BC_MARGIN:
        return None
    names = ", ".join(p.run for p in peers[:3]) + (" ..." if len(peers) > 3 else "")
    fix = {"gail.bc_init_epochs": 200, "gail.bc_weight": 0.1} if not view.setting("gail.bc_weight") else {"gail.bc_weight": 1.0}
    return Finding(
        name="bc-above-gail", severity="warning",
        evidence=f"BC on the same demonstrations scores {bc:.2f} ({names}); this run {final:.2f}",
        why="with demonstrations this good, GAIL's adversarial updates walk the policy away from what BC already gets",
        next_step=rerun_with(view, fix), values={"bc": bc, "gail": final})


def _config_arg(view: RunView) -> str:
    return str(view.path / "config.yaml")

