"""Findings about the adversarial game: the discriminator wins outright, never learns, or its
(or the generator's) losses turn NaN. Each reads the per-round discriminator statistics in
metrics.csv (and imitation's log for NaN), so each can run live, round by round."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

from gailctl.doctor.finding import Finding, rerun_with, steps
from gailctl.doctor.view import Row, RunView

DISC_WIN_ACC = 0.9
"""Rolling discriminator accuracy at or above which it wins outright. Walker2d's failing seeds
sat at 0.9-1.0 for 300k-1M env steps while the walker fell (tests/fixtures/doctor/mujoco.csv:
`w-ls1-s1` 0.99, `w-bci-s4` "0.9-1.0", `w-nd1-s3` "0.91-1.0"); 0.95 missed `w-bci-s4`,
`w-b128-s4` and `w-nd1-s3`. The shipped configs' passing runs settle at 0.6-0.85 once they learn
(`h-bcw01-*`, `sw-bcw01-*`, `w-def-*`); those that start near 1 climb meanwhile (`hcx-*`)."""
ROLLING_WINDOW = 0.1
"""Fraction of the budget the accuracy is averaged over (100k env steps of a 1M MuJoCo run)."""
DISC_WIN_SPAN = 0.25
"""Fraction of the budget the win must last with the score flat. HalfCheetah's passing runs
(`hcx-*`) keep 0.95-0.99 for their first 300-400k env steps but climb from 0.05 to 0.4 meanwhile;
failing Walker2d seeds stay flat for 300k+ (`w-ls1-s1`: 740k)."""
FLAT_GAIN = 0.1
"""Normalized score above the stretch's start that ends "flat": `w-ls1-s1` stayed within
-0.16..0.03 for 740k env steps; `hcx-s0` climbed 0.05 -> 0.18 in its first 250k."""
DISC_WIN_MIN_ROUNDS = 50
"""Rounds the win must last, whatever the budget: a generator needs some rounds before the
discriminator loosens (CartPole seed 2 without a penalty, which learns: accuracy at or above 0.93
for most of its first 45 rounds), and a run cut short must not read as one the discriminator won."""
NOT_IMITATING = 0.5
"""Mean normalized score below which the run is not imitating: every failing run the checks were
measured on stayed below 0.1 (Walker2d, Swimmer with reward scaling, CartPole with a penalty of 10)."""

NEVER_LEARNS_ACC = 0.6
NEVER_LEARNS_LOSS_GAP = 0.05
"""A discriminator that never learns: accuracy at most 0.6 and loss within 0.05 of ln 2 = 0.693
(the loss of a constant 0.5). CartPole with a gradient penalty of 10 kept its loss at 0.68 to the
last round and scored 0.01 (docs/results/how-configs-were-chosen.md). Healthy Hopper runs also sit at 0.65-0.70
loss, but score 0.9+: the check needs the score to stay below NOT_IMITATING too."""
NEVER_LEARNS_SPAN = 0.5
"""Fraction of the budget (after the first ROLLING_WINDOW) the discriminator must stay there."""

LN2 = math.log(2.0)


# --- NaN or inf in any loss --------------------------------------------------------------


def nan_loss(view: RunView) -> Optional[Finding]:
    row = next((r for r in view.rows if any(c.startswith("disc_") for c in r.nonfinite)), None)
    if row is not None:
        cols = [c for c in row.nonfinite if c.startswith("disc_")]
        return _nan_finding(view, f"{', '.join(cols)} not finite at {row.where}", row.round, row.n_env_steps)
    prog = next((p for p in view.progress if p.nonfinite), None)
    if prog is not None:
        return _nan_finding(view, f"imitation's log: {', '.join(prog.nonfinite)} not finite at {steps(prog.n_env_steps)} env steps",
                            None, prog.n_env_steps)
    error = (view.error or "").lower()
    if view.status == "failed" and ("nan" in error.split() or "invalid values" in error or "nan," in error or "nan]" in error):
        return _nan_finding(view, f"the run failed: {view.error[:160]}", None, None)
    return None


def _nan_finding(view: RunView, evidence: str, rnd: Optional[int], n: Optional[int]) -> Finding:
    lr = view.setting("gail.ppo.learning_rate")
    fix = {"gail.ppo.learning_rate": 3e-4} if isinstance(lr, (int, float)) and lr > 3e-4 else {"gail.disc_lr": 1e-3}
    return Finding(
        name="nan-loss", severity="error", evidence=evidence,
        why="a NaN or inf loss poisons every weight it touches; nothing after it is learned",
        next_step=rerun_with(view, fix), round=rnd, n_env_steps=n)


# --- the discriminator wins outright ------------------------------------------------------


@dataclass(frozen=True)
class Stretch:
    """Consecutive rounds whose rolling accuracy is at or above a level."""

    rows: tuple[Row, ...]
    acc_mean: float


def rolling_acc(rows: Sequence[Row], window: float) -> list[float]:
    """Each round's mean accuracy over the rounds in the `window` env steps up to it."""
    out, lo, total = [], 0, 0.0
    for i, r in enumerate(rows):
        total += r.disc_acc or 0.0
        while rows[i].n_env_steps - rows[lo].n_env_steps >= window and lo < i:
            total -= rows[lo].disc_acc or 0.0
            lo += 1
        out.append(total / (i - lo + 1))
    return out


def stretches(rows: Sequence[Row], values: Sequence[float], keep) -> list[Stretch]:
    found, current = [], []
    for r, v in zip(rows, values):
        if keep(v):
            current.append(r)
            continue
        if current:
            found.append(current)
        current = []
    if current:
        found.append(current)
    return [Stretch(tuple(s), sum(r.disc_acc or 0.0 for r in s) / len(s)) for s in found]


def _score_before(scored: Sequence[Row], n: int) -> Optional[Row]:
    before = [r for r in scored if r.n_env_steps <= n]
    return before[-1] if before else None


def disc_wins(view: RunView) -> Optional[Finding]:
    rows, scored = view.train_rows, view.scored_rows
    if not rows or not scored or not view.budget:
        return None
    min_span = max(DISC_WIN_SPAN * view.budget, DISC_WIN_MIN_ROUNDS * (view.steps_per_round or 0))
    best: Optional[tuple[float, Stretch, Row, list[Row]]] = None
    for s in stretches(rows, rolling_acc(rows, ROLLING_WINDOW * view.budget), lambda a: a >= DISC_WIN_ACC):
        begin = s.rows[0].n_env_steps - (view.steps_per_round or 0)  # the round's rollout began a round earlier
        end = s.rows[-1].n_env_steps
        first_base = _score_before(scored, max(begin, 0))
        # Flat from the stretch's start, or from any evaluation inside it (a climb can end in a long plateau).
        bases = ([first_base] if first_base is not None else []) + [r for r in scored if begin < r.n_env_steps <= end]
        for base in bases:
            start = max(begin, base.n_env_steps)
            flat: list[Row] = []
            for r in (r for r in scored if start < r.n_env_steps <= end):
                if r.normalized_score > base.normalized_score + FLAT_GAIN:
                    break
                flat.append(r)
            if len(flat) < 2:
                continue
            span = flat[-1].n_env_steps - start
            mean_score = sum(r.normalized_score for r in flat) / len(flat)
            if span >= min_span and mean_score < NOT_IMITATING and (best is None or span > best[0]):
                best = (span, s, base, flat)
    if best is None:
        return None
    span, s, base, flat = best
    final = view.final_score
    recovered = final is not None and final >= NOT_IMITATING  # it climbed out later: the win cost time, not the run
    in_span = [r for r in s.rows if flat[0].n_env_steps - (view.steps_per_round or 0) <= r.n_env_steps <= flat[-1].n_env_steps]
    in_span = in_span or list(s.rows)
    acc = sum(r.disc_acc or 0.0 for r in in_span) / len(in_span)
    lo = min(r.normalized_score for r in (base, *flat))
    hi = max(r.normalized_score for r in (base, *flat))
    first, last = in_span[0], in_span[-1]
    return Finding(
        name="discriminator-wins", severity="info" if recovered else "error",
        evidence=(f"discriminator accuracy {acc:.2f} (mean) from {first.where} to {last.where}, "
                  f"{span / view.budget:.0%} of the budget, while the normalized score stayed within {lo:.2f}..{hi:.2f}"),
        why=("a discriminator that separates expert and generator outright gives a reward with no slope towards the expert's states"
             + (f"; this run climbed out later (final {final:.2f}), so the win cost it time" if recovered else "")),
        next_step=rerun_with(view, _disc_wins_fix(view)), round=first.round, n_env_steps=first.n_env_steps,
        values={"disc_acc_mean": round(acc, 4), "from_env_steps": first.n_env_steps, "to_env_steps": last.n_env_steps,
                "score_min": round(lo, 4), "score_max": round(hi, 4)})


def _disc_wins_fix(view: RunView) -> dict[str, object]:
    """The documented change most likely to help, given what the run already had."""
    penalty = float(view.setting("gail.disc_grad_penalty", 0.0) or 0.0)
    if view.setting("gail.normalize_reward"):
        return {"gail.normalize_reward": False}  # Swimmer never learned with it (sw-nr-*), Walker2d lost 2 of 5 seeds
    if penalty == 0.0:
        return {"gail.disc_grad_penalty": 0.3}  # CartPole: seed 2 of 5 never learned without it
    if not view.setting("gail.bc_init_epochs") and int(view.setting("gail.subsample_every", 1) or 1) > 1:
        return {"gail.bc_init_epochs": 200}  # Walker2d: 0.62 +- 0.33 -> 0.75 +- 0.24, with linear decay 0.92 +- 0.04
    if penalty < 1.0:
        return {"gail.disc_grad_penalty": 1.0}  # Walker2d seed 3: 0.85 -> 0.93, accuracy 0.92 -> 0.66 by 246k (w-gp1-s3)
    plain_gail = view.setting("gail.algorithm", "gail") == "gail" and view.setting("gail.batched_rewards", True)
    if plain_gail and view.setting("gail.reward_form", "gail") == "gail":
        return {"gail.reward_form": "logit"}  # upright Hopper, 4 demos: 0.31 +- 0.23 (4 of 5 seeds fallen) -> 0.81 +- 0.14 (bench)
    updates = int(view.setting("gail.n_disc_updates_per_round", 4) or 4)
    return {"gail.n_disc_updates_per_round": max(1, updates // 2)}  # Walker2d seeds 3, 4 with 2: 0.87, 0.96 (w-d2-*)


# --- the discriminator never learns ------------------------------------------------------


def disc_never_learns(view: RunView) -> Optional[Finding]:
    rows, scored = view.train_rows, view.scored_rows
    if not rows or not view.budget:
        return None
    after = [r for r in rows if r.n_env_steps > ROLLING_WINDOW * view.budget and r.disc_loss is not None]
    span = max(NEVER_LEARNS_SPAN * view.budget, DISC_WIN_MIN_ROUNDS * (view.steps_per_round or 0))
    if not after or after[-1].n_env_steps - after[0].n_env_steps < span:
        return None
    acc = sum(r.disc_acc or 0.0 for r in after) / len(after)
    gap = sum(abs((r.disc_loss or 0.0) - LN2) for r in after) / len(after)
    span_scores = [r.normalized_score for r in scored if r.n_env_steps >= after[0].n_env_steps]
    if acc > NEVER_LEARNS_ACC or gap > NEVER_LEARNS_LOSS_GAP:
        return None
    if span_scores and sum(span_scores) / len(span_scores) >= NOT_IMITATING:
        return None  # a generator as good as the expert leaves nothing to separate: that is success
    loss = sum(r.disc_loss or 0.0 for r in after) / len(after)
    score = f", normalized score {sum(span_scores) / len(span_scores):.2f} (mean)" if span_scores else ""
    return Finding(
        name="discriminator-never-learns", severity="error",
        evidence=(f"discriminator accuracy {acc:.2f} and loss {loss:.3f} (ln 2 = 0.693) on average from {after[0].where} "
                  f"to {after[-1].where}{score}"),
        why="a discriminator that cannot tell expert from generator gives a flat reward, so the generator has nothing to follow",
        next_step=rerun_with(view, _never_learns_fix(view)), round=after[0].round, n_env_steps=after[0].n_env_steps,
        values={"disc_acc_mean": round(acc, 4), "disc_loss_mean": round(loss, 4)})


def _never_learns_fix(view: RunView) -> dict[str, object]:
    penalty = float(view.setting("gail.disc_grad_penalty", 0.0) or 0.0)
    if penalty > 1.0:
        return {"gail.disc_grad_penalty": 0.3}  # 10 stops CartPole learning altogether; 0.3 is the shipped value
    return {"gail.disc_lr": 1e-3}  # every shipped config's discriminator rate
