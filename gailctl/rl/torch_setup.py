"""Process-wide torch settings every stage applies before it builds a network."""

from __future__ import annotations


def setup_torch() -> None:
    """One torch thread: small MLPs run faster, and results repeat exactly on CPU."""
    import torch

    torch.set_num_threads(1)
