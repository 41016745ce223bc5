"""An exponential moving average of the generator's policy weights (gail.policy_average_halflife).

A GAN's generator is better read from an average of its recent weights than from its last
iterate (Yazıcı et al. 2019, "The Unusual Effectiveness of Averaging in GAN Training"), and
averaging a policy's weights steadied A2C and DDPG (Nikishin et al. 2018). GAIL's generator
swings between rounds as its reward moves; PPO keeps training its own weights, and the average,
updated after every round, is the policy gailctl evaluates, keeps and ships.

The average is taken over the weights as they act on raw observations (VecNormalize's
statistics of that round folded in), so each round enters as the policy it was, although the
statistics drift.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Optional

from gailctl.core.errors import UsageError

AVERAGE_FORMAT = "gailctl.policy_average/1"
AVERAGE_FILE = "policy_average.pt"


def decay(halflife_rounds: int) -> float:
    """The weight the average keeps each round: a round's weights count half as much `halflife_rounds` later."""
    return 0.5 ** (1.0 / halflife_rounds)


class PolicyAverage:
    """The average of a policy's state_dict, round by round. Starts at the first weights it is given
    (no bias towards zero); entries that are not floating point (none in SB3's MLP policies) follow
    the latest weights."""

    def __init__(self, halflife_rounds: int, *, state: Optional[dict[str, Any]] = None, n_updates: int = 0):
        self.halflife_rounds = halflife_rounds
        self.state = state
        self.n_updates = n_updates

    def update(self, weights: dict[str, Any]) -> None:
        if self.state is None:
            self.state = {k: v.detach().clone() for k, v in weights.items()}
        else:
            from stable_baselines3.common.utils import polyak_update  # SB3's soft target update, in place

            floats = [k for k, v in weights.items() if v.is_floating_point()]
            polyak_update([weights[k] for k in floats], [self.state[k] for k in floats],
                          tau=1.0 - decay(self.halflife_rounds))
            self.state.update({k: v.detach().clone() for k, v in weights.items() if k not in floats})
        self.n_updates += 1

    @contextlib.contextmanager
    def swapped_in(self, policy: Any) -> Iterator[None]:
        """Inside, `policy` (a torch module) holds the average; outside, its own weights again (copied
        in place, so its optimizer is untouched). Before the first update it holds its own."""
        if self.state is None:
            yield
            return
        own = {k: v.detach().clone() for k, v in policy.state_dict().items()}
        policy.load_state_dict(self.state)
        try:
            yield
        finally:
            policy.load_state_dict(own)

    def payload(self) -> dict[str, Any]:
        """Tensors and numbers only, for a checkpoint (read back with `weights_only=True`)."""
        return {"format": AVERAGE_FORMAT, "halflife_rounds": self.halflife_rounds, "n_updates": self.n_updates,
                "state": self.state}

    @classmethod
    def from_payload(cls, payload: dict[str, Any], *, halflife_rounds: int, source: Any) -> "PolicyAverage":
        if payload.get("format") != AVERAGE_FORMAT:
            raise UsageError(f"{source}: not a gailctl policy average (format {payload.get('format')!r}, "
                             f"expected {AVERAGE_FORMAT!r})")
        return cls(halflife_rounds, state=payload["state"], n_updates=int(payload["n_updates"]))
