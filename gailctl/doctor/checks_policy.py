"""Findings about the generator's policy and its learning curve: its entropy or action std
collapses early, argmax and sampled actions score far apart, the return peaked and fell, the
budget ends while the return still rises."""

from __future__ import annotations

from typing import Optional

from gailctl.doctor.checks_adversarial import NOT_IMITATING
from gailctl.doctor.finding import Finding, rerun_with, steps
from gailctl.doctor.view import RunView

IMITATING = 0.9
"""Normalized score of a run that imitates: the MuJoCo tasks' target (Hopper, Walker2d, Swimmer)."""

STD_COLLAPSED = 0.05
"""Action std below which a continuous generator has stopped exploring: a BC term on the
demonstrations' likelihood drove Swimmer's to 0.0007 and kept the clone as it was, plain GAIL's
stays at 0.25-0.32 (docs/results/how-configs-were-chosen.md)."""
ENTROPY_COLLAPSED = 0.05
"""Fraction of its first entropy below which a discrete generator has stopped exploring:
CartPole's learning runs keep 0.19-0.27 nats of the first 0.69 (about 30%) to the end."""
COLLAPSE_EARLY = 0.5
"""Collapsed within this fraction of the budget, while the score was still below NOT_IMITATING."""

GAP_MIN = 0.15
GAP_RATIO = 0.7
"""Argmax and sampled actions far apart: sampled at most 0.7 of argmax and 0.15 below it.
HalfCheetah's generator at SB3's initial action noise (log std 0) scored sampled 0.34-0.43
against argmax 0.52-0.93, a ratio of 0.46-0.65 (`hc-ff32-*`); from log std -1 on the clean
expert, 0.69-0.85 against 0.88-0.95, 0.73 or more (`hcx-*`)."""

SPLIT_STD = 0.25
"""Final argmax episodes split: their return std is at least this fraction of the expert-random
range while the score is below IMITATING. HalfCheetah's failing seeds on its first expert had
0.30-0.39 (`hc-ls1-s2`, `hc-def-s7`, `hc-def-s8`: some episodes ran, others fell or flipped);
its passing runs on the new expert at most 0.14 (`hcx-*`), Hopper's about 0.1 (`h-bcw01-*`)."""
SPLIT_BELOW = 0.8
"""...and the final score below this: Ant's passing runs end at 0.87 and above with a spread of up
to 0.29, as wide as its own expert's (1,995 ± 587, 0.25 of the range; configs/ant.yaml)."""

PEAK_DROP = 0.3
"""Best evaluation above the final score by this much: Walker2d `w-b128-s4` 0.61 at 819k -> 0.03,
HalfCheetah `hc-def-s7` 0.98 at 901k -> 0.50. The shipped Hopper and Swimmer runs swing by
0.1-0.2 between 5-episode evaluations (`h-bcw01-*`, `sw-bcw01-*`)."""

RISE_WINDOW = 0.25
RISE_GAIN = 0.15
"""Still rising: a least-squares line through the evaluations of the last quarter of the budget
climbs by 0.15 or more. A CartPole run cut to a tenth of its budget climbs by about 0.5 in its
last quarter; HalfCheetah's passing runs (`hcx-*`) climb 0.1-0.2 in their last 250k."""


# --- the generator's entropy or action std collapses early -------------------------------


def entropy_collapse(view: RunView) -> Optional[Finding]:
    prog = [p for p in view.progress if p.n_env_steps is not None]
    if not prog or not view.budget:
        return None
    continuous = view.continuous_actions
    if continuous:
        hit = next((p for p in prog if p.std is not None and p.std < STD_COLLAPSED), None)
        first = next((p.std for p in prog if p.std is not None), None)
        what, level = "action std", STD_COLLAPSED
    else:
        first = next((p.entropy for p in prog if p.entropy is not None), None)
        if not first or first <= 0:
            return None
        hit = next((p for p in prog if p.entropy is not None and p.entropy < ENTROPY_COLLAPSED * first), None)
        what, level = "policy entropy", ENTROPY_COLLAPSED * first
    if hit is None or hit.n_env_steps > COLLAPSE_EARLY * view.budget:
        return None
    before = [r.normalized_score for r in view.scored_rows if 0 < r.n_env_steps <= hit.n_env_steps]
    if view.has_references and before and max(before) >= NOT_IMITATING:
        return None  # it had learned: a settled policy may be nearly deterministic
    value = hit.std if continuous else hit.entropy
    fix = {"gail.ppo.ent_coef": 0.01} if not view.setting("gail.ppo.ent_coef") else {"gail.ppo.learning_rate": _lower(view)}
    return Finding(
        name="entropy-collapse", severity="error",
        evidence=(f"{what} {value:.4f} at {steps(hit.n_env_steps)} env steps ({hit.n_env_steps / view.budget:.0%} of the budget; "
                  f"{first:.3f} at the start, collapsed below {level:.3f}) before the score reached {NOT_IMITATING}"),
        why="a generator that stops exploring before it imitates only repeats what it does, whatever the reward says",
        next_step=rerun_with(view, fix), n_env_steps=hit.n_env_steps, values={"first": first, "at_collapse": value})


def _lower(view: RunView) -> float:
    lr = float(view.setting("gail.ppo.learning_rate", 3e-4) or 3e-4)
    return float(f"{lr / 3:.2g}")


# --- argmax and sampled actions far apart -----------------------------------------------


def argmax_sampled_apart(view: RunView) -> Optional[Finding]:
    det, sto = view.final.normalized_score, view.final.sampled_normalized_score
    if det is None or sto is None or det <= 0:
        return None
    if det - sto < GAP_MIN or sto > GAP_RATIO * det:
        return None
    log_std = view.setting("gail.ppo.log_std_init")
    initial_noise = isinstance(log_std, (int, float)) and log_std >= 0 and view.continuous_actions is not False
    # SB3's initial std of 1 per action is the documented cause on HalfCheetah: an error; otherwise the gap is context.
    fix = rerun_with(view, {"gail.ppo.log_std_init": -1}) if initial_noise else None
    episodes = view.final.episodes or "?"
    return Finding(
        name="argmax-sampled-apart", severity="error" if initial_noise else "warning",
        evidence=(f"final evaluation over {episodes} episodes: argmax {det:.2f}, sampled {sto:.2f} "
                  f"({sto / det:.0%} of argmax)" + (f"; gail.ppo.log_std_init = {log_std}" if initial_noise else "")),
        why=("the policy's own action noise costs most of its score, so the sampled policy, the one PPO trained, "
             "does not do what its mean action does" + (" (it kept SB3's initial std of 1 per action)" if initial_noise else "")),
        next_step=fix, values={"argmax": det, "sampled": sto})


# --- the final episodes split ----------------------------------------------------------


def episodes_split(view: RunView) -> Optional[Finding]:
    final, std = view.final_score, view.final.return_std
    refs = view.section("references")
    lo, hi = refs.get("random_return"), refs.get("expert_return")
    if final is None or std is None or final >= SPLIT_BELOW or not isinstance(lo, (int, float)) or not isinstance(hi, (int, float)):
        return None
    spread = std / abs(hi - lo)
    if spread < SPLIT_STD:
        return None
    episodes = view.final.episodes or "?"
    return Finding(
        name="episodes-split", severity="warning",
        evidence=(f"final evaluation over {episodes} episodes: return {view.final.return_mean:.1f} ± {std:.1f}, "
                  f"a std of {spread:.2f} of the expert-random range"),
        why=("some episodes succeed and others fail: an unstable behaviour, or demonstrations that mix two "
             "(HalfCheetah's first expert flipped onto its back in a quarter of its episodes)"),
        next_step=rerun_with(view, {"gail.disc_grad_penalty": 1.0}), values={"return_std": std, "spread": spread})


# --- the return peaked and fell ----------------------------------------------------------


def peaked_and_fell(view: RunView) -> Optional[Finding]:
    final = view.final_score
    cloned = bool(view.setting("gail.bc_init_epochs"))
    # An untrained generator's round-0 score says nothing (CartPole seed 0 scores 0.83 by chance);
    # a cloned one's does.
    evals = [r for r in view.scored_rows if r.n_env_steps > 0 or cloned]
    if final is None or not evals:
        return None
    best = max(evals, key=lambda r: r.normalized_score)
    if best.normalized_score - final < PEAK_DROP or best is evals[-1]:
        return None
    fix: dict[str, object]
    if view.setting("gail.lr_schedule", "constant") == "constant":
        fix = {"gail.lr_schedule": "linear"}  # CartPole: 2 of 5 seeds stayed at the expert -> 5 of 5 with the penalty (docs/results/how-configs-were-chosen.md)
    elif not view.setting("gail.bc_weight") and view.continuous_actions is not False:
        fix = {"gail.bc_weight": 0.1}  # Swimmer: evaluations 0.40-1.07 -> 0.86-1.01, 10 of 10 seeds >= 0.9
    else:
        fix = {"gail.total_timesteps": best.n_env_steps}
    return Finding(
        name="return-peaked-and-fell", severity="warning",
        evidence=f"normalized score {best.normalized_score:.2f} at {best.where}, {final:.2f} at the end",
        why="the policy was better earlier: the final weights are where the swing happened to stop, not the best it learned",
        next_step=rerun_with(view, fix), round=best.round, n_env_steps=best.n_env_steps,
        values={"best": best.normalized_score, "best_env_steps": best.n_env_steps, "final": final})


# --- the budget ends while the return still rises ----------------------------------------


def budget_ends_rising(view: RunView) -> Optional[Finding]:
    final = view.final_score
    if final is None or not view.budget or final >= IMITATING:
        return None
    start = (1 - RISE_WINDOW) * view.budget
    tail = [r for r in view.scored_rows if r.n_env_steps >= start]
    if len(tail) < 3:
        return None
    xs = [r.n_env_steps / view.budget for r in tail]
    ys = [r.normalized_score for r in tail]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    if var == 0:
        return None
    rise = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var * RISE_WINDOW
    if rise < RISE_GAIN:
        return None
    severity = "error" if final < NOT_IMITATING else "warning"
    return Finding(
        name="budget-ends-rising", severity=severity,
        evidence=(f"the normalized score climbed {rise:+.2f} over the last {RISE_WINDOW:.0%} of the budget "
                  f"({tail[0].normalized_score:.2f} at {steps(tail[0].n_env_steps)} env steps, {final:.2f} at the end)"),
        why="the run stopped while it was still learning: its final score measures the budget, not the method",
        next_step=rerun_with(view, {"gail.total_timesteps" if view.stage == "gail" else "expert.total_timesteps": 2 * view.budget}),
        n_env_steps=tail[0].n_env_steps, values={"rise": round(rise, 4), "final": final})


# --- no known signature ------------------------------------------------------------------


def not_imitating(view: RunView) -> Optional[Finding]:
    """The catch-all: a finished run below NOT_IMITATING that no other check explains (the
    catalogue runs it last and `diagnose` drops it when another error or warning fired)."""
    final = view.final_score
    if final is None or final >= NOT_IMITATING or view.stage not in ("gail", "bc"):
        return None
    best = max(view.scored_rows, key=lambda r: r.normalized_score, default=None)
    peak = f"; best evaluation {best.normalized_score:.2f} at {best.where}" if best else ""
    return Finding(
        name="not-imitating", severity="warning",
        evidence=f"final normalized score {final:.2f}{peak}; no signature in the catalogue fired",
        why="the run did not imitate and its logs do not show a known cause; its curves may",
        next_step=f"gailctl plot {view.path}", values={"final": final})


# --- a budget far below the shipped config's -----------------------------------------------

BUDGET_SHORT = 0.5
"""A gail budget at most this fraction of the shipped config's for the same env. The shipped
budgets are measured: CartPole's 153,600 env steps hold 0.95 from 56-97k on 5 of 5 seeds
(docs/benchmarks/classic-control/results.md), the MuJoCo configs' 1M reach their targets
(docs/results/mujoco.md)."""


def shipped_budget(env_id: Optional[str]) -> Optional[tuple[str, int]]:
    """(config name, gail.total_timesteps) of the shipped config for `env_id`, if one ships."""
    import yaml

    from gailctl.core.shipped import config_names, shipped_config

    for name in config_names():
        path = shipped_config(name)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) if path else None
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(data, dict) and (data.get("env") or {}).get("id") == env_id:
            total = (data.get("gail") or {}).get("total_timesteps")
            if isinstance(total, int):
                return name, total
    return None


def budget_short(view: RunView) -> Optional[Finding]:
    final = view.final_score
    if view.stage != "gail" or final is None or final >= IMITATING or not view.budget or view.status != "finished":
        return None
    found = shipped_budget(view.env_id)
    if found is None or view.budget > BUDGET_SHORT * found[1]:
        return None
    name, total = found
    return Finding(
        name="budget-short", severity="error",
        evidence=(f"trained {view.budget:,} env steps, {view.budget / total:.0%} of the {total:,} the shipped config "
                  f"`{name}` trains on {view.env_id}; final normalized score {final:.2f}"),
        why="the run stopped before GAIL usually gets there on this task, so its score measures the budget, not the setup",
        next_step=rerun_with(view, {"gail.total_timesteps": total}), values={"budget": view.budget, "shipped": total})
