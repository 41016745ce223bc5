"""Process-wide torch settings every stage applies before it builds a network."""

from __future__ import annotations


def setup_torch() -> None:
    """One torch thread: small MLPs run faster, and results repeat exactly on CPU.

    Distributions skip their argument checks: SB3 builds one per policy call (every rollout
    and evaluation step), and the checks (finite means, positive scales) were 10 of the 84 us
    of a 5-observation `predict` here; they only ever raise, so no number changes.
    """
    import torch

    torch.set_num_threads(1)
    torch.distributions.Distribution.set_default_validate_args(False)
