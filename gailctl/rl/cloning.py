"""imitation's behavioural cloning as gailctl runs it: `gailctl bc`, and GAIL's warm start.

The warm start (gail.bc_init_epochs) clones the run's own demonstrations into GAIL's generator
before the first round. OpenAI baselines' GAIL had it as `--pretrained` (BC, then TRPO on the
learned reward). A random generator falls from the first step, so the discriminator can tell
its states from the expert's at once; a cloned one starts nearer the expert's states. Only the
policy is cloned: PPO's value head starts untrained.
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from gailctl.core.errors import UsageError
from gailctl.rl.torch_setup import multi_tensor_updates


class EpochLoss:
    """Wraps BC's public `loss_calculator` to average its loss over each epoch.

    imitation records the loss in its logger only on logged batches and clears it when it dumps,
    so the per-epoch number comes from the loss calculator's own results instead: the
    sample-weighted mean of the minibatch losses seen since the last `take()`.
    """

    def __init__(self, inner: Callable[..., Any]):
        self.inner = inner
        self._sum, self._n = 0.0, 0

    def __call__(self, policy: Any, obs: Any, acts: Any) -> Any:
        metrics = self.inner(policy, obs, acts)
        n = len(acts)
        self._sum += float(metrics.loss.detach()) * n
        self._n += n
        return metrics

    def take(self) -> float:
        """The mean loss per sample since the last call (NaN if no batch ran), and start afresh."""
        mean = self._sum / self._n if self._n else float("nan")
        self._sum, self._n = 0.0, 0
        return mean


@contextlib.contextmanager
def quiet_bc_logger() -> Iterator[None]:
    """Silence the one warning imitation 1.0.1's BC logger raises on every run.

    `BCLogger.log_batch` calls `float()` on the loss tensor, which still requires grad, and
    torch warns about it on the first batch; the loss is what we meant to log. Only that
    message, from imitation's bc module, for the duration of `train`.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad=True to a scalar",
                                category=UserWarning, module=r"imitation\.algorithms\.bc")
        yield


def bc_trainer(policy: Any, demos: Any, bc: Any, *, seed: int, log_dir: Path) -> Any:
    """imitation's `bc.BC` on `policy` (an SB3 ActorCriticPolicy) with the `bc` section's
    batch size, learning rate and loss weights; its own log as CSV under `log_dir`."""
    from imitation.algorithms import bc as imit_bc
    from imitation.util import logger as imit_logger

    trainer = imit_bc.BC(
        observation_space=policy.observation_space,
        action_space=policy.action_space,
        rng=np.random.default_rng(seed),
        policy=policy,
        demonstrations=demos,
        batch_size=bc.batch_size,
        optimizer_kwargs={"lr": bc.learning_rate},
        ent_weight=bc.ent_weight,
        l2_weight=bc.l2_weight,
        device="cpu",
        custom_logger=imit_logger.configure(log_dir, ["csv"]),
    )
    multi_tensor_updates(trainer.optimizer)
    return trainer


def demo_normalizer(venv: Any) -> Any:
    """A frozen, observations-only VecNormalize over `venv`, for `normalized_demos` to fill from the demonstrations."""
    from stable_baselines3.common.vec_env import VecNormalize

    return VecNormalize(venv, training=False, norm_obs=True, norm_reward=False)


def normalized_demos(demos: Any, vec: Optional[Any]) -> Any:
    """The demonstrations as the generator's policy reads them.

    With gail.normalize_obs the policy reads VecNormalize'd observations, whose statistics are
    still empty before the first rollout. A clone's come from the expert's states and stay fixed
    (`trainer.generator_normalizer` stops their updates): on Walker2d a clone scoring 0.85 fell to -0.17 after one
    round in which only the running statistics moved (PPO's learning rate 1e-9), as the
    generator's early-episode states pulled them away from the frame it was cloned in.
    `gailctl bc` with bc.normalize_obs uses it the same way, on a `demo_normalizer`.
    """
    if vec is None:
        return demos
    vec.obs_rms.update(np.asarray(demos.obs, dtype=np.float64))
    return dataclasses.replace(demos, obs=vec.normalize_obs(demos.obs), next_obs=vec.normalize_obs(demos.next_obs))


def clone_into_generator(gen: Any, demos: Any, *, vec: Optional[Any], bc: Any, epochs: int, seed: int,
                         log_dir: Path, std: Optional[float] = None) -> float:
    """Train the generator's policy by BC for `epochs` epochs; returns the last epoch's mean loss.

    `std`: then set the policy's action standard deviation to it (gail.bc_init_std)."""
    trainer = bc_trainer(gen.policy, normalized_demos(demos, vec), bc, seed=seed, log_dir=log_dir)
    epoch_loss = EpochLoss(trainer.loss_calculator)
    trainer.loss_calculator = epoch_loss
    losses: list[float] = []
    with quiet_bc_logger():
        trainer.train(n_epochs=epochs, on_epoch_end=lambda: losses.append(epoch_loss.take()),
                      progress_bar=False, log_interval=10**9)
    if std is not None:
        set_action_std(gen.policy, std)
    return losses[-1]


def set_action_std(policy: Any, std: float) -> None:
    """Every action dimension's standard deviation of an SB3 Gaussian policy (state-independent log_std) to `std`."""
    import math

    import torch as th

    log_std = getattr(policy, "log_std", None)
    if not isinstance(log_std, th.nn.Parameter) or getattr(policy, "use_sde", False):
        raise UsageError(f"gail.bc_init_std = {std}: needs continuous (Box) actions and a policy without gSDE; "
                         "leave it unset for this env")
    with th.no_grad():
        log_std.fill_(math.log(std))


class BCEpochs:
    """imitation's BC on an SB3 policy, trained an epoch at a time for the run loop (no checkpoints: epochs are short)."""

    n_env_steps = 0

    def __init__(self, trainer: Any):
        self.trainer = trainer
        self.units_done = 0
        self._epoch_loss = EpochLoss(trainer.loss_calculator)
        trainer.loss_calculator = self._epoch_loss

    def learn(self, n_epochs: int, callback: Callable[[int, int, dict[str, Any]], None]) -> None:
        """Train `n_epochs` epochs, calling `callback(epoch, 0, {"bc_loss": mean loss})` after each."""

        def epoch_done() -> None:
            self.units_done += 1
            callback(self.units_done, 0, {"bc_loss": self._epoch_loss.take()})

        with quiet_bc_logger():
            self.trainer.train(n_epochs=n_epochs, on_epoch_end=epoch_done, progress_bar=False, log_interval=10**9)

    def save(self, folder: Path) -> dict[str, Any]:
        raise NotImplementedError("bc runs do not checkpoint")

    def snapshot(self) -> None:
        return None

    def rewind(self, snapshot: None) -> None:
        return None
