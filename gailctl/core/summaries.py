"""What a run's summary.json says, as one typed model per stage: written by `execute`, read by every listing.

A summary is the run's header (stage, env, seed, status, clock, versions; `RunHeader`) and, once
the run finished, its stage's result (`ExpertResult`, `GailResult`, `BCResult`, `DaggerResult`,
`RecordResult`, `EvalResult`), side by side at the top level of the JSON. Stages return their result model;
`runs`, `compare`, the bench report and the experiment runner read summaries back through
`parse_summary`, which first upgrades older layouts (`upgrade`), so no reader guesses keys.
`SummaryScores` is the one place that says where each stage keeps its final score.

Models allow keys they do not name (a newer gailctl's), so reading never loses data, and leave
every field but the scores optional, so a summary of an older gailctl that lacks one still lists.
Only pydantic is imported: `gailctl runs` reads hundreds of summaries without torch.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Optional, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

SCHEMA = "gailctl.summary/2"
"""The layout `execute` writes; summaries without a `schema` key are the first layout (see `upgrade`)."""

STATUSES = ("running", "finished", "interrupted", "failed")


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


def _finite_or_none(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


Normalized = Annotated[Optional[float], BeforeValidator(_finite_or_none)]
"""A normalized score: None without references (NaN in memory, null in JSON)."""


class Scores(_Model):
    """One evaluation: returns over its episodes, and the normalized score (None without references)."""

    return_mean: float
    return_std: Optional[float] = None
    return_min: Optional[float] = None
    episode_len_mean: Optional[float] = None
    normalized_score: Normalized = None
    upright_share: Normalized = None
    """Locomotion tasks: the mean over episodes of the share of steps the robot stood upright
    (`gailctl.rl.upright`); None on tasks without healthy conditions and in older summaries."""
    returns: Optional[list[float]] = None
    """Each episode's return, in episode order: gail's final evaluations keep them (the bench asks
    how often a steady policy with these episodes would pass a per-round test); None elsewhere."""


class FinalEval(_Model):
    """gail's final score: `episodes` episodes with argmax actions and as many with sampled ones."""

    episodes: int
    deterministic: Scores
    stochastic: Scores


class Best(_Model):
    """The expert's best evaluation (best_model.zip) and a note when it is the untrained policy."""

    return_mean: float
    n_env_steps: int
    note: Optional[str] = None


class Selected(_Model):
    """A policy picked among a gail run's per-round evaluations, scored again on fresh episodes.

    The pick's own evaluation flatters it (among several noisy scores, the highest is likely lucky),
    so `rescored` plays it again on `rescored_episodes` episodes with seeds no per-round evaluation
    used, in the final evaluation's argmax mode. `gap` = `selection` - `rescored` (normalized scores
    when the config has references, else returns): how much the selection was optimistic.
    """

    criterion: str
    """`env_reward` (the highest per-round return) or `heldout_demos` (the evaluation's states closest to held-out
    demonstrations' states, the lowest heldout_state_mmd)."""
    uses_env_reward: bool
    statement: Optional[str] = None
    """The criterion in words, and whether it needed the env's reward."""
    file: str
    round: int
    n_env_steps: int
    selection_value: float
    """The criterion's value at the pick: the per-round return, or the held-out state MMD."""
    selection: Scores
    """The per-round evaluation at the pick (`eval_episodes` episodes)."""
    rescored: Scores
    rescored_episodes: int
    gap: Optional[float] = None
    gap_is_normalized: bool = False


class HeldOutSource(_Model):
    """What the held-out state MMD and action error are measured on (`gailctl.rl.heldout`)."""

    heldout: bool
    """False: the demonstrations held no trajectory beyond gail.n_demos, so the training ones were used."""
    n_trajectories: int
    n_transitions: int
    note: Optional[str] = None


class Lost(_Model):
    """What an experiment found of a run whose process died without a word (killed, its node lost)."""

    at: Optional[str] = None
    n_env_steps: Optional[int] = None
    """The last metrics row's env steps: how far it got."""
    checkpoint: Optional[str] = None
    """Its last complete checkpoint folder (`round_000060`), None when it wrote none."""


class Restart(_Model):
    """One time the run's process died and the run went on: from its last checkpoint in this folder
    (`from_checkpoint`), or from the start in this new folder (`lost_run` names the abandoned one)."""

    at: Optional[str] = None
    lost_at_n_env_steps: Optional[int] = None
    """How far the lost process had got (its last metrics row)."""
    from_checkpoint: Optional[str] = None
    from_n_env_steps: Optional[int] = 0
    """Where the run went on: the checkpoint's env steps, 0 when it started again (None: unreadable)."""
    lost_run: Optional[str] = None


class RunHeader(_Model):
    """What every summary holds, from the moment the run folder exists."""

    schema_: str = Field(default=SCHEMA, alias="schema")
    stage: str
    env_id: str
    seed: int
    run_dir: str
    started: Optional[str] = None
    resumed: list[str] = []
    restarts: list[Restart] = []
    """The times its process died (a worker killed, a node lost) and the run went on."""
    lost: Optional[Lost] = None
    """Set while the run stands abandoned by a dead process (status `failed` or `interrupted`)."""
    status: str
    wall_s: Optional[float] = None
    error: Optional[str] = None
    versions: dict[str, str] = {}

    def scores(self) -> "SummaryScores":
        """A run that has not finished has no final score."""
        return SummaryScores()


class ExpertResult(_Model):
    n_env_steps: Optional[int] = None
    n_rollouts: Optional[int] = None
    steps_per_rollout: Optional[int] = None
    n_updates: Optional[int] = None
    final: Scores
    best: Optional[Best] = None
    eval_episodes: Optional[int] = None
    eval_deterministic: Optional[bool] = None
    artifacts: Optional[dict[str, Optional[str]]] = None
    normalization: Optional[dict[str, Any]] = None


class GailResult(_Model):
    algorithm: Optional[str] = None
    demos: Optional[str] = None
    n_demo_trajectories: Optional[int] = None
    subsample_every: Optional[int] = None
    n_demo_transitions: Optional[int] = None
    bc_init_epochs: int = 0
    value_warmup_rounds: int = 0
    bc_weight: float = 0.0
    n_rounds: Optional[int] = None
    steps_per_round: Optional[int] = None
    n_env_steps: Optional[int] = None
    final: Scores
    """The last per-round evaluation (`eval_episodes` episodes): the learning curve's end, not the final score."""
    eval_episodes: Optional[int] = None
    eval_deterministic: Optional[bool] = None
    final_eval: Optional[FinalEval] = None
    """The final score; None only in summaries of runs made before gail measured one."""
    last_iterate: Optional[FinalEval] = None
    """With gail.policy_average_halflife (policy.zip holds the average): PPO's own last weights
    (policy_last_iterate.zip), scored on the same number of fresh episodes."""
    artifacts: Optional[dict[str, Optional[str]]] = None
    demo_stats: Optional[dict[str, Any]] = None
    """What the doctor measured of the demonstrations (`gailctl.doctor.view.DemoFacts`)."""
    best_by_reward: Optional[Selected] = None
    """best_policy.zip: the per-round evaluation with the highest return (needs the env's reward)."""
    best_reward_free: Optional[Selected] = None
    """best_policy_reward_free.zip: the evaluation's states closest to held-out demonstrations' (needs demonstrations only)."""
    heldout: Optional[HeldOutSource] = None


class BCResult(_Model):
    demos: Optional[str] = None
    n_demo_trajectories: Optional[int] = None
    subsample_every: int = 1
    n_demo_transitions: Optional[int] = None
    normalize_obs: bool = False
    n_env_steps: int = 0
    final: Scores
    bc_loss: Optional[float] = None
    eval_episodes: Optional[int] = None
    eval_deterministic: Optional[bool] = None
    artifacts: Optional[dict[str, Optional[str]]] = None


class Reached(_Model):
    """Where a DAgger run's policy alone first scored at least `threshold` (normalized): its row's counts."""

    threshold: float
    round: int
    labels: int
    n_env_steps: int


class DaggerResult(_Model):
    teacher: Optional[str] = None
    """`expert` (DAgger) or `human` (HG-DAgger)."""
    expert: Optional[str] = None
    demos: Optional[str] = None
    """The starting demonstrations (None: started from an untrained policy)."""
    n_start_trajectories: int = 0
    n_start_transitions: int = 0
    rounds: Optional[int] = None
    """Rounds done (fewer than asked when a person stopped early)."""
    n_env_steps: int = 0
    """Env steps the rounds played (evaluations not counted)."""
    labels: Optional[int] = None
    """Labelled transitions the policy learned from: the starting ones plus the teacher's."""
    takeover_steps: Optional[int] = None
    """`human`: steps the person drove, over all rounds."""
    start: Optional[Scores] = None
    """The policy alone before the first round (BC on the starting demonstrations)."""
    final: Scores
    """The policy alone after the last round (`eval_episodes` episodes)."""
    reached: Optional[Reached] = None
    """The first round whose evaluation scored at least 0.95 normalized; None if none did (or no references)."""
    eval_episodes: Optional[int] = None
    eval_deterministic: Optional[bool] = None
    artifacts: Optional[dict[str, Optional[str]]] = None


class DemoStats(_Model):
    """imitation's `rollout_stats` of the recorded episodes, plus their count and normalized mean return."""

    n_traj: Optional[int] = None
    n_transitions: Optional[int] = None
    return_mean: float
    return_std: Optional[float] = None
    return_min: Optional[float] = None
    return_max: Optional[float] = None
    len_mean: Optional[float] = None
    len_min: Optional[float] = None
    len_max: Optional[float] = None
    normalized_return_mean: Normalized = None
    upright_share: Normalized = None
    """Locomotion tasks: the mean share of steps upright over the recorded episodes (`gailctl.rl.upright`)."""
    upright_share_min: Normalized = None
    """The least upright recorded episode's share."""


class UprightSelection(_Model):
    """`record.min_upright_share`: how many episodes were rolled out to keep the requested ones, and what was dropped."""

    min_upright_share: float
    n_rolled_out: int
    """Episodes recorded in all; the metrics rows list each, with its upright share and whether it was kept."""
    n_kept: int
    n_dropped: int
    """Episodes below the threshold: the expert fell."""
    n_unused: int = 0
    """Episodes upright enough but beyond record.n_episodes (the last batch of envs overshot)."""
    dropped_episodes: list[int] = []
    """The dropped episodes' numbers in the metrics rows."""
    dropped_returns: list[float] = []
    dropped_upright_shares: list[float] = []


class RecordResult(_Model):
    source: Optional[str] = None
    """`expert` or `human`."""
    deterministic: Optional[bool] = None
    demos: DemoStats
    artifacts: Optional[dict[str, Optional[str]]] = None
    minari_dataset: Optional[str] = None
    """The Minari dataset id the demonstrations were also written as (`record --format minari`)."""
    keymap: Optional[dict[str, Any]] = None
    """`--human`: the key map played with (key -> action, and the action with no key held)."""
    fps: Optional[int] = None
    n_episodes_requested: Optional[int] = None
    n_redone: Optional[int] = None
    """`--human`: episodes the person redid from their start (Backspace)."""
    n_ended_early: Optional[int] = None
    """`--human`: kept episodes the person ended with Return once over in effect (the rest played out)."""
    stopped_by: Optional[str] = None
    """`--human`: escape, window closed, SIGINT or SIGTERM; None when every requested episode was played."""
    ended: Optional[str] = None
    """`--human`: how the recording ended, in words."""
    upright_selection: Optional[UprightSelection] = None
    """With record.min_upright_share: the episodes rolled out, kept and dropped."""


class EvalResult(_Model):
    policy: Optional[str] = None
    episodes: Optional[int] = None
    deterministic: Optional[bool] = None
    return_mean: float
    return_std: Optional[float] = None
    return_min: Optional[float] = None
    return_max: Optional[float] = None
    episode_len_mean: Optional[float] = None
    normalized_score: Normalized = None
    upright_share: Normalized = None
    """Locomotion tasks: the mean share of steps upright over the episodes (`gailctl.rl.upright`)."""
    upright_share_min: Normalized = None
    """The worst episode's upright share."""


StageResult = Union[ExpertResult, GailResult, BCResult, DaggerResult, RecordResult, EvalResult]


class ExpertSummary(ExpertResult, RunHeader):
    def scores(self) -> "SummaryScores":
        return SummaryScores(episodes=self.eval_episodes, deterministic=self.eval_deterministic, final=self.final)


class GailSummary(GailResult, RunHeader):
    def scores(self) -> "SummaryScores":
        if self.final_eval is None:  # only a per-round value
            return SummaryScores(last_round=self.final, last_round_episodes=self.eval_episodes)
        return SummaryScores(episodes=self.final_eval.episodes, deterministic=True, final=self.final_eval.deterministic,
                             sampled=self.final_eval.stochastic, last_round=self.final,
                             last_round_episodes=self.eval_episodes)


class BCSummary(BCResult, RunHeader):
    def scores(self) -> "SummaryScores":
        return SummaryScores(episodes=self.eval_episodes, deterministic=self.eval_deterministic, final=self.final)


class DaggerSummary(DaggerResult, RunHeader):
    def scores(self) -> "SummaryScores":
        return SummaryScores(episodes=self.eval_episodes, deterministic=self.eval_deterministic, final=self.final)


class RecordSummary(RecordResult, RunHeader):
    def scores(self) -> "SummaryScores":
        d = self.demos
        return SummaryScores(episodes=d.n_traj, deterministic=self.deterministic,
                             final=Scores(return_mean=d.return_mean, return_std=d.return_std,
                                          normalized_score=d.normalized_return_mean))


class EvalSummary(EvalResult, RunHeader):
    def scores(self) -> "SummaryScores":
        return SummaryScores(episodes=self.episodes, deterministic=self.deterministic,
                             final=Scores(return_mean=self.return_mean, return_std=self.return_std,
                                          normalized_score=self.normalized_score, upright_share=self.upright_share))


FINISHED_MODELS: dict[str, type[RunHeader]] = {
    "expert": ExpertSummary, "record": RecordSummary, "gail": GailSummary, "bc": BCSummary, "dagger": DaggerSummary,
    "eval": EvalSummary,
}
"""The model of a finished run's summary, by stage."""

STAGES = tuple(FINISHED_MODELS)
"""The stages, by the name their run folders and summaries carry (`gailctl.stages.stage_run` runs each)."""


class SummaryScores(_Model):
    """Where a run's final score is, whatever its stage; None where the run does not say (or never got there).

    `final` is the final evaluation (argmax when the run evaluated both ways, `deterministic`), over
    `episodes` episodes; `sampled` the same count with sampled actions (gail); `last_round` gail's
    last per-round evaluation (`last_round_episodes` episodes), shown only under that name.
    """

    episodes: Optional[int] = None
    deterministic: Optional[bool] = None
    final: Optional[Scores] = None
    sampled: Optional[Scores] = None
    last_round: Optional[Scores] = None
    last_round_episodes: Optional[int] = None


def upgrade(raw: dict[str, Any]) -> dict[str, Any]:
    """A summary of any earlier layout in the current one (the one place older layouts are known).

    The first layout had no `schema` key; summaries whose `stage` was missing are recognised by
    their fields (a record run's `demos` statistics, an eval's top-level `return_mean`).
    """
    data = dict(raw)
    if "schema" not in data:
        data["schema"] = SCHEMA
        if "stage" not in data:
            if isinstance(data.get("demos"), dict):
                data["stage"] = "record"
            elif "return_mean" in data:
                data["stage"] = "eval"
    return data


def parse_summary(raw: dict[str, Any]) -> RunHeader:
    """The typed summary: the stage's model for a finished run, else the header alone.

    Raises:
        pydantic.ValidationError: the summary does not have the shape its stage writes.
    """
    data = upgrade(raw)
    model = FINISHED_MODELS.get(data.get("stage", "")) if data.get("status") == "finished" else None
    return (model or RunHeader).model_validate(data)


def summary_json(header: dict[str, Any], result: Optional[StageResult] = None) -> dict[str, Any]:
    """The JSON object summary.json holds: the header's fields, then the result's, at the top level."""
    out = {"schema": SCHEMA, **header}
    if result is not None:
        out.update(result.model_dump(mode="json", by_alias=True))
    return out
