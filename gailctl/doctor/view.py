"""A run folder read once into what the doctor's checks look at: `RunView`.

Everything a check needs is here, typed: the resolved config, the summary's final scores, the
metrics rows (per round for gail, per evaluation for expert), imitation's own per-round log
(the generator's entropy, action std and losses), what the demonstrations were, and BC runs on
the same data. Missing files leave fields empty: a check that lacks its data does not fire.
Stdlib and yaml only.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

from gailctl.core.errors import UsageError
from gailctl.core.demo_sources import recorded_env_id
from gailctl.core.runs import is_run_dir, stage_from_folder_name
from gailctl.report.run_info import load_run_config, run_algorithm, summary_or_none
from gailctl.report.run_scores import FinalScores, final_scores, number

DISC_COLUMNS = ("disc_loss", "disc_acc", "disc_acc_expert", "disc_acc_gen")
PROGRESS_FILE = Path("imitation") / "progress.csv"
"""imitation's own log of a gail run: one row per round, PPO's and the discriminator's internals."""


def _nonfinite(value: Any) -> bool:
    """A logged NaN or inf ("nan", "inf", float('nan')); empty cells are not."""
    if value is None or value == "" or isinstance(value, bool):
        return False
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class Row:
    """One metrics row: a gail round (discriminator statistics, and an evaluation every few
    rounds) or an expert evaluation. None where the row has no value."""

    n_env_steps: int
    round: Optional[int] = None
    disc_loss: Optional[float] = None
    disc_acc: Optional[float] = None
    disc_acc_expert: Optional[float] = None
    disc_acc_gen: Optional[float] = None
    return_mean: Optional[float] = None
    normalized_score: Optional[float] = None
    episode_len_mean: Optional[float] = None
    nonfinite: tuple[str, ...] = ()
    """Columns logged as NaN or inf in this row."""

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any]) -> Optional["Row"]:
        steps = number(row.get("n_env_steps"))
        if steps is None:
            return None
        rnd = number(row.get("round"))
        return cls(
            n_env_steps=int(steps),
            round=None if rnd is None else int(rnd),
            **{k: number(row.get(k)) for k in (*DISC_COLUMNS, "return_mean", "normalized_score", "episode_len_mean")},
            nonfinite=tuple(k for k, v in row.items() if _nonfinite(v)),
        )

    @property
    def where(self) -> str:
        """`round 140 (71,680 env steps)`, or `71,680 env steps` for a run without rounds."""
        steps = f"{self.n_env_steps:,} env steps"
        return f"round {self.round} ({steps})" if self.round is not None else steps


@dataclass(frozen=True)
class ProgressRow:
    """One round of imitation's log: the generator's policy entropy and action std, and every
    loss it logged."""

    n_env_steps: Optional[int]
    entropy: Optional[float]
    """The policy's entropy (minus SB3's `entropy_loss`)."""
    std: Optional[float]
    """Mean action standard deviation (continuous actions only)."""
    nonfinite: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemoFacts:
    """What the learner's demonstrations were; None where unknown."""

    path: Optional[str] = None
    recorded_env_id: Optional[str] = None
    """The env the demonstrations were recorded on (a `gailctl record` run says so)."""
    n_traj: Optional[int] = None
    n_kept: Optional[int] = None
    """Transitions the learner got, after `gail.subsample_every`."""
    len_min: Optional[float] = None
    len_max: Optional[float] = None
    return_mean: Optional[float] = None
    normalized_return: Optional[float] = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class PeerScore:
    """Another run's final score on the same demonstrations (a BC run beside a GAIL one)."""

    run: str
    seed: Optional[int]
    normalized_score: float


@dataclass(frozen=True)
class RunView:
    """One run as the checks see it."""

    path: Path
    stage: Optional[str]
    algorithm: Optional[str]
    status: str
    error: Optional[str]
    env_id: Optional[str]
    seed: Optional[int]
    config: Mapping[str, Any]
    command: Optional[str]
    """The first line of command.txt (`cd DIR && gailctl ...`)."""
    budget: Optional[int]
    """Env steps the run was set to train (gail: whole rounds; expert: its total_timesteps)."""
    steps_per_round: Optional[int]
    rows: tuple[Row, ...]
    progress: tuple[ProgressRow, ...] = ()
    final: FinalScores = FinalScores()
    demos: DemoFacts = DemoFacts()
    bc_peers: tuple[PeerScore, ...] = ()
    summary: Mapping[str, Any] = field(default_factory=dict)

    def section(self, name: str) -> Mapping[str, Any]:
        value = self.config.get(name)
        return value if isinstance(value, Mapping) else {}

    def setting(self, dotted: str, default: Any = None) -> Any:
        """A config value by dotted key (`gail.ppo.log_std_init`); `default` when absent."""
        node: Any = self.config
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return default
            node = node[part]
        return node

    @property
    def has_references(self) -> bool:
        refs = self.section("references")
        return number(refs.get("random_return")) is not None and number(refs.get("expert_return")) is not None

    def normalize(self, value: Optional[float]) -> Optional[float]:
        refs = self.section("references")
        lo, hi = number(refs.get("random_return")), number(refs.get("expert_return"))
        if value is None or lo is None or hi is None or hi == lo:
            return None
        return (value - lo) / (hi - lo)

    @property
    def train_rows(self) -> tuple[Row, ...]:
        """Rounds with discriminator statistics (gail), in order."""
        return tuple(r for r in self.rows if r.disc_acc is not None)

    @property
    def scored_rows(self) -> tuple[Row, ...]:
        """Evaluations with a normalized score, in order."""
        return tuple(r for r in self.rows if r.normalized_score is not None)

    @property
    def final_score(self) -> Optional[float]:
        """The run's final normalized score: its final evaluation (argmax when it has both),
        else its last per-round evaluation."""
        if self.final.normalized_score is not None:
            return self.final.normalized_score
        scored = self.scored_rows
        return scored[-1].normalized_score if scored else None

    @property
    def continuous_actions(self) -> Optional[bool]:
        """Whether the generator logged an action std (continuous actions); None without a log."""
        if not self.progress:
            return None
        return any(p.std is not None for p in self.progress)

    def with_rows(self, rows: Sequence[Row]) -> "RunView":
        return replace(self, rows=tuple(rows))


# --- reading ---------------------------------------------------------------------------


def _read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return [r for r in csv.DictReader(fh) if None not in r.values()]  # a row cut by a kill is incomplete
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"{path}: cannot read it: {exc}") from None


def read_rows(run_dir: Path) -> tuple[Row, ...]:
    rows = (Row.from_mapping(r) for r in _read_csv(Path(run_dir) / "metrics.csv"))
    return tuple(r for r in rows if r is not None)


def read_progress(run_dir: Path) -> tuple[ProgressRow, ...]:
    out = []
    for r in _read_csv(Path(run_dir) / PROGRESS_FILE):
        ent_loss = number(r.get("mean/gen/train/entropy_loss"))
        steps = number(r.get("mean/gen/time/total_timesteps"))
        out.append(ProgressRow(
            n_env_steps=None if steps is None else int(steps),
            entropy=None if ent_loss is None else -ent_loss,
            std=number(r.get("mean/gen/train/std")),
            nonfinite=tuple(k.removeprefix("mean/") for k, v in r.items() if "loss" in k and _nonfinite(v)),
        ))
    return tuple(out)


def _budget(stage: Optional[str], config: Mapping[str, Any], summary: Mapping[str, Any]) -> tuple[Optional[int], Optional[int]]:
    """(budget in env steps, env steps per round)."""
    if stage == "gail":
        per_round = number(summary.get("steps_per_round"))
        if per_round is None:
            n_steps = number((config.get("gail") or {}).get("ppo", {}).get("n_steps"))
            n_envs = number((config.get("env") or {}).get("n_envs"))
            per_round = n_steps * n_envs if n_steps and n_envs else None
        total = number((config.get("gail") or {}).get("total_timesteps"))
        if per_round and total:
            return int(total // per_round * per_round), int(per_round)
        return None, None if per_round is None else int(per_round)
    if stage == "expert":
        total = number((config.get("expert") or {}).get("total_timesteps"))
        return (None if total is None else int(total)), None
    return None, None


def read_demo_facts(summary: Mapping[str, Any], config: Mapping[str, Any], normalize: Any) -> DemoFacts:
    """The run's own record of its demonstrations (`demo_stats`, written by gail), else what
    the record run they came from says about them."""
    own = summary.get("demo_stats")
    if isinstance(own, Mapping):
        known = {k: own.get(k) for k in DemoFacts.__dataclass_fields__}
        return DemoFacts(**known)
    path = summary.get("demos") if isinstance(summary.get("demos"), str) else None
    facts = DemoFacts(path=path, n_traj=_int(summary.get("n_demo_trajectories")), n_kept=_int(summary.get("n_demo_transitions")))
    if path is None:
        return facts
    recorded = recorded_env_id(path)
    record_summary = (summary_or_none(Path(path).parent) if Path(path).is_dir() else None) or {}  # a record run's demos/
    stats = record_summary.get("demos") if isinstance(record_summary.get("demos"), Mapping) else {}
    ret = number(stats.get("return_mean"))
    return replace(facts, recorded_env_id=recorded, len_min=number(stats.get("len_min")), len_max=number(stats.get("len_max")),
                   return_mean=ret, normalized_return=normalize(ret))


def _int(value: Any) -> Optional[int]:
    x = number(value)
    return None if x is None else int(x)


def _first_line(path: Path) -> Optional[str]:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.readline().strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def read_run(run_dir: Path) -> RunView:
    """Read a run folder (config.yaml and command.txt at least) into a RunView."""
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise UsageError(f"{run_dir}: no such run folder")
    if not is_run_dir(run_dir):
        raise UsageError(f"{run_dir}: not a gailctl run folder (no config.yaml and command.txt), "
                         "nor a sweep, tune or bench folder")
    config = load_run_config(run_dir)
    summary = summary_or_none(run_dir) or {}
    stage = summary.get("stage") if isinstance(summary.get("stage"), str) else stage_from_folder_name(run_dir.name)
    algorithm = run_algorithm(stage, summary, config, run_dir.name)
    budget, per_round = _budget(stage, config, summary)
    env_id = summary.get("env_id") if isinstance(summary.get("env_id"), str) else (config.get("env") or {}).get("id")
    view = RunView(
        path=run_dir,
        stage=stage,
        algorithm=algorithm if isinstance(algorithm, str) else None,
        status=summary.get("status") if isinstance(summary.get("status"), str) else "unknown",
        error=summary.get("error") if isinstance(summary.get("error"), str) else None,
        env_id=env_id if isinstance(env_id, str) else None,
        seed=_int(summary.get("seed", config.get("seed"))),
        config=config,
        command=_first_line(run_dir / "command.txt"),
        budget=budget,
        steps_per_round=per_round,
        rows=read_rows(run_dir),
        progress=read_progress(run_dir) if stage == "gail" else (),
        final=final_scores(stage, summary) if summary else FinalScores(),
        summary=summary,
    )
    return replace(view, demos=read_demo_facts(summary, config, view.normalize))


def live_view(run_dir: Path, config: Mapping[str, Any], *, demos: DemoFacts, rows: Iterable[Row] = ()) -> RunView:
    """The view a training gail run has of itself: its config and the rows so far."""
    budget, per_round = _budget("gail", config, {})
    gail = config.get("gail") or {}
    return RunView(path=Path(run_dir), stage="gail", algorithm=gail.get("algorithm", "gail"), status="running", error=None,
                   env_id=(config.get("env") or {}).get("id"), seed=_int(config.get("seed")), config=config, command=None,
                   budget=budget, steps_per_round=per_round, rows=tuple(rows), demos=demos)


def demo_facts(trajs: Sequence[Any], *, demos: Any, n_kept: int, references: Mapping[str, Any]) -> DemoFacts:
    """DemoFacts of loaded trajectories (imitation's, with `.acts`, and `.rews` unless the source has no
    rewards); `demos`: their `core.demo_sources.DemoSource`."""
    lengths = [len(t.acts) for t in trajs]
    rewarded = bool(trajs) and all(getattr(t, "rews", None) is not None for t in trajs)
    ret = float(sum(float(t.rews.sum()) for t in trajs) / len(trajs)) if rewarded else None
    lo, hi = number(references.get("random_return")), number(references.get("expert_return"))
    return DemoFacts(path=str(demos), recorded_env_id=recorded_env_id(demos), n_traj=len(trajs), n_kept=n_kept,
                     len_min=float(min(lengths)) if lengths else None, len_max=float(max(lengths)) if lengths else None,
                     return_mean=ret,
                     normalized_return=None if ret is None or lo is None or hi is None or hi == lo else (ret - lo) / (hi - lo))

