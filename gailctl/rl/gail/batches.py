"""Expert transitions in shuffled full batches, for the discriminator and the generator's BC term."""

from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np


class ExpertBatches:
    """Expert transitions in shuffled full batches, re-iterable epoch after epoch.

    The same batches imitation's own `DataLoader(shuffle=True, drop_last=True)` yields, drawn by
    numpy indexing: imitation's loader collates transitions one by one, which took 4.1 of the
    5.9 s of discriminator time in a 40-round CartPole profile. imitation accepts any iterable
    of transition batches as `demonstrations`.

    `state()` / `restore()` carry the order across a resume: the generator's bit state at the start
    of the current epoch (plain JSON data) and how many of that epoch's batches were handed out.
    """

    def __init__(self, trajs: Sequence[Any] | Any, *, batch_size: int, rng: np.random.Generator):
        """`trajs`: trajectories, or imitation `Transitions` already flattened (e.g. subsampled)."""
        from imitation.data.rollout import flatten_trajectories
        from imitation.data.types import Transitions

        flat = trajs if isinstance(trajs, Transitions) else flatten_trajectories(list(trajs))
        self.arrays = {"obs": flat.obs, "acts": flat.acts, "next_obs": flat.next_obs, "dones": flat.dones}
        self.batch_size, self.rng = batch_size, rng
        self._epoch_start = rng.bit_generator.state
        self._position = 0
        self._skip = 0

    def __iter__(self) -> Any:
        n = len(self.arrays["obs"])
        self._epoch_start, self._position = self.rng.bit_generator.state, self._skip
        order = self.rng.permutation(n)
        starts = range(0, n - self.batch_size + 1, self.batch_size)
        try:
            for start in starts[self._skip :]:
                self._skip = 0
                index = order[start : start + self.batch_size]
                self._position += 1
                yield {k: v[index] for k, v in self.arrays.items()}
        except GeneratorExit:  # an epoch abandoned (imitation draws one batch to check the data): the next starts afresh
            self._epoch_start, self._position = self.rng.bit_generator.state, 0
            raise
        self._skip = 0

    def state(self) -> dict[str, Any]:
        return {"rng": json.dumps(self._epoch_start), "position": self._position}

    def restore(self, state: dict[str, Any]) -> None:
        """The next epoch drawn repeats the saved one's order and starts after its handed-out batches."""
        self.rng.bit_generator.state = json.loads(state["rng"])
        self._skip = int(state["position"])
