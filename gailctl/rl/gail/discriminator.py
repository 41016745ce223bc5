"""imitation's GAIL/AIRL with an optional gradient penalty and instance noise on the discriminator.

The failure we measured on seals/CartPole-v0 (one seed in five never learns; others drop away
from the expert after reaching it) comes with a discriminator that wins outright: loss near 0,
accuracy 1.0 on expert and generator data, so the learned reward is a cliff with no slope
towards the expert. A zero-centred gradient penalty, lambda * E||grad_x D(x)||^2 over the
batch's expert and generator inputs (Mescheder et al. 2018; Thanh-Tung et al. 2019; for
adversarial imitation, Blonde et al. 2020, "Lipschitzness is all you need"), keeps the
discriminator smooth so its logits (GAIL's reward) rise gradually towards the expert's states.

The penalty is taken on the inputs as the net's first layers see them: after imitation's
`RunningNorm` (gail.reward_net.normalize_input), i.e. with respect to z = (x - mean) / std. On
raw inputs a feature with ten times less spread (MountainCar's velocity, about +-0.07) would be
penalised a hundred times more, so one coefficient would mean something else on every task.
Every input the net reads counts: state, action, and next_state and done when the net uses them
(AIRL's shaping potential reads state and next_state through its own normalisation; each of
its normalised inputs counts separately). Without input normalisation it falls back to the raw
inputs the net uses.

Instance noise (gail.disc_input_noise) is added at the same place, to the normalised inputs, and
only while the discriminator trains: with 4 trajectories kept every 20th step it sees the same 200
expert pairs in every batch, and noise keeps it from separating them by memorising them.

`train_disc` is imitation 1.0.1's `AdversarialTrainer.train_disc` with the penalty added to the
loss, which imitation offers no hook for (same batches, loss scaling, statistics, log keys and
TensorBoard histograms); with a penalty of 0 it calls imitation's own. It reads the trainer's
private parts (`_disc_opt`, `_reward_net`, `_disc_step`, `_make_disc_train_batches`), which
`gailctl.rl.compat.check_versions` pins to that release.

For GAIL, the policy's log-probabilities of the discriminator's batch are not computed:
imitation evaluates the generator on every batch (AIRL's discriminator needs it), GAIL's
discriminator discards the result, and that forward pass was 42% of the discriminator's time
in a CartPole profile (1.8% of a whole GAIL run).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Callable, Mapping, Optional


@contextlib.contextmanager
def _norm_output_hook(net: Any, hook: Callable[[Any, Any, Any], Any]) -> Iterator[None]:
    """Inside, `hook` is a forward hook on each of the net's input-normalisation layers (imitation's
    BaseNorm): what it returns replaces the layer's output for the rest of the net."""
    from imitation.util.networks import BaseNorm

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, BaseNorm)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


@contextlib.contextmanager
def _normalised_inputs(net: Any) -> Iterator[list[Any]]:
    """Inside, every output of the net's input-normalisation layers is collected as a leaf tensor.

    A forward hook hands the rest of the net a detached copy that requires grad, so the gradient
    of the logits with respect to the normalised inputs is `autograd.grad(logits, leaves)`. The
    normalisation has no trainable parameters, so nothing upstream of it loses a gradient.
    """
    leaves: list[Any] = []

    def hook(module: Any, args: Any, output: Any) -> Any:
        leaf = output.detach().requires_grad_(True)
        leaves.append(leaf)
        return leaf

    with _norm_output_hook(net, hook):
        yield leaves


@contextlib.contextmanager
def _noisy_inputs(net: Any, std: float) -> Iterator[None]:
    """Inside, Gaussian noise of `std` is added to every output of the net's input-normalisation
    layers (instance noise; nothing when `std` is 0).

    Registered before `_normalised_inputs`'s hook, so a gradient penalty is taken at the noisy
    points the loss sees. The normalisation's running statistics update from the clean inputs.
    """
    if std <= 0.0:
        yield
        return

    import torch

    def hook(module: Any, args: Any, output: Any) -> Any:
        return output + std * torch.randn_like(output)

    with _norm_output_hook(net, hook):
        yield


def penalized_logits(logits_fn: Callable[..., Any], net: Any, state: Any, action: Any, next_state: Any,
                     done: Any, log_policy_act_prob: Any = None) -> tuple[Any, Any]:
    """(logits, E||grad_z logits||^2) for one batch, z the net's inputs after its normalisation.

    Args:
        logits_fn: the trainer's `logits_expert_is_high`.
        net: the reward net it calls (its normalisation layers are found in it).
        state, action, next_state, done: preprocessed batch tensors, (batch, ...) each.

    Returns:
        The logits, shape (batch,), and the penalty, a scalar with a graph (for `backward`).
    """
    import torch

    inputs = [t.detach().float().requires_grad_(True) for t in (state, action, next_state, done)]
    with _normalised_inputs(net) as leaves:
        logits = logits_fn(*inputs, log_policy_act_prob)
    # Raw inputs only when the net normalises none: then unused ones get no gradient (None).
    wrt = leaves if leaves else inputs
    grads = torch.autograd.grad(logits.sum(), wrt, create_graph=True, allow_unused=True)
    per_sample = [g.pow(2).flatten(1).sum(1) if g.ndim > 1 else g.pow(2) for g in grads if g is not None]
    if not per_sample:
        return logits, logits.sum() * 0.0  # a net that reads none of its inputs
    return logits, torch.stack(per_sample).sum(0).mean()


def penalized_trainer_class(algorithm: str) -> type:
    """GAIL or AIRL, whose `train_disc` adds `grad_penalty * E||grad D||^2` when it is > 0 and
    trains on inputs with instance noise of `input_noise` (a standard deviation) when it is > 0."""
    import torch
    import torch.nn.functional as F
    from imitation.algorithms.adversarial.airl import AIRL
    from imitation.algorithms.adversarial.common import compute_train_stats
    from imitation.algorithms.adversarial.gail import GAIL

    base = AIRL if algorithm == "airl" else GAIL

    class Penalized(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, grad_penalty: float = 0.0, input_noise: float = 0.0, **kwargs: Any):
            super().__init__(*args, **kwargs)
            self.grad_penalty = float(grad_penalty)
            self.input_noise = float(input_noise)

        def train_disc(self, *, expert_samples: Optional[Mapping] = None, gen_samples: Optional[Mapping] = None) -> Mapping[str, float]:
            with _noisy_inputs(self._reward_net, self.input_noise):
                return self._train_disc(expert_samples=expert_samples, gen_samples=gen_samples)

        def _train_disc(self, *, expert_samples: Optional[Mapping], gen_samples: Optional[Mapping]) -> Mapping[str, float]:
            if self.grad_penalty <= 0.0:
                return super().train_disc(expert_samples=expert_samples, gen_samples=gen_samples)
            with self.logger.accumulate_means("disc"):
                write_summaries = self._init_tensorboard and self._global_step % 20 == 0
                self._disc_opt.zero_grad()
                for batch in self._make_disc_train_batches(gen_samples=gen_samples, expert_samples=expert_samples):
                    logits, penalty = penalized_logits(
                        self.logits_expert_is_high, self._reward_net, batch["state"], batch["action"],
                        batch["next_state"], batch["done"], batch["log_policy_act_prob"])
                    labels = batch["labels_expert_is_one"]
                    bce = F.binary_cross_entropy_with_logits(logits, labels.float())
                    loss = (bce + self.grad_penalty * penalty) * (self.demo_minibatch_size / self.demo_batch_size)
                    loss.backward()
                self._disc_opt.step()
                self._disc_step += 1
                with torch.no_grad():
                    stats = dict(compute_train_stats(logits, labels, bce))
                stats["disc_grad_penalty"] = float(penalty.detach())
                self.logger.record("global_step", self._global_step)
                for key, value in stats.items():
                    self.logger.record(key, value)
                self.logger.dump(self._disc_step)
                if write_summaries:
                    self._summary_writer.add_histogram("disc_logits", logits.detach())
            return stats

        if base is GAIL:

            def _get_log_policy_act_prob(self, obs_th: Any, acts_th: Any) -> None:
                return None  # GAIL.logits_expert_is_high ignores it

    Penalized.__name__ = Penalized.__qualname__ = f"Penalized{base.__name__}"
    return Penalized
