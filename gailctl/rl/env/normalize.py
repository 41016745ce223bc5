"""Observation normalisation folded into a policy's first layers, and VecNormalize statistics as tensors.

An expert trained behind SB3's VecNormalize sees (x - mean) / sqrt(var + eps), not x. Folding
that affine map into the first Linear layer of each branch gives a plain MlpPolicy that takes
raw observations, so demonstrations stay raw and any SB3 user can `PPO.load` the zip.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

if TYPE_CHECKING:
    import torch
    from stable_baselines3.common.vec_env import VecNormalize

VECNORMALIZE_FORMAT = "gailctl.vecnormalize/1"
VECNORMALIZE_FILE = "vecnormalize.pt"
"""A checkpoint's normalisation statistics, next to its unfolded policy (for --resume)."""

# (first hidden layer, the head used instead when the branch has no hidden layers)
_BRANCHES = (("mlp_extractor.policy_net.0", "action_net"), ("mlp_extractor.value_net.0", "value_net"))


def first_layers(state: dict[str, Any]) -> list[str]:
    """The Linear layers (name prefixes) that read the observation directly.

    Raises:
        ValueError: the policy uses gSDE without hidden policy layers: its noise is a function
            of the normalised observation itself, which no weight change can reproduce.
    """
    layers = []
    for hidden, head in _BRANCHES:
        if f"{hidden}.weight" in state:
            layers.append(hidden)
        elif f"{head}.weight" in state:
            if head == "action_net" and getattr(state.get("log_std"), "ndim", 1) == 2:
                raise ValueError("a gSDE policy without hidden layers cannot absorb observation normalisation "
                                 "(its exploration noise reads the normalised observation); give it hidden layers")
            layers.append(head)
        else:
            raise ValueError(f"not a PPO MlpPolicy state dict (neither {hidden}.weight nor {head}.weight)")
    return layers


def fold_obs_normalization(
    policy_state_dict: dict[str, "torch.Tensor"], mean: Any, var: Any, epsilon: float
) -> dict[str, "torch.Tensor"]:
    """A new state dict whose policy takes raw observations x, as the old one took (x - mean) / sigma.

    sigma = sqrt(var + epsilon), as VecNormalize computes it. Each first layer becomes
    W' = W / sigma (per input column), b' = b - W' @ mean; every other tensor is copied.
    VecNormalize also clips normalised observations to +-clip_obs (10 by default); an affine
    layer cannot clip, so the folded policy differs from the trained one only on observations
    beyond 10 standard deviations of the training statistics, which are rare.

    Args:
        policy_state_dict: `model.policy.state_dict()` of an SB3 MlpPolicy (left unchanged).
        mean, var: observation statistics, shaped like one observation (VecNormalize's `obs_rms`).
        epsilon: VecNormalize's `epsilon`.
    """
    import torch

    folded = {k: v.detach().clone() for k, v in policy_state_dict.items()}
    # SB3's FlattenExtractor feeds a (2, 3) Box as 6 inputs in C order; reshape(-1) matches it.
    mean64 = torch.as_tensor(np.asarray(mean, dtype=np.float64).reshape(-1))
    sigma64 = torch.sqrt(torch.as_tensor(np.asarray(var, dtype=np.float64).reshape(-1)) + float(epsilon))
    for layer in first_layers(policy_state_dict):
        w, b = folded[f"{layer}.weight"], folded[f"{layer}.bias"]
        if w.shape[1] != mean64.shape[0]:
            raise ValueError(f"{layer}.weight takes {w.shape[1]} inputs; the statistics have {mean64.shape[0]}")
        w_new = w.double() / sigma64[None, :]
        folded[f"{layer}.weight"] = w_new.to(w.dtype)
        folded[f"{layer}.bias"] = (b.double() - w_new @ mean64).to(b.dtype)
    return folded


def _rms(rms: Any) -> dict[str, Any]:
    import torch

    return {"mean": torch.as_tensor(np.asarray(rms.mean, dtype=np.float64)),
            "var": torch.as_tensor(np.asarray(rms.var, dtype=np.float64)), "count": float(rms.count)}


def vecnormalize_payload(vec: "VecNormalize") -> dict[str, Any]:
    """VecNormalize's statistics and settings as tensors and plain values (never the pickled wrapper)."""
    return {
        "format": VECNORMALIZE_FORMAT,
        "norm_obs": bool(vec.norm_obs),
        "norm_reward": bool(vec.norm_reward),
        "gamma": float(vec.gamma),
        "epsilon": float(vec.epsilon),
        "clip_obs": float(vec.clip_obs),
        "clip_reward": float(vec.clip_reward),
        "obs_rms": _rms(vec.obs_rms) if vec.norm_obs else None,
        "ret_rms": _rms(vec.ret_rms),
    }


def restore_vecnormalize(vec: "VecNormalize", payload: dict[str, Any]) -> None:
    """Put statistics saved by `vecnormalize_payload` back into a freshly built VecNormalize.

    Raises:
        ValueError: the payload is not ours, or it was saved with other settings or shapes.
    """
    if payload.get("format") != VECNORMALIZE_FORMAT:
        raise ValueError(f"format {payload.get('format')!r}, expected {VECNORMALIZE_FORMAT}")
    for key in ("norm_obs", "norm_reward"):
        if bool(payload.get(key)) != bool(getattr(vec, key)):
            raise ValueError(f"saved with {key}={payload.get(key)}, the run now has {key}={getattr(vec, key)}")
    targets = [("ret_rms", vec.ret_rms)] + ([("obs_rms", vec.obs_rms)] if vec.norm_obs else [])
    for name, rms in targets:
        saved = payload[name]
        mean, var = saved["mean"].numpy(), saved["var"].numpy()
        if mean.shape != np.shape(rms.mean) or var.shape != np.shape(rms.var):
            raise ValueError(f"{name} has shape {tuple(mean.shape)}, the env needs {tuple(np.shape(rms.mean))}")
        rms.mean, rms.var, rms.count = mean.astype(np.float64), var.astype(np.float64), float(saved["count"])


def restore_from_checkpoint(vec: Optional["VecNormalize"], checkpoint: Path, *, setting: str) -> None:
    """Reload a checkpoint's VecNormalize statistics (tensors-only, `weights_only=True`) into `vec`.

    `vec` is None when the run does not normalise; `setting` names the config key(s) for the
    messages. Refuses a checkpoint whose normalisation disagrees with the run's config.
    """
    from gailctl.core.errors import UsageError
    from gailctl.core.torch_files import read_torch_payload

    path = checkpoint / VECNORMALIZE_FILE
    if vec is None:
        if path.is_file():
            raise UsageError(f"{path}: this checkpoint was trained with normalisation, but the run's config has {setting} false")
        return
    if not path.is_file():
        raise UsageError(f"{checkpoint}: no {VECNORMALIZE_FILE}; the run's config asks for normalisation ({setting}), "
                         "but this checkpoint was written without it")
    try:
        restore_vecnormalize(vec, read_torch_payload(path))
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise UsageError(f"{path}: damaged or mismatched normalisation statistics ({exc})") from None


@contextlib.contextmanager
def raw_obs_weights(model: Any, vec: Optional[Any]) -> Iterator[None]:
    """Inside, `model` holds weights folded for raw observations (what model.zip ships); outside, its trained ones.

    Weights are copied in place, so the optimizer keeps its parameters and training resumes unchanged.
    """
    if vec is None or not vec.norm_obs:
        yield
        return
    trained = {k: v.detach().clone() for k, v in model.policy.state_dict().items()}
    model.policy.load_state_dict(fold_obs_normalization(trained, vec.obs_rms.mean, vec.obs_rms.var, vec.epsilon))
    try:
        yield
    finally:
        model.policy.load_state_dict(trained)


# --- checkpoints of a policy trained behind VecNormalize ------------------------------------

TRAINED_POLICY_FORMAT = "gailctl.trained_policy/1"
TRAINED_POLICY_FILE = "policy_trained.pt"
"""A checkpoint's policy weights as trained (for normalised observations), next to its folded zip."""


def save_policy_checkpoint(model: Any, vec: Optional["VecNormalize"], folder: Path, *, zip_name: str) -> None:
    """Write a policy into a checkpoint folder: a zip for users, the exact training state for --resume.

    The zip always takes raw observations (statistics folded in, as the run's final zip), so
    `gailctl eval checkpoints/.../model.zip` plays what the run would play. Folding rounds the
    weights, so when observations are normalised the trained weights go beside it
    (`policy_trained.pt`, tensors only) with the statistics (`vecnormalize.pt`): `--resume`
    restores those exactly. The optimizer state inside the zip belongs to the trained weights.
    """
    with raw_obs_weights(model, vec):
        model.save(folder / zip_name)
    if vec is None:
        return
    from gailctl.rl.env.vecnorm_stats import mark_folded

    mark_folded(folder / zip_name)  # SB3's data says "trained behind VecNormalize"; these weights take raw observations
    import torch

    torch.save(vecnormalize_payload(vec), folder / VECNORMALIZE_FILE)
    if vec.norm_obs:
        torch.save({"format": TRAINED_POLICY_FORMAT,
                    "state_dict": {k: v.detach().clone() for k, v in model.policy.state_dict().items()}},
                   folder / TRAINED_POLICY_FILE)


def restore_trained_policy(model: Any, checkpoint: Path) -> None:
    """Put a checkpoint's trained (unfolded) weights into `model`, loaded from its folded zip.

    A checkpoint without `policy_trained.pt` holds its trained weights in the zip itself (no
    observation normalisation, or a checkpoint written before zips were folded): nothing to do.
    Weights are copied in place, so the optimizer loaded from the zip keeps its parameters.
    """
    from gailctl.core.errors import UsageError
    from gailctl.core.torch_files import read_torch_payload

    path = Path(checkpoint) / TRAINED_POLICY_FILE
    if not path.is_file():
        return
    payload = read_torch_payload(path)
    try:
        if payload.get("format") != TRAINED_POLICY_FORMAT:
            raise ValueError(f"format {payload.get('format')!r}, expected {TRAINED_POLICY_FORMAT}")
        model.policy.load_state_dict(payload["state_dict"], strict=True)
    except (KeyError, ValueError, RuntimeError) as exc:
        raise UsageError(f"{path}: damaged or mismatched trained weights ({str(exc).splitlines()[0][:160]})") from None


def unfolded_checkpoint_zip(zip_path: Path) -> bool:
    """True for a zip in a checkpoint folder whose weights expect normalised observations.

    Checkpoints written before every zip was folded hold the trained weights with the statistics
    beside them (`vecnormalize.pt` normalising observations, no `policy_trained.pt`): played on
    raw observations they pick wrong actions without a word, so callers refuse them.
    """
    from gailctl.core.torch_files import read_torch_payload

    folder = Path(zip_path).parent
    stats = folder / VECNORMALIZE_FILE
    if not stats.is_file() or (folder / TRAINED_POLICY_FILE).is_file():
        return False
    return bool(read_torch_payload(stats).get("norm_obs"))
