"""DAgger as one object: imitation's DAgger trainer and its BC, a round at a time for the run loop.

A round: a teacher labels states the current policy leads to, the labels join the aggregate (the
trainer's round folders, and `aggregate` here, in order), and imitation's `extend_and_update`
retrains BC on all of it. `ExpertTeacher` is classic DAgger (imitation's SimpleDAggerTrainer and
InteractiveTrajectoryCollector: the expert's action is executed with probability beta, the
policy's otherwise, and every visited state is labelled with the expert's); `PersonTeacher` is
HG-DAgger (a person watches the policy drive and takes over while holding a key; only those
steps are labelled). The aggregate only grows, so a checkpoint records how many trajectories
it had and a resume reads that many back from the run's `demos/`.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from gailctl.core.signals import StoppedMidUnit
from gailctl.rl import compat
from gailctl.rl.cloning import EpochLoss, quiet_bc_logger

POLICY_FILE = "policy.pt"
"""A checkpoint's policy and BC optimizer state (tensors only)."""


@dataclass(frozen=True)
class RoundData:
    """What one round collected: the trajectories that join the aggregate and how they were played."""

    trajectories: list[Any]
    n_env_steps: int
    returns: list[float]
    """Returns of the episodes the round played (teacher and policy together)."""
    beta: Optional[float] = None
    """The chance the expert's action was executed (expert teacher)."""
    takeover_steps: Optional[int] = None
    """Steps the person drove (person teacher)."""

    @property
    def n_labels(self) -> int:
        return sum(len(t.acts) for t in self.trajectories)


def save_pieces(folder: Path, trajs: Sequence[Any], *, prefix: str) -> None:
    """Trajectories as one-trajectory files in a DAgger round folder, as imitation's collector saves them."""
    import datasets
    from imitation.data import serialize

    datasets.disable_progress_bars()  # the run loop's bar is enough
    folder.mkdir(parents=True, exist_ok=True)
    start = len(list(folder.iterdir()))
    for i, traj in enumerate(trajs):
        serialize.save(folder / f"{prefix}-{start + i:05d}.npz", [traj])


def read_piece(path: Path) -> Any:
    """A one-trajectory file this run's DAgger trainer wrote, its infos dropped unread (see `rl.demos.load_demos`)."""
    from imitation.data import serialize

    return dataclasses.replace(serialize.load(path)[0], infos=None)


class ExpertTeacher:
    """Classic DAgger's rounds: the collector of imitation's trainer, stepped with the expert's argmax actions."""

    def __init__(self, expert_policy: Any, *, steps_per_round: int):
        self.expert_policy, self.steps_per_round = expert_policy, steps_per_round

    def collect(self, trainer: Any, *, seed: int, round_num: int) -> RoundData:
        from imitation.data import rollout

        trainer.venv.seed(seed)
        collector = trainer.create_trajectory_collector()
        folder = compat.dagger_round_dir(trainer, trainer.round_num)
        before = set(folder.iterdir()) if folder.is_dir() else set()
        until = rollout.make_sample_until(min_timesteps=max(self.steps_per_round, trainer.batch_size), min_episodes=1)
        rollout.generate_trajectories(policy=self.expert_policy, venv=collector, sample_until=until,
                                      deterministic_policy=True, rng=collector.rng)
        # What the collector saved is what the trainer learns from: the aggregate holds exactly that.
        trajs = [read_piece(p) for p in sorted(set(folder.iterdir()) - before)]
        return RoundData(trajs, sum(len(t.acts) for t in trajs), [float(np.sum(t.rews)) for t in trajs],
                         beta=float(collector.beta))


class PersonTeacher:
    """HG-DAgger's rounds: one episode each in the person's window (`gailctl.rl.env.human.Session`)."""

    def __init__(self, session: Any, *, continuous: bool, n_rounds: int, act: Callable[[np.ndarray], Any]):
        self.session, self.continuous, self.n_rounds, self.act = session, continuous, n_rounds, act
        self.returns: list[float] = []
        self.labels = 0

    def header(self, round_num: int) -> str:
        shown = ", ".join(f"{r:.0f}" for r in self.returns[-6:]) or "-"
        return f"round {round_num}/{self.n_rounds}   returns so far: {shown}   your labels {self.labels}"

    def collect(self, trainer: Any, *, seed: int, round_num: int) -> RoundData:
        ep = self.session.episode(seed, header=lambda: self.header(round_num), policy=self.act)
        if ep is None:  # Esc, the window closed, or a signal: this episode's corrections are dropped
            raise StoppedMidUnit
        pieces = ep.corrections(continuous=self.continuous)
        save_pieces(compat.dagger_round_dir(trainer, trainer.round_num), pieces, prefix=f"correction-{round_num:04d}")
        self.returns.append(ep.ret)
        self.labels += sum(len(p.acts) for p in pieces)
        self.session.message([self.header(round_num)], f"round {round_num}: {sum(ep.by_person)} steps of yours join the "
                             "demonstrations; retraining and scoring the policy alone...")
        return RoundData(pieces, len(ep.acts), [ep.ret], takeover_steps=sum(ep.by_person))


class DaggerLearner:
    """imitation's DAgger trainer (its BC inside), trained a round at a time; the run loop's learner.

    `aggregate`: every labelled trajectory so far, in order (starting demonstrations first);
    `labels`: their transitions; `n_env_steps`: env steps the rounds played (not evaluations).
    """

    def __init__(self, trainer: Any, teacher: Any, *, bc_epochs: int, seed: int, aggregate: list[Any],
                 n_env_steps: int = 0, units_done: int = 0):
        self.trainer, self.teacher, self.bc_epochs, self.seed = trainer, teacher, bc_epochs, seed
        self.aggregate = aggregate
        self.n_start = 0
        """How many of `aggregate` (the first ones) are the starting demonstrations."""
        self.n_env_steps, self.units_done = n_env_steps, units_done
        self._loss = EpochLoss(trainer.bc_trainer.loss_calculator)
        trainer.bc_trainer.loss_calculator = self._loss

    @property
    def policy(self) -> Any:
        return self.trainer.policy

    @property
    def labels(self) -> int:
        return sum(len(t.acts) for t in self.aggregate)

    @staticmethod
    def make_trainer(*, venv: Any, bc: Any, scratch: Path, seed: int, beta_rampdown_rounds: int,
                     expert_policy: Optional[Any], log_dir: Path) -> Any:
        """SimpleDAggerTrainer with an expert, DAggerTrainer for a person; a fresh `scratch` folder."""
        from imitation.algorithms import dagger
        from imitation.util import logger as imit_logger

        shutil.rmtree(scratch, ignore_errors=True)
        common = {"venv": venv, "scratch_dir": scratch, "rng": np.random.default_rng(seed), "bc_trainer": bc,
                  "beta_schedule": dagger.LinearBetaSchedule(beta_rampdown_rounds),
                  "custom_logger": imit_logger.configure(log_dir, ["csv"])}
        if expert_policy is not None:
            return dagger.SimpleDAggerTrainer(expert_policy=expert_policy, **common)
        return dagger.DAggerTrainer(**common)

    def start(self, trajs: Sequence[Any], *, epochs: int) -> Optional[float]:
        """The starting demonstrations as the trainer's round 0, cloned for `epochs` epochs; the mean loss."""
        if not trajs:
            return None
        save_pieces(compat.dagger_round_dir(self.trainer, 0), trajs, prefix="start")
        self.aggregate.extend(trajs)
        self.n_start = len(trajs)
        return self._update(epochs)

    def _update(self, epochs: int) -> float:
        with quiet_bc_logger():
            self.trainer.extend_and_update({"n_epochs": epochs, "log_rollouts_venv": None, "progress_bar": False,
                                            "log_interval": 10**9})
        return self._loss.take()

    def learn(self, n_rounds: int, callback: Callable[[int, int, dict[str, Any]], None]) -> None:
        """Rounds until `n_rounds` are done, calling `callback(round, n_env_steps, stats)` after each."""
        while self.units_done < n_rounds:
            round_num = self.units_done + 1
            data = self.teacher.collect(self.trainer, seed=self.seed + round_num, round_num=round_num)
            self.aggregate.extend(data.trajectories)
            self.n_env_steps += data.n_env_steps
            # BC needs a whole batch; a person's first few corrections wait in the round folder until then.
            trained = data.trajectories and self.labels >= self.trainer.batch_size
            loss = self._update(self.bc_epochs) if trained else float("nan")
            self.units_done = round_num
            callback(round_num, self.n_env_steps, {
                "beta": "" if data.beta is None else data.beta, "labels": self.labels, "round_labels": data.n_labels,
                "takeover_steps": "" if data.takeover_steps is None else data.takeover_steps,
                "round_return": float(np.mean(data.returns)) if data.returns else float("nan"), "bc_loss": loss})

    # --- checkpoints -------------------------------------------------------------------------

    def save(self, folder: Path) -> dict[str, Any]:
        """The policy and BC's optimizer (tensors) in `folder`; counters and the trainer's random state as plain values."""
        from gailctl.core.torch_files import torch_save

        torch_save({"policy": self.policy.state_dict(), "optimizer": self.trainer.bc_trainer.optimizer.state_dict()},
                   folder / POLICY_FILE)
        return {"n_env_steps": self.n_env_steps, "round": self.units_done, "labels": self.labels,
                "n_trajectories": len(self.aggregate), "n_start": self.n_start, "trainer_round": int(self.trainer.round_num),
                "dagger_rng": json.dumps(self.trainer.rng.bit_generator.state)}

    def restore(self, folder: Path, state: dict[str, Any]) -> None:
        """Back to a checkpoint: weights, optimizer, round counters and the aggregate as the trainer's rounds.

        The aggregate (already in `self.aggregate`) goes into the fresh trainer's round 0, with empty
        folders for the rounds it was trained through, so the next `extend_and_update` reads it all.
        """
        from gailctl.core.torch_files import read_torch_payload

        payload = read_torch_payload(folder / POLICY_FILE)
        self.policy.load_state_dict(payload["policy"])
        self.trainer.bc_trainer.optimizer.load_state_dict(payload["optimizer"])
        self.n_env_steps, self.units_done, self.n_start = int(state["n_env_steps"]), int(state["round"]), int(state["n_start"])
        self.trainer.round_num = int(state["trainer_round"])
        self.trainer.rng.bit_generator.state = json.loads(state["dagger_rng"])
        save_pieces(compat.dagger_round_dir(self.trainer, 0), self.aggregate, prefix="resumed")
        for r in range(1, self.trainer.round_num + 1):
            compat.dagger_round_dir(self.trainer, r).mkdir(parents=True, exist_ok=True)

    def snapshot(self) -> None:
        return None  # a round changes nothing before its labels are in

    def rewind(self, snapshot: None) -> None:
        return None
