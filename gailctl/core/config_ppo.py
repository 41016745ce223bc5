"""The config sections' base model and the PPO section both the expert and the GAIL generator train with.

Only pydantic is imported here (see `gailctl.core.config`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from annotated_types import Ge
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    Strict,
    Tag,
)

from gailctl.core.config_types import PositiveInt, whole_number


class Section(BaseModel):
    """Frozen and strict about keys: a typo in a config is an error, not a silent default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NetArch(Section):
    """Separate hidden layers for the policy (`pi`) and the value network (`vf`), as rl-zoo's MuJoCo PPOs."""

    pi: tuple[PositiveInt, ...]
    vf: tuple[PositiveInt, ...]


def _net_arch_form(value: Any) -> str:
    return "split" if isinstance(value, (dict, NetArch)) else "shared"


# A list is one arch for both networks, a mapping one per network; the tag keeps errors to the form given.
NetArchSpec = Annotated[
    Union[Annotated[tuple[PositiveInt, ...], Tag("shared")], Annotated[NetArch, Tag("split")]],
    Discriminator(_net_arch_form),
]


class PPOConfig(Section):
    """stable-baselines3 PPO hyperparameters (same names as `PPO(...)` and its `policy_kwargs`)."""

    learning_rate: PositiveFloat = 3e-4
    """Adam learning rate of the policy and value networks."""
    n_steps: PositiveInt = 2048
    """Steps per env per rollout; one rollout = n_steps x env.n_envs env steps."""
    batch_size: PositiveInt = 64
    """Minibatch size of each gradient step; at most one rollout."""
    n_epochs: PositiveInt = 10
    """Passes over each rollout."""
    gamma: float = Field(default=0.99, gt=0.0, le=1.0)
    """Discount factor of the returns PPO maximises."""
    gae_lambda: float = Field(default=0.95, gt=0.0, le=1.0)
    """GAE's bias/variance trade-off for the advantages."""
    clip_range: PositiveFloat = 0.2
    """PPO's clipping of the probability ratio."""
    target_kl: Optional[PositiveFloat] = None
    """Ends a rollout's epochs early once the approximate KL to the rollout's policy passes 1.5x
    this (SB3's `target_kl`): a trust region on how far one round moves the policy. None: no limit."""
    ent_coef: NonNegativeFloat = 0.0
    """Weight of the entropy bonus (exploration)."""
    vf_coef: NonNegativeFloat = 0.5
    """Weight of the value loss."""
    max_grad_norm: PositiveFloat = 0.5
    """Gradient clipping norm."""
    net_arch: NetArchSpec = (64, 64)
    """Hidden layers of both the policy and the value network (a list), or of each
    (`{pi: [256, 256], vf: [256, 256]}`)."""
    activation_fn: Literal["tanh", "relu"] = "tanh"
    """Activation of the hidden layers (SB3's default tanh; rl-zoo's MuJoCo PPOs use relu)."""
    log_std_init: float = 0.0
    """Initial log standard deviation of a continuous policy's actions (rl-zoo's Hopper: -2)."""
    ortho_init: bool = True
    """Orthogonal initialisation of the layers (SB3's default); rl-zoo's MuJoCo PPOs turn it off."""
    use_sde: bool = False
    """Generalized state-dependent exploration (continuous actions only), as rl-zoo's Pendulum PPO."""
    sde_sample_freq: Annotated[int, BeforeValidator(whole_number), Strict(), Ge(-1)] = -1
    """Steps between gSDE noise resamples; -1 resamples only at rollout starts."""
