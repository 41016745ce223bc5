"""Reward-free checks of a round: demonstrations the run did not learn from, against the generator.

Picking the round with the best return needs the env's reward, which a person with only
demonstrations does not have. What they do have are demonstrations the run did not learn from:
the trajectories after the first `gail.n_demos` of the source. Two measures are taken on them at
every per-round evaluation:

- `heldout_state_mmd`: how far the states the evaluation's episodes visit are from the held-out
  demonstrations' states (`gailctl.rl.state_distance`); the round with the lowest is the
  reward-free pick (best_policy_reward_free.zip).
- `heldout_action_error`: the generator's argmax action error on the held-out observations (mean
  squared distance for continuous actions, disagreement rate for discrete ones). Not the pick: on
  MuJoCo it is lowest at the BC start of a cloned generator on every Walker2d and Ant seed, where
  the policy falls (normalized 0.17 and 0.37 against 0.81 and 0.78 at the end), since an action
  error only asks about the demonstrations' states and never about where the policy goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Optional, Sequence

import numpy as np

MAX_TRANSITIONS = 5_000
"""At most this many held-out transitions (the first ones, whole trajectories first): one batched
forward pass per evaluation, a fraction of the evaluation episodes' cost."""

COLUMN = "heldout_action_error"
"""The metrics column that holds the action error at each per-round evaluation."""

STATE_COLUMN = "heldout_state_mmd"
"""The metrics column that holds the state distance at each per-round evaluation (the reward-free pick's)."""

COLUMNS = (COLUMN, STATE_COLUMN)


@dataclass(frozen=True)
class HeldOutDemos:
    """Expert (observation, action) pairs to score a policy's argmax actions against.

    `obs`: shape (n, *obs_shape); `acts`: shape (n, *act_shape), the expert's actions. `heldout`:
    False when the source had no trajectories beyond the training ones and these are the training
    trajectories' transitions (a weaker check, said in the summary). `n_trajectories`: how many
    trajectories they come from.
    """

    obs: np.ndarray
    acts: np.ndarray
    heldout: bool
    n_trajectories: int

    @property
    def n_transitions(self) -> int:
        return len(self.acts)

    @property
    def note(self) -> str:
        if self.heldout:
            return (f"{self.n_transitions} transitions of {self.n_trajectories} demonstration trajectories the run "
                    "did not learn from (those after gail.n_demos)")
        return (f"the demonstrations hold no trajectory beyond gail.n_demos: measured on {self.n_transitions} "
                f"transitions of the {self.n_trajectories} training trajectories (not held out)")

    @cached_property
    def states(self) -> Any:
        """The held-out observations as a `state_distance.StateReference` (built once per run)."""
        from gailctl.rl.state_distance import StateReference

        return StateReference.of(self.obs)

    def summary(self) -> dict[str, Any]:
        return {"heldout": self.heldout, "n_trajectories": self.n_trajectories, "n_transitions": self.n_transitions,
                "note": self.note}


def heldout_demos(every: Sequence[Any], *, n_train: int, cap: int = MAX_TRANSITIONS) -> Optional[HeldOutDemos]:
    """The transitions of `every[n_train:]` (all of them, not subsampled, the first `cap`); the training
    trajectories `every[:n_train]` when there are no others. None for observations that are not arrays
    (dict observations), which one batched pass cannot score."""
    from imitation.data.rollout import flatten_trajectories

    rest = list(every[n_train:])
    trajs, heldout = (rest, True) if rest else (list(every[:n_train]), False)
    flat = flatten_trajectories(trajs)
    if not isinstance(flat.obs, np.ndarray):
        return None
    return HeldOutDemos(obs=flat.obs[:cap], acts=np.asarray(flat.acts)[:cap], heldout=heldout, n_trajectories=len(trajs))


def action_error(predicted: np.ndarray, expert: np.ndarray, action_space: Any) -> float:
    """Mean over transitions of the squared Euclidean distance between actions (Box, both clipped to
    the space's bounds as the env receives them), or the share of transitions where they differ
    (discrete spaces). Shapes (n, *act_shape)."""
    from gymnasium import spaces

    if isinstance(action_space, spaces.Box):
        low, high = action_space.low, action_space.high
        ours = np.clip(np.asarray(predicted, dtype=np.float64), low, high).reshape(len(predicted), -1)
        theirs = np.clip(np.asarray(expert, dtype=np.float64), low, high).reshape(len(expert), -1)
        return float(np.mean(np.sum((ours - theirs) ** 2, axis=1)))
    ours_d = np.asarray(predicted).reshape(len(predicted), -1)
    theirs_d = np.asarray(expert).reshape(len(expert), -1)
    return float(np.mean(np.any(ours_d != theirs_d, axis=1)))


def policy_error(policy: Any, demos: HeldOutDemos) -> float:
    """`action_error` of the policy's argmax actions (SB3's `predict`, which clips Box actions as at
    evaluation) on `demos`. `policy` takes raw observations (a gailctl zip's weights, statistics folded in)."""
    predicted, _ = policy.predict(demos.obs, deterministic=True)
    return action_error(predicted, demos.acts, policy.action_space)
