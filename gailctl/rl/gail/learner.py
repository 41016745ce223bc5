"""The GAIL (or AIRL) learner as one object: build or load it, train it round by round, save it.

`GailLearner` holds imitation's adversarial trainer and what gailctl adds to it: the generator
(PPO) and its observation normalisation, the reward net, the kept demonstrations and their
batch order, the BC term, the reward scaling. The gail stage and bench's throughput measurement
both build it here; `save(folder)` and `load(folder, state)` are a pair, so a checkpoint holds
everything the next round reads.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from gailctl.core.config import BCConfig, EnvConfig, GailConfig
from gailctl.core.errors import GailctlError, UsageError
from gailctl.core.torch_files import read_torch_payload, torch_save
from gailctl.rl import compat
from gailctl.rl.env.normalize import (
    VECNORMALIZE_FILE,
    restore_from_checkpoint,
    vecnormalize_payload,
)
from gailctl.rl.gail.averaging import AVERAGE_FILE, PolicyAverage
from gailctl.rl.gail.batches import ExpertBatches
from gailctl.rl.gail.bc_term import install_bc_term
from gailctl.rl.gail.trainer import (
    build_trainer,
    disc_trains,
    normalize_generator,
    set_learning_rates,
    train_discriminator,
)
from gailctl.rl.policies import (
    build_ppo,
    build_reward_net,
    load_ppo,
    load_reward_net,
    reward_net_payload,
    save_zip,
    train_value_only,
)
from gailctl.rl.ppo import PolicyWithStats
from gailctl.rl.torch_setup import multi_tensor_updates

REPLAY_BUFFER_FILE = "gen_replay_buffer.pt"
POLICY_FILE = "policy.zip"
LAST_ITERATE_FILE = "policy_last_iterate.zip"
REWARD_NET_FILE = "reward_net.pt"


@dataclass(frozen=True)
class RoundDone:
    """One finished round: its number (1-based), the generator's env steps so far, the discriminator
    batches' statistics, and how long the generator and the discriminator took."""

    round: int
    n_env_steps: int
    disc_stats: list[dict[str, float]]
    gen_s: float
    disc_s: float


class GailLearner(PolicyWithStats):
    """imitation's GAIL or AIRL trainer with gailctl's parts, at a round boundary.

    Attributes:
        trainer: imitation's `AdversarialTrainer` (its `train_disc` penalised, rollouts batch-labelled).
        gen: the generator, an SB3 PPO.
        reward_net: the discriminator's (GAIL) or AIRL's reward net.
        vec: the generator's VecNormalize (gail.normalize_obs), or None.
        demos: the kept expert transitions (gail.subsample_every), imitation `Transitions`.
        rounds_done: rounds trained so far (a loaded learner continues the count).
        bc_init_loss: the last epoch's loss of the BC warm start (gail.bc_init_epochs), or None.
        average: the moving average of the policy's weights (gail.policy_average_halflife), or None.
    """

    def __init__(self, g: GailConfig, *, env: EnvConfig, seed: int, venv: Any, gen: Any, reward_net: Any, demos: Any,
                 log_dir: Path, rounds_done: int = 0):
        compat.check_versions()
        self.g, self.env, self.seed = g, env, seed
        self.model, self.reward_net, self.demos = gen, reward_net, demos
        self.rounds_done = rounds_done
        self.steps_per_round = g.ppo.n_steps * venv.num_envs  # one PPO rollout of the generator
        self.bc_init_loss: Optional[float] = None
        self.batches = ExpertBatches(demos, batch_size=g.demo_batch_size, rng=np.random.default_rng(seed))
        self.scaler = None
        if g.normalize_reward:
            from gailctl.rl.gail.relabel import ReturnScaler

            self.scaler = ReturnScaler(venv.num_envs, gamma=g.ppo.gamma)
        self.trainer = build_trainer(g, allow_variable_horizon=env.allow_variable_horizon, venv=venv, gen=gen,
                                     reward_net=reward_net, batches=self.batches, log_dir=log_dir,
                                     log_rows_kept=rounds_done if rounds_done else None, scaler=self.scaler)
        self.vec: Optional[Any] = normalize_generator(self.trainer, g) if g.normalize_obs else None
        self.bc_term = install_bc_term(gen.policy, demos, g, seed=seed, vec=self.vec)
        self.average = PolicyAverage(g.policy_average_halflife) if g.policy_average_halflife else None

    # --- building --------------------------------------------------------------------------

    @classmethod
    def build(cls, g: GailConfig, *, env: EnvConfig, bc: BCConfig, seed: int, venv: Any, demos: Any,
              log_dir: Path) -> "GailLearner":
        """A fresh learner; with gail.bc_init_epochs its generator starts from BC on `demos` (the `bc` section's
        batch size, learning rate and loss weights), as OpenAI baselines' GAIL `--pretrained` did."""
        gen = build_ppo(venv, g.ppo, seed=seed)
        reward_net = build_reward_net(venv, g.reward_net, algorithm=g.algorithm, discount_factor=g.ppo.gamma)
        learner = cls(g, env=env, seed=seed, venv=venv, gen=gen, reward_net=reward_net, demos=demos, log_dir=log_dir)
        if g.bc_init_epochs:
            from gailctl.rl.cloning import clone_into_generator

            learner.bc_init_loss = clone_into_generator(gen, demos, vec=learner.vec, bc=bc, epochs=g.bc_init_epochs,
                                                        seed=seed, log_dir=log_dir / "bc_init", std=g.bc_init_std)
        return learner

    @classmethod
    def load(cls, folder: Path, state: dict[str, Any], g: GailConfig, *, env: EnvConfig, seed: int, venv: Any,
             demos: Any, log_dir: Path) -> "GailLearner":
        """The learner a checkpoint folder written by `save` holds, with `state` (what `save` returned).

        Everything the next round reads is put back except the global random states, which the
        caller restores last: generator, reward net, the discriminator's optimizer, observation and
        reward statistics, the generator replay buffer, the expert batch order, the BC term's batch
        order, and imitation's progress.csv rows up to the checkpoint's round.
        """
        gen = load_ppo(folder / POLICY_FILE, venv, env_id=env.id, ppo=g.ppo, seed=seed)
        gen.num_timesteps = int(state["n_env_steps"])
        payload = read_torch_payload(folder / REWARD_NET_FILE)
        reward_net = load_reward_net(folder / REWARD_NET_FILE, venv, payload=payload)
        learner = cls(g, env=env, seed=seed, venv=venv, gen=gen, reward_net=reward_net, demos=demos, log_dir=log_dir,
                      rounds_done=int(state["round"]))
        restore_from_checkpoint(learner.vec, folder, setting="gail.normalize_obs")
        disc_opt = compat.disc_optimizer(learner.trainer)
        disc_opt.load_state_dict(payload["disc_optimizer"])
        multi_tensor_updates(disc_opt)  # the saved groups' flags replaced ours
        if "expert_batches" in state:
            learner.batches.restore(state["expert_batches"])
        if learner.bc_term is not None and "bc_term_batches" in state:
            learner.bc_term.batches.restore(state["bc_term_batches"])
        if learner.scaler is not None:
            if "reward_scale" not in state:
                raise UsageError(f"{folder}: saved without gail.normalize_reward; resume with the run's own config")
            learner.scaler.restore(state["reward_scale"])
        if learner.average is not None:
            if not (folder / AVERAGE_FILE).is_file():
                raise UsageError(f"{folder}: saved without gail.policy_average_halflife; resume with the run's own config")
            learner.average = PolicyAverage.from_payload(read_torch_payload(folder / AVERAGE_FILE), source=folder / AVERAGE_FILE,
                                                         halflife_rounds=g.policy_average_halflife)
        if (folder / REPLAY_BUFFER_FILE).is_file():
            compat.restore_replay_buffer(learner.trainer, read_torch_payload(folder / REPLAY_BUFFER_FILE),
                                         source=folder / REPLAY_BUFFER_FILE)
        return learner

    # --- training --------------------------------------------------------------------------

    @property
    def gen(self) -> Any:
        """The generator, an SB3 PPO (trained behind `vec` when gail.normalize_obs)."""
        return self.model

    @property
    def units_done(self) -> int:
        return self.rounds_done

    def learn(self, n_rounds: int, callback: Optional[Callable[[RoundDone], None]] = None) -> None:
        """Train rounds `rounds_done + 1 .. n_rounds`, calling `callback` after each (imitation's `train` loop).

        In the first gail.value_warmup_rounds rounds PPO trains only its value function.
        """
        try:
            while self.rounds_done < n_rounds:
                done = self.train_round(n_rounds)
                if callback is not None:
                    callback(done)
        finally:
            if self.g.value_warmup_rounds:
                train_value_only(self.gen.policy, False)

    def train_round(self, n_rounds: int) -> RoundDone:
        """The next round of `n_rounds`: the generator's rollout and PPO update, then the discriminator's.

        At the schedule's learning rates (the discriminator frozen in gail.disc_frozen_fraction's
        last rounds), then one dump of imitation's log (one progress.csv row a round). With a BC
        term, its mean loss over the round goes to that log as gen/bc_loss.
        """
        g, r, trainer = self.g, self.rounds_done + 1, self.trainer
        if g.value_warmup_rounds:
            train_value_only(self.gen.policy, r <= g.value_warmup_rounds)
        set_learning_rates(trainer, g, round_number=r, n_rounds=n_rounds)
        started = time.perf_counter()
        try:
            trainer.train_gen(self.steps_per_round)
        except ValueError as exc:
            if "different length" in str(exc):
                raise GailctlError(f"env.id = {self.env.id}: the generator's episodes have different lengths; "
                                   "use a fixed-horizon env or set env.allow_variable_horizon: true") from None
            raise
        gen_done = time.perf_counter()
        if self.bc_term is not None:
            trainer.logger.record("gen/bc_loss", self.bc_term.take_mean_loss())
        stats = train_discriminator(trainer, learn=disc_trains(g, round_number=r, n_rounds=n_rounds))
        trainer.logger.dump(r)
        if self.average is not None:
            with self.last_iterate():  # the round's weights as they act on raw observations
                self.average.update(self.gen.policy.state_dict())
        self.rounds_done = r
        return RoundDone(round=r, n_env_steps=self.n_env_steps, disc_stats=stats, gen_s=gen_done - started,
                         disc_s=time.perf_counter() - gen_done)

    def stop_on_signal(self) -> None:
        """Let a stop request (SIGINT/SIGTERM in a `graceful_stop` block) end a rollout within a step.

        The check runs at every env step, so measurements of speed build the learner without it.
        """
        from gailctl.core.signals import mid_rollout_stop

        self.trainer.gen_callback = mid_rollout_stop(self.trainer.gen_callback)

    # --- the policy it ships ---------------------------------------------------------------

    @contextlib.contextmanager
    def policy(self) -> Iterator[Any]:
        """The policy policy.zip ships, on raw observations: the moving average of the rounds' weights
        (gail.policy_average_halflife), else PPO's last iterate."""
        if self.average is None:
            with super().policy() as model:
                yield model
            return
        with self.average.swapped_in(self.gen.policy):
            yield self.model

    def last_iterate(self) -> contextlib.AbstractContextManager[Any]:
        """PPO's own weights on raw observations (what policy.zip ships without an average)."""
        return super().policy()

    def save_last_iterate(self, path: Path) -> None:
        """PPO's own last weights as an ordinary SB3 zip (raw observations in), beside the average."""
        with self.last_iterate():
            save_zip(self.model, path, raw_obs=self.vec is not None)

    # --- saving ----------------------------------------------------------------------------

    def save(self, folder: Path) -> dict[str, Any]:
        """Write the learner into a checkpoint folder; returns the plain state `load` takes back.

        The generator's zip holds its trained (unfolded) weights; the reward net's file also holds
        the discriminator's optimizer state. Files are tensors only (loaded with `weights_only=True`).
        """
        self.gen.save(folder / POLICY_FILE)
        if self.vec is not None:
            torch_save(vecnormalize_payload(self.vec), folder / VECNORMALIZE_FILE)
        torch_save(self._reward_net_payload(extra={"disc_optimizer": compat.disc_optimizer(self.trainer).state_dict()}),
                   folder / REWARD_NET_FILE)
        torch_save(compat.replay_buffer_payload(self.trainer), folder / REPLAY_BUFFER_FILE)
        if self.average is not None:
            torch_save(self.average.payload(), folder / AVERAGE_FILE)
        state: dict[str, Any] = {"round": self.rounds_done, "n_env_steps": self.n_env_steps,
                                 "expert_batches": self.batches.state()}
        if self.bc_term is not None:
            state["bc_term_batches"] = self.bc_term.batches.state()
        if self.scaler is not None:
            state["reward_scale"] = self.scaler.state()
        return state

    def save_reward_net(self, path: Path) -> None:
        """The reward net alone (tensors and the settings that rebuild it), as `load_reward_net` reads it."""
        from gailctl.core.torch_files import save_torch_atomic

        save_torch_atomic(path, self._reward_net_payload())

    def _reward_net_payload(self, extra: Optional[dict[str, Any]] = None) -> dict[str, Any]:
        return reward_net_payload(self.reward_net, self.g.reward_net, env_id=self.env.id, algorithm=self.g.algorithm,
                                  discount_factor=self.g.ppo.gamma, extra=extra)
