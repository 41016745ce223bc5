"""The catalogue: every check the doctor runs, in the order it ranks findings of one severity.

Causes come before symptoms: how the run ended, then what it learned from, then NaNs, then the
adversarial game, then the policy, then the shape of the curve. The troubleshooting page
(`catalogue_md`) is generated from these entries, so it cannot drift from what the doctor does.
"""

from __future__ import annotations

from gailctl.doctor import checks_adversarial as adv
from gailctl.doctor import checks_data as data
from gailctl.doctor import checks_policy as pol
from gailctl.doctor.finding import Check

CATALOGUE: tuple[Check, ...] = (
    Check(
        name="run-failed", severity="error", title="The run failed",
        signature="summary.json says `status: failed`; the finding quotes its error.",
        fix="Read the error; a config or data error names the key or file to change.",
        evidence="Every run folder's summary.json records how it ended (`gailctl/core/execution.py`).",
        fn=data.run_stopped),
    Check(
        name="demos-mismatch", severity="error", title="Demonstrations from another env or horizon",
        signature=("The demonstrations' `gailctl_demos.json` (or the record run they came from) names another env than "
                   "the run's `env.id`, or the demonstrations' fixed episode length differs from the length of the run's "
                   "own evaluation episodes."),
        fix="Record demonstrations on the run's own env: `gailctl record -c CONFIG`.",
        evidence=("CartPole-v1 and seals/CartPole-v0 have the same observation and action shapes and different episode "
                  "ends; `gailctl gail` refuses such demonstrations unless `--allow-env-mismatch`."),
        fn=data.demos_mismatch),
    Check(
        name="too-few-transitions", severity="error", title="Too few expert transitions for the batch",
        signature=("The transitions kept after `gail.subsample_every` are fewer than `gail.demo_batch_size` "
                   "(`bc.batch_size` for BC)."),
        fix="Set the batch to at most the kept transitions, as the MuJoCo configs do (`gail.demo_batch_size: 200` for "
            "4 trajectories x 1,000 steps / 20).",
        evidence="configs/hopper.yaml and the other MuJoCo configs: 200 kept transitions, batch 200.",
        fn=data.too_few_transitions),
    Check(
        name="expert-below-reference", severity="error", title="The expert is below its reference",
        signature=(f"An expert run's last evaluation, or the demonstrations a GAIL or BC run learned from, score below "
                   f"{data.EXPERT_BELOW} on the config's normalized scale (an expert run: a warning)."),
        fix="Train the expert longer (`gailctl expert -c CONFIG`), re-record, then run GAIL again.",
        evidence=("The shipped MuJoCo experts' sampled actions score 0.92-0.98 of their reference (configs/*.yaml); "
                  "HalfCheetah's first expert flipped in a quarter of its episodes and GAIL on its demonstrations failed "
                  "3 of 10 seeds; a new expert fixed all 10 (experts/README.md, docs/results/how-configs-were-chosen.md)."),
        fn=data.expert_below_reference),
    Check(
        name="nan-loss", severity="error", title="NaN or inf in a loss",
        signature="A discriminator statistic in metrics.csv, or a loss in imitation's progress.csv, is NaN or inf; or "
                  "the run failed with NaN values in its error.",
        fix="Lower the learning rate that blew up: the generator's to 3e-4 (the MuJoCo configs), or the "
            "discriminator's to 1e-3 (every shipped config).",
        evidence="The shipped configs' rates: `gail.ppo.learning_rate` 3e-4 to 1e-3, `gail.disc_lr` 1e-3.",
        fn=adv.nan_loss, live=True),
    Check(
        name="episodes-split", severity="warning", title="The final episodes split",
        signature=(f"The final argmax evaluation's return std is at least {pol.SPLIT_STD} of the expert-random range and "
                   f"its score below {pol.SPLIT_BELOW}."),
        fix="A stronger gradient penalty (`gail.disc_grad_penalty: 1.0`); check the demonstrations for episodes that "
            "show another behaviour.",
        evidence=("HalfCheetah seed 2: return std 1,530 over 50 episodes, penalty 1.0 gave 0.92 and std 394; the first "
                  "expert's flipped demonstrations explained the split, a new expert fixed 10 of 10 seeds "
                  "(docs/results/how-configs-were-chosen.md)."),
        fn=pol.episodes_split),
    Check(
        name="argmax-sampled-apart", severity="error", title="Argmax and sampled actions far apart",
        signature=(f"The final evaluation with sampled actions scores at most {pol.GAP_RATIO:.0%} of the argmax one "
                   f"and {pol.GAP_MIN} below it; an error when a continuous generator started at SB3's std of 1 "
                   f"(`gail.ppo.log_std_init` 0 or more), whose noise is then what the discriminator separates, a warning "
                   f"otherwise."),
        fix="Start a continuous generator quieter: `gail.ppo.log_std_init: -1` (std 0.37 instead of SB3's 1).",
        evidence=("HalfCheetah at log std 0: sampled 0.37 ± 0.04 against argmax 0.74 ± 0.13 over 5 seeds; log std -1 "
                  "lifted argmax to 0.85 ± 0.14 (docs/results/how-configs-were-chosen.md)."),
        fn=pol.argmax_sampled_apart),
    Check(
        name="entropy-collapse", severity="error", title="The generator's entropy or action std collapses early",
        signature=(f"In imitation's log, the action std falls below {pol.STD_COLLAPSED} (continuous actions) or the "
                   f"policy's entropy below {pol.ENTROPY_COLLAPSED:.0%} of its first value (discrete), within the first "
                   f"{pol.COLLAPSE_EARLY:.0%} of the budget and before any evaluation reached {adv.NOT_IMITATING}."),
        fix="An entropy bonus (`gail.ppo.ent_coef: 0.01`), or a third of the generator's learning rate if it has one.",
        evidence=("A BC term on the demonstrations' likelihood drove Swimmer's action std to 0.0007 (plain GAIL keeps "
                  "0.25-0.32) and stopped exploration (docs/results/how-configs-were-chosen.md); "
                  "configs/lunarlander.yaml's tuned bonus 0.0087 keeps its generator exploring."),
        fn=pol.entropy_collapse),
    Check(
        name="discriminator-wins", severity="error", title="The discriminator wins outright",
        signature=(f"The discriminator's accuracy, averaged over {adv.ROLLING_WINDOW:.0%} of the budget, stays at or "
                   f"above {adv.DISC_WIN_ACC} for at least {adv.DISC_WIN_SPAN:.0%} of the budget (and "
                   f"{adv.DISC_WIN_MIN_ROUNDS} rounds) while the normalized score stays within {adv.FLAT_GAIN} of where "
                   f"it was and below {adv.NOT_IMITATING} on average."),
        fix=("In this order, the first that applies: turn `gail.normalize_reward` off; a gradient penalty "
             "(`gail.disc_grad_penalty: 0.3`) if there is none; start the generator from BC (`gail.bc_init_epochs: "
             "200`) under the paper's subsampling; a penalty of 1.0; the discriminator's logit as the reward "
             "(`gail.reward_form: logit`), whose slope does not vanish where the discriminator is sure; half the "
             "discriminator updates a round."),
        evidence=("Walker2d's failing seeds: accuracy 0.95-1.0 for 300k-1M env steps while the walker fell "
                  "(tests/fixtures/doctor/mujoco.csv). CartPole without a penalty: seed 2 of 5 never learned, its "
                  "discriminator at 1.0 on expert samples throughout. Swimmer with "
                  "`gail.normalize_reward` never learned (accuracy 0.97-1.0). Walker2d's BC start lifted 0.62 ± 0.33 to "
                  "0.75 ± 0.24; a penalty of 1.0 stood seed 3 up by 164k (accuracy 0.92 -> 0.66). On the upright Hopper's 4 "
                  "demonstrations the discriminator won (0.97-0.99) on 4 of 5 seeds; the logit reward stood every seed up "
                  "(0.31 ± 0.23 -> 0.81 ± 0.14, upright 0.73-1.00) "
                  "(docs/results/how-configs-were-chosen.md)."),
        fn=adv.disc_wins, live=True),
    Check(
        name="discriminator-never-learns", severity="error", title="The discriminator never learns",
        signature=(f"After the first {adv.ROLLING_WINDOW:.0%} of the budget, over at least {adv.NEVER_LEARNS_SPAN:.0%} of "
                   f"it, the discriminator's accuracy averages at most {adv.NEVER_LEARNS_ACC} and its loss stays within "
                   f"{adv.NEVER_LEARNS_LOSS_GAP} of ln 2, while the normalized score stays below {adv.NOT_IMITATING}."),
        fix="A gradient penalty above 1 back to 0.3; otherwise the discriminator's rate back to 1e-3.",
        evidence=("CartPole with `gail.disc_grad_penalty: 10`: loss 0.68 to the last round, score 0.01 "
                  "(docs/results/how-configs-were-chosen.md). A discriminator at 0.5 is also what success looks like, so the score decides."),
        fn=adv.disc_never_learns, live=True),
    Check(
        name="bc-above-gail", severity="warning", title="BC on the same demonstrations scores above GAIL",
        signature=(f"A BC run (beside the run, or in the same bench) on the same demonstrations, count and subsampling "
                   f"scores more than {data.BC_MARGIN} above the GAIL run's final score."),
        fix="Start the generator from BC and keep a BC term: `gail.bc_init_epochs: 200`, `gail.bc_weight: 0.1`.",
        evidence=("At 25 trajectories GAIL ended 0.07-0.08 below BC on Hopper and Swimmer; the BC term lifted them to "
                  "0.97 ± 0.01 and 0.99 ± 0.03 (docs/benchmarks/mujoco/results.md, docs/results/mujoco.md)."),
        fn=data.bc_above_gail),
    Check(
        name="budget-short", severity="error", title="A budget far below the shipped config's",
        signature=(f"A finished gail run below {pol.IMITATING} trained at most {pol.BUDGET_SHORT:.0%} of the env steps of "
                   f"the shipped config for its env."),
        fix="The shipped config's budget.",
        evidence=("CartPole's shipped 153,600 env steps hold 0.95 from 56-97k on 5 of 5 seeds "
                  "(docs/benchmarks/classic-control/results.md); the MuJoCo configs' 1M reach their targets "
                  "(docs/results/mujoco.md)."),
        fn=pol.budget_short),
    Check(
        name="budget-ends-rising", severity="error", title="The budget ends while the return still rises",
        signature=(f"A least-squares line through the evaluations of the last {pol.RISE_WINDOW:.0%} of the budget climbs "
                   f"by {pol.RISE_GAIN} or more and the final score is below {pol.IMITATING} (an error below "
                   f"{adv.NOT_IMITATING}, a warning above)."),
        fix="Twice the budget.",
        evidence=("Walker2d with linear decay at minibatch 128 was still rising when its rates ran down (0.21, "
                  "tests/fixtures/doctor/mujoco.csv); a CartPole run cut to a tenth of its budget ends mid-climb."),
        fn=pol.budget_ends_rising),
    Check(
        name="return-peaked-and-fell", severity="warning", title="The return peaked and fell",
        signature=(f"The best per-round evaluation (round 0 only for a cloned generator) is {pol.PEAK_DROP} or more "
                   f"above the final score."),
        fix=("Linear rate decay (`gail.lr_schedule: linear`) if the rates are constant; else a BC term "
             "(`gail.bc_weight: 0.1`); else stop where it peaked."),
        evidence=("CartPole: linear decay, with the gradient penalty, took the seeds that stayed at the expert "
                  "from 2 of 5 to 5 of 5; Swimmer: the BC term narrowed its swings from 0.40-1.07 to 0.86-1.01 "
                  "(docs/results/how-configs-were-chosen.md). Walker2d `w-b128-s4` peaked at 0.61 and ended at "
                  "0.03."),
        fn=pol.peaked_and_fell),
    Check(
        name="not-imitating", severity="warning", title="Not imitating, no known signature",
        signature=(f"A finished GAIL or BC run's final normalized score is below {adv.NOT_IMITATING} and no other error or "
                   f"warning fired."),
        fix="Look at the curves (`gailctl plot RUN`) and the discriminator's panels.",
        evidence="The catch-all: it keeps the doctor from calling a run that did not imitate healthy.",
        fn=pol.not_imitating),
)

SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
CHECK_RANK = {c.name: i for i, c in enumerate(CATALOGUE)}
CHECK_RANK["run-unfinished"] = CHECK_RANK["run-failed"]
LIVE_CHECKS = tuple(c for c in CATALOGUE if c.live)


def by_name(name: str) -> Check:
    return next(c for c in CATALOGUE if c.name == name)
