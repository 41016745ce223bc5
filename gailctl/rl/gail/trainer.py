"""imitation's GAIL/AIRL trainer as gailctl builds it, and what one round of it does.

The trainer is imitation's own (`AdversarialTrainer` through `train_gen` / `train_disc`, what its
`train` does), with three parts swapped in: the discriminator's gradient penalty and instance noise
(`discriminator.py`), rollouts labelled in one batch (`relabel.py`), and an imitation log that
continues across a resume (`ContinuedCSV`). The learning-rate schedule is set per round because
imitation calls PPO's `learn` once a round, which SB3's own schedules would each see as a whole run.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional

import numpy as np
from stable_baselines3.common.logger import CSVOutputFormat

from gailctl.core.config import GailConfig
from gailctl.rl import compat
from gailctl.rl.torch_setup import multi_tensor_updates

DISC_KEYS = ("disc_loss", "disc_acc", "disc_acc_expert", "disc_acc_gen", "disc_entropy")
"""Discriminator statistics imitation's `train_disc` returns, averaged per round into metrics.csv."""


class ContinuedCSV(CSVOutputFormat):
    """SB3's CSV writer for imitation's `progress.csv` (one row a round), continuing an earlier invocation's file.

    SB3's own opens its file with "w+t", so a resumed run would lose the rounds before its checkpoint.
    With `keep_rows`, the file is opened for update instead: its header becomes the writer's keys and
    everything after the first `keep_rows` rows (rounds the checkpoint does not hold) is cut off;
    SB3's `write` then appends as it always does.
    """

    def __init__(self, filename: Path, *, keep_rows: Optional[int] = None):
        if keep_rows is None or not Path(filename).is_file():
            super().__init__(str(filename))
            return
        self.file = open(filename, "r+t", encoding="utf-8")  # noqa: SIM115 - closed by SB3's close()
        self.separator, self.quotechar = ",", '"'
        header = self.file.readline().rstrip("\n")
        self.keys = header.split(",") if header else []
        for _ in range(keep_rows):
            if not self.file.readline():
                break
        self.file.truncate(self.file.tell())


def imitation_logger(log_dir: Path, *, keep_rows: Optional[int] = None) -> Any:
    """imitation's hierarchical logger, writing its per-round means to `log_dir/progress.csv` (off stdout).

    Its per-update logs (`raw/`) use imitation's own CSV writers and start anew on a resume.
    """
    from imitation.util.logger import HierarchicalLogger
    from stable_baselines3.common.logger import Logger

    log_dir.mkdir(parents=True, exist_ok=True)
    return HierarchicalLogger(Logger(str(log_dir), [ContinuedCSV(log_dir / "progress.csv", keep_rows=keep_rows)]), ["csv"])


def build_trainer(g: GailConfig, *, allow_variable_horizon: bool, venv: Any, gen: Any, reward_net: Any, batches: Any,
                  log_dir: Path, log_rows_kept: Optional[int] = None, scaler: Any = None) -> Any:
    """imitation's GAIL or AIRL trainer (generator, reward net and expert batches built by the caller).

    `scaler`: a `relabel.ReturnScaler` for the rewards PPO trains on (gail.normalize_reward);
    `log_rows_kept`: a resumed run's rounds, whose rows of imitation's log are kept.
    """
    from gailctl.rl.gail.discriminator import penalized_trainer_class

    trainer = penalized_trainer_class(g.algorithm)(
        grad_penalty=g.disc_grad_penalty,
        input_noise=g.disc_input_noise,
        demonstrations=batches,
        demo_batch_size=g.demo_batch_size,
        gen_replay_buffer_capacity=g.gen_replay_buffer_capacity,
        n_disc_updates_per_round=g.n_disc_updates_per_round,
        venv=venv,
        gen_algo=gen,
        reward_net=reward_net,
        disc_opt_kwargs={"lr": g.disc_lr, "weight_decay": g.disc_weight_decay},
        allow_variable_horizon=allow_variable_horizon,
        log_dir=log_dir,
        custom_logger=imitation_logger(log_dir, keep_rows=log_rows_kept),
    )
    multi_tensor_updates(compat.disc_optimizer(trainer))
    if g.batched_rewards:
        from gailctl.rl.gail.relabel import install_batched_rewards

        logit = trainer.reward_train.base.predict_processed if g.reward_form == "logit" else None
        install_batched_rewards(trainer, scaler=scaler, reward_fn=logit)
    return trainer


def train_discriminator(trainer: Any, *, learn: bool = True) -> list[dict[str, float]]:
    """A round's discriminator updates, in training mode (so the input normalisation learns).

    With `learn` False (a frozen round, `disc_trains`) the same batches are scored in eval mode, so
    the round's statistics are still logged; the caller has set the optimizer's rate to 0.
    """
    from imitation.util import networks

    mode = networks.training if learn else networks.evaluating
    stats = []
    for _ in range(trainer.n_disc_updates_per_round):
        with mode(trainer.reward_train):
            stats.append(trainer.train_disc())
    return stats


def mean_disc_stats(stats: list[dict[str, float]]) -> dict[str, float]:
    """The mean of each discriminator statistic over a round's batches (DISC_KEYS)."""
    return {k: float(np.nanmean([s[k] for s in stats])) for k in DISC_KEYS}


def lr_factor(g: GailConfig, *, round_number: int, n_rounds: int) -> float:
    """The learning-rate multiplier for round `round_number` (1-based) of `n_rounds` (1.0 if constant).

    SB3's convention: `progress_remaining = 1 - num_timesteps / total_timesteps`, taken once the
    rollout is collected, when the update runs. A round's updates (PPO and discriminator) run after
    its rollout, so round r of n sees progress_remaining 1 - r/n, counted against the budget the
    run actually trains (whole rounds): the last round runs at exactly `lr_final_fraction`.
    """
    if g.lr_schedule == "constant":
        return 1.0
    progress_remaining = max(0.0, 1.0 - round_number / n_rounds)
    return g.lr_final_fraction + (1.0 - g.lr_final_fraction) * progress_remaining


def disc_trains(g: GailConfig, *, round_number: int, n_rounds: int) -> bool:
    """Whether the discriminator learns in round `round_number` (1-based) of `n_rounds`: not in the
    last `gail.disc_frozen_fraction` of them (whole rounds, rounded down)."""
    return round_number <= n_rounds - math.floor(g.disc_frozen_fraction * n_rounds)


def set_learning_rates(trainer: Any, g: GailConfig, *, round_number: int, n_rounds: int) -> None:
    """Apply the schedule before round `round_number` (1-based) of `n_rounds` (so a resume continues it).

    A frozen round (`disc_trains` False) gives the discriminator a rate of 0.
    """
    from stable_baselines3.common.utils import get_schedule_fn

    factor = lr_factor(g, round_number=round_number, n_rounds=n_rounds)
    trainer.gen_algo.learning_rate = g.ppo.learning_rate * factor
    trainer.gen_algo.lr_schedule = get_schedule_fn(trainer.gen_algo.learning_rate)
    disc_factor = factor if disc_trains(g, round_number=round_number, n_rounds=n_rounds) else 0.0
    for group in compat.disc_optimizer(trainer).param_groups:
        group["lr"] = g.disc_lr * disc_factor


def generator_normalizer(venv: Any, g: GailConfig) -> Any:
    """The generator's VecNormalize (observations only), as GAIL trains it; also bench's plain PPO's.

    A generator cloned from the demonstrations (gail.bc_init_epochs) keeps the statistics it was
    cloned with (`cloning.normalized_demos`), so its statistics do not update.
    """
    from stable_baselines3.common.vec_env import VecNormalize

    return VecNormalize(venv, training=not g.bc_init_epochs, norm_obs=True, norm_reward=False, gamma=g.ppo.gamma)


def normalize_generator(trainer: Any, g: GailConfig) -> Any:
    """Put the generator's VecNormalize between the env PPO steps and PPO itself.

    It sits above imitation's buffering wrapper and our reward recorder, so the discriminator,
    its replay buffer and the reward labels all see raw observations, like the demonstrations.
    """
    vec = generator_normalizer(trainer.venv_train, g)
    trainer.venv_train = trainer.venv_wrapped = vec
    trainer.gen_algo.set_env(vec)
    return vec
