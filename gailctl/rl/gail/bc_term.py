"""A behavioural-cloning term in the generator's loss (gail.bc_weight): GAIL+BC.

Every PPO gradient step also lowers `weight` x a behavioural-cloning loss on a minibatch of the
run's (subsampled) demonstrations, as in Jena et al. 2020 ("Augmenting GAIL with BC for sample
efficient imitation learning") and DAPG's BC term (Rajeswaran et al. 2018). Where the
demonstrations already pin the actions down (BC alone reaches the expert), the adversarial
reward still corrects the states BC drifts into, while the term keeps PPO's noisy updates on a
learned reward from walking the policy away from them.

The loss is on the action the policy would take, not on the likelihood of the demonstrations'
actions: for continuous actions the squared distance of the distribution's mean to the
demonstrated action (summed over action dimensions); for discrete ones the negative
log-likelihood of the demonstrated action. A Gaussian's likelihood also pays for a smaller
spread: on Swimmer, a likelihood term on 200 demonstrated pairs took the action std to 0.03 by
200k env steps and 0.0007 by 1M, at weights 1 and 0.1 alike (without the term 0.25-0.32), and
PPO stopped exploring. The spread stays PPO's to learn.

It rides on torch's public optimizer step pre-hook, so SB3's PPO loop is untouched: the term's
gradient is added after PPO has clipped its own (max_grad_norm) and just before Adam's step. It
is skipped while gail.value_warmup_rounds freezes the policy (nothing of it would move).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from gailctl.core.config import GailConfig

BC_TERM_STREAM = 0xBC
"""Second seed word of the BC term's batch order, so it is not the discriminator's (seeded by `seed` alone)."""


class BCTerm:
    """The term on one generator's optimizer: its weight, demonstration batches and mean loss since last asked.

    `batches` (a `batches.ExpertBatches`, resumable) hand out raw demonstration minibatches;
    with `vec` (the generator's VecNormalize) their observations are normalised by its current
    statistics at every step, as PPO's own observations are.
    """

    def __init__(self, policy: Any, batches: Any, *, weight: float, vec: Optional[Any]):
        self.policy, self.batches, self.weight, self.vec = policy, batches, float(weight), vec
        self._iter = iter(batches)
        self._sum, self._n = 0.0, 0
        policy.optimizer.register_step_pre_hook(self._add_gradient)

    def _next_batch(self) -> dict[str, np.ndarray]:
        try:
            return next(self._iter)
        except StopIteration:  # an epoch of the demonstrations is done: the next is reshuffled
            self._iter = iter(self.batches)
            return next(self._iter)

    def loss(self, batch: dict[str, np.ndarray]) -> Any:
        """The batch's BC loss (a tensor with a graph): squared error of the mean action, or NLL if discrete.

        The actor alone, straight to its output layer (no distribution object, no critic): this
        runs at every PPO step. The whole term is about 11% of a Swimmer round (12% through
        `get_distribution`), the same numbers either way.
        """
        import torch
        import torch.nn.functional as F
        from gymnasium import spaces
        from stable_baselines3.common.preprocessing import preprocess_obs

        policy = self.policy
        obs = batch["obs"] if self.vec is None else self.vec.normalize_obs(batch["obs"])
        obs_t = preprocess_obs(torch.as_tensor(obs, device=policy.device), policy.observation_space,
                               normalize_images=policy.normalize_images)
        acts = torch.as_tensor(batch["acts"], device=policy.device)
        if not isinstance(policy.action_space, (spaces.Box, spaces.Discrete)):
            return -policy.get_distribution(obs_t).log_prob(acts).mean()
        head = policy.action_net(policy.mlp_extractor.forward_actor(policy.pi_features_extractor(obs_t)))
        if isinstance(policy.action_space, spaces.Discrete):  # head = logits
            return F.cross_entropy(head, acts.long().flatten())
        mean = torch.tanh(head) if policy.squash_output else head  # gSDE's squashed mode
        return (mean - acts.float()).pow(2).flatten(1).sum(1).mean()

    def _add_gradient(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        import torch

        if not any(p.requires_grad for p in self.policy.action_net.parameters()):
            return  # value warm-up: the policy is frozen
        with torch.enable_grad():
            loss = self.loss(self._next_batch())
            (self.weight * loss).backward()
        self._sum += float(loss.detach())
        self._n += 1

    def take_mean_loss(self) -> float:
        """Mean loss over the steps since the last call (NaN if none), and start afresh."""
        mean = self._sum / self._n if self._n else float("nan")
        self._sum, self._n = 0.0, 0
        return mean


def install_bc_term(policy: Any, demos: Any, g: GailConfig, *, seed: int, vec: Optional[Any]) -> Optional[BCTerm]:
    """The generator's BC term (gail.bc_weight > 0) on `policy`, from the run's kept transitions; else None.

    Also bench's plain PPO gets it, so the throughput ratio compares generators that do the same work.
    """
    if g.bc_weight <= 0:
        return None
    from gailctl.rl.gail.batches import ExpertBatches

    batches = ExpertBatches(demos, batch_size=min(g.ppo.batch_size, len(demos)),
                            rng=np.random.default_rng([seed, BC_TERM_STREAM]))
    return BCTerm(policy, batches, weight=g.bc_weight, vec=vec)
