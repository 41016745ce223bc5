"""Load SB3 PPO zips and save/load reward nets without ever unpickling code.

Trust model: stable-baselines3's `PPO.load` unpickles the zip's `data` entry (policy class,
spaces, schedules) and so runs whatever code a crafted zip carries. We never call it. We read
`policy.pth` (and `policy.optimizer.pth`) with `torch.load(weights_only=True)`, which only
accepts tensors and plain containers, infer the MLP's shape from those tensors, rebuild a fresh
`PPO("MlpPolicy", ...)` and copy the weights in. From `data` we read only plain JSON values
and the human-readable strings SB3 writes next to each pickled entry, never the pickles.
"""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

from gailctl.core.config import NetArch, PPOConfig, RewardNetConfig
from gailctl.core.errors import UsageError
from gailctl.core.torch_files import read_torch_payload, torch_load_bytes
from gailctl.rl.env.make import describe_space
from gailctl.rl.torch_setup import multi_tensor_updates

if TYPE_CHECKING:
    import torch
    from imitation.rewards.reward_nets import RewardNet
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecEnv

_ACTIVATIONS = {"Tanh", "ReLU", "LeakyReLU", "ELU", "SiLU", "GELU", "Sigmoid"}
REWARD_NET_FORMAT = "gailctl.reward_net/1"


def read_zip_weights(zip_path: Path) -> tuple[dict[str, "torch.Tensor"], Optional[dict], dict[str, Any]]:
    """(policy state_dict, optimizer state_dict or None, plain `data` fields) of an SB3 zip."""
    zip_path = Path(zip_path)
    try:
        with zipfile.ZipFile(zip_path) as zf:
            names = set(zf.namelist())
            if "policy.pth" not in names:
                raise UsageError(f"{zip_path}: not a stable-baselines3 model zip (no policy.pth inside)")
            policy_blob = zf.read("policy.pth")
            opt_blob = zf.read("policy.optimizer.pth") if "policy.optimizer.pth" in names else None
            data_blob = zf.read("data") if "data" in names else b"{}"
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, EOFError) as exc:
        raise UsageError(f"{zip_path}: not a stable-baselines3 model zip (unreadable: {exc})") from None
    state = torch_load_bytes(policy_blob, f"{zip_path}: policy.pth")
    if not isinstance(state, dict) or not all(hasattr(v, "shape") for v in state.values()):
        raise UsageError(f"{zip_path}: policy.pth is not a state_dict of tensors")
    opt_state = torch_load_bytes(opt_blob, f"{zip_path}: policy.optimizer.pth") if opt_blob else None
    try:
        data = json.loads(data_blob.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        data = {}
    return state, opt_state, data if isinstance(data, dict) else {}


def _layer_sizes(state: dict[str, Any], prefix: str) -> list[int]:
    sizes = []
    i = 0
    while f"{prefix}.{i}.weight" in state:
        sizes.append(int(state[f"{prefix}.{i}.weight"].shape[0]))
        i += 2  # Linear, activation, Linear, ...
    return sizes


def _activation(data: dict[str, Any], zip_path: Path) -> str:
    """The activation named in the readable part of `policy_kwargs` (SB3's default: Tanh)."""
    kwargs = data.get("policy_kwargs") or {}
    text = kwargs.get("activation_fn", "") if isinstance(kwargs, dict) else ""
    if not text:
        return "Tanh"
    match = re.search(r"torch\.nn\.modules\.activation\.(\w+)", str(text))
    if not match or match.group(1) not in _ACTIVATIONS:
        raise UsageError(f"{zip_path}: unsupported policy activation {text!r}")
    return match.group(1)


def check_policy_fits(state: dict[str, Any], venv: "VecEnv", zip_path: Path, env_id: str) -> None:
    """Refuse a policy trained on other spaces, with both spaces in the message."""
    from gymnasium import spaces

    obs_space, act_space = venv.observation_space, venv.action_space
    first = "mlp_extractor.policy_net.0.weight" if "mlp_extractor.policy_net.0.weight" in state else "action_net.weight"
    if first not in state or "action_net.weight" not in state:
        raise UsageError(f"{zip_path}: not a PPO MlpPolicy (no mlp_extractor/action_net weights)")
    obs_dim = int(state[first].shape[1])
    n_out = int(state["action_net.weight"].shape[0])
    continuous = "log_std" in state
    want_obs = int(spaces.flatdim(obs_space))
    if isinstance(act_space, spaces.Discrete):
        fits = not continuous and n_out == int(act_space.n)
    elif isinstance(act_space, spaces.Box):
        fits = continuous and n_out == int(act_space.shape[0])
    else:
        raise UsageError(f"env.id = {env_id}: action space {describe_space(act_space)} is not supported")
    if obs_dim != want_obs or not fits:
        made_for = f"observations of size {obs_dim}, {n_out} {'continuous' if continuous else 'discrete'} action(s)"
        raise UsageError(
            f"{zip_path}: policy does not match env {env_id}: it takes {made_for}; the env has "
            f"observation space {describe_space(obs_space)} and action space {describe_space(act_space)}"
        )


POLICY_KEYS = ("net_arch", "activation_fn", "log_std_init", "ortho_init")
"""PPOConfig keys that go to the policy (`policy_kwargs`), not to `PPO(...)` itself."""
_ACTIVATION_NAMES = {"tanh": "Tanh", "relu": "ReLU"}


def ppo_kwargs(ppo: PPOConfig) -> dict[str, Any]:
    """PPO constructor arguments from the config (the policy's keys handled by `policy_kwargs`)."""
    fields = ppo.model_dump()
    for key in POLICY_KEYS:
        fields.pop(key)
    return fields


def config_net_arch(ppo: PPOConfig) -> Any:
    """SB3's `net_arch`: a list shared by policy and value network, or `{"pi": [...], "vf": [...]}`."""
    arch = ppo.net_arch
    if isinstance(arch, NetArch):
        return {"pi": list(arch.pi), "vf": list(arch.vf)}
    return list(arch)


def build_ppo(
    venv: "VecEnv",
    ppo: PPOConfig,
    *,
    seed: int,
    net_arch: Any = None,
    activation: Optional[str] = None,
    tensorboard_log: Optional[str] = None,
    sde_options: Optional[dict[str, bool]] = None,
) -> "PPO":
    """A fresh PPO MlpPolicy; `sde_options` (full_std, use_expln, squash_output) go to the policy when gSDE is on.

    `net_arch` and `activation` (a torch.nn class name) override the config's, as the loader
    reads them from a zip's tensors and text.
    """
    import torch
    from gymnasium import spaces
    from stable_baselines3 import PPO

    if ppo.use_sde and not isinstance(venv.action_space, spaces.Box):
        raise UsageError(f"ppo.use_sde = true needs continuous (Box) actions; the env's action space is "
                         f"{describe_space(venv.action_space)}: set ppo.use_sde: false")
    policy_kwargs: dict[str, Any] = {"net_arch": config_net_arch(ppo) if net_arch is None else net_arch}
    activation = activation or _ACTIVATION_NAMES[ppo.activation_fn]
    if activation != "Tanh":
        policy_kwargs["activation_fn"] = getattr(torch.nn, activation)
    # Only what differs from SB3's defaults, so zips of default configs keep their old policy_kwargs.
    if ppo.log_std_init != 0.0:
        policy_kwargs["log_std_init"] = ppo.log_std_init
    if not ppo.ortho_init:
        policy_kwargs["ortho_init"] = False
    if ppo.use_sde and sde_options:
        policy_kwargs.update(sde_options)
    model = PPO(
        "MlpPolicy",
        venv,
        seed=seed,
        device="cpu",
        verbose=0,
        policy_kwargs=policy_kwargs,
        tensorboard_log=tensorboard_log,
        **ppo_kwargs(ppo),
    )
    multi_tensor_updates(model.policy.optimizer)
    return model


def linear_lr(initial: float, *, final_fraction: float) -> Callable[[float], float]:
    """SB3 learning-rate schedule falling linearly from `initial` (progress_remaining 1) to
    `final_fraction` x `initial` (progress_remaining 0, the end of the budget)."""
    def schedule(progress_remaining: float) -> float:
        return initial * (final_fraction + (1.0 - final_fraction) * max(0.0, progress_remaining))

    return schedule


def train_value_only(policy: Any, on: bool) -> None:
    """Let PPO's updates reach only the value function (`on`), or every parameter again.

    Everything that shapes the action distribution stops taking gradients: the policy layers,
    the action head, the log std, and a features extractor shared with the value function.
    Adam skips parameters without a gradient, so the policy stays exactly as it was.
    """
    value = [policy.value_net, policy.mlp_extractor.value_net]
    if not policy.share_features_extractor:
        value.append(policy.vf_features_extractor)
    trained = {id(p) for module in value for p in module.parameters()}
    for p in policy.parameters():
        if id(p) not in trained:
            p.requires_grad_(not on)


def _readable_flag(data: dict[str, Any], key: str, default: bool) -> bool:
    """A boolean from `policy_kwargs`, plain JSON or the readable string SB3 writes beside its pickle."""
    kwargs = data.get("policy_kwargs") or {}
    value = kwargs.get(key, default) if isinstance(kwargs, dict) else default
    return value if isinstance(value, bool) else str(value) == "True"


def sde_options(state: dict[str, Any], data: dict[str, Any], act_space: Any) -> Optional[dict[str, bool]]:
    """gSDE policy settings read from the weights, or None for a diagonal-Gaussian or discrete policy.

    SB3's gSDE `log_std` is 2-D, (latent_dim, action_dim), or (latent_dim, 1) with full_std=False;
    the diagonal Gaussian's is 1-D. The two flags no tensor shows come from `policy_kwargs`' text.
    """
    log_std = state.get("log_std")
    if log_std is None or log_std.ndim != 2:
        return None
    n_actions = int(act_space.shape[0]) if getattr(act_space, "shape", None) else 1
    # One action: both layouts are (latent_dim, 1) and act alike; keep what the zip says.
    full_std = int(log_std.shape[1]) == n_actions if n_actions > 1 else _readable_flag(data, "full_std", True)
    return {
        "full_std": full_std,
        "use_expln": _readable_flag(data, "use_expln", False),
        "squash_output": _readable_flag(data, "squash_output", False),
    }


def load_ppo(zip_path: Path, venv: "VecEnv", *, env_id: str, ppo: Optional[PPOConfig] = None, seed: int = 0) -> "PPO":
    """A PPO whose policy (and optimizer) weights come from `zip_path`, built without unpickling.

    The network's shape and activation come from the zip; the training hyperparameters from
    `ppo` (the config), which matter only if the model is trained further. Whether the policy
    uses gSDE comes from its tensors; without a config, `sde_sample_freq` comes from the zip.
    """
    state, opt_state, data = read_zip_weights(zip_path)
    check_policy_fits(state, venv, zip_path, env_id)
    net_arch = {"pi": _layer_sizes(state, "mlp_extractor.policy_net"), "vf": _layer_sizes(state, "mlp_extractor.value_net")}
    sde = sde_options(state, data, venv.action_space)
    cfg = ppo or PPOConfig()
    if sde is not None and not cfg.use_sde:
        freq = data.get("sde_sample_freq") if ppo is None else None
        cfg = cfg.model_copy(update={"use_sde": True, "sde_sample_freq": freq if type(freq) is int and freq >= -1 else -1})
    elif sde is None and cfg.use_sde:
        cfg = cfg.model_copy(update={"use_sde": False})
    model = build_ppo(venv, cfg, seed=seed, net_arch=net_arch, activation=_activation(data, zip_path), sde_options=sde)
    try:
        model.policy.load_state_dict(state, strict=True)
        if opt_state is not None:
            model.policy.optimizer.load_state_dict(opt_state)
            multi_tensor_updates(model.policy.optimizer)  # the saved groups' flags replaced build_ppo's
    except (RuntimeError, ValueError, KeyError) as exc:
        raise UsageError(f"{zip_path}: weights do not fit a PPO MlpPolicy: {str(exc).splitlines()[0][:200]}") from None
    if model.use_sde:
        model.policy.reset_noise()  # the matrix drawn at build time used the initial log_std, not the loaded one
    return model


# --- reward nets ---------------------------------------------------------------------


def build_reward_net(venv: "VecEnv", cfg: RewardNetConfig, *, algorithm: str = "gail", discount_factor: float = 0.99) -> "RewardNet":
    """GAIL's discriminator net (BasicRewardNet) or AIRL's shaped one (BasicShapedRewardNet)."""
    from imitation.rewards.reward_nets import BasicRewardNet, BasicShapedRewardNet
    from imitation.util.networks import RunningNorm

    common: dict[str, Any] = {"use_state": True, "use_action": cfg.use_action, "use_next_state": cfg.use_next_state, "use_done": cfg.use_done}
    if cfg.normalize_input:
        common["normalize_input_layer"] = RunningNorm
    if algorithm == "airl":
        net = BasicShapedRewardNet(
            venv.observation_space,
            venv.action_space,
            reward_hid_sizes=tuple(cfg.hid_sizes),
            potential_hid_sizes=tuple(cfg.potential_hid_sizes),
            discount_factor=discount_factor,
            **common,
        )
    else:
        net = BasicRewardNet(venv.observation_space, venv.action_space, hid_sizes=tuple(cfg.hid_sizes), **common)
    if cfg.spectral_norm:
        spectral_normalize(net)
    return net


def spectral_normalize(net: "torch.nn.Module") -> None:
    """Put torch's spectral-norm parametrization on every linear layer of `net`, in place.

    Built before any weights are loaded, so a saved net's keys (`...parametrizations.weight.original`
    and the power iteration's `_u`/`_v`) fit the rebuilt one.
    """
    import torch
    from torch.nn.utils.parametrizations import spectral_norm

    for module in list(net.modules()):
        if isinstance(module, torch.nn.Linear):
            spectral_norm(module)


def reward_net_payload(
    net: "RewardNet",
    cfg: RewardNetConfig,
    *,
    env_id: str,
    algorithm: str = "gail",
    discount_factor: float = 0.99,
    extra: Optional[dict] = None,
) -> dict[str, Any]:
    """What `reward_net.pt` holds: tensors plus plain settings to rebuild the module."""
    return {
        "format": REWARD_NET_FORMAT,
        "class": f"imitation.rewards.reward_nets.{type(net).__name__}",
        "algorithm": algorithm,
        "discount_factor": float(discount_factor),
        "env_id": env_id,
        "settings": cfg.model_dump(mode="json"),
        "state_dict": {k: v.detach().cpu().clone() for k, v in net.state_dict().items()},
        **(extra or {}),
    }


def load_reward_net(path: Path, venv: "VecEnv", *, payload: Optional[dict[str, Any]] = None) -> "RewardNet":
    """Rebuild a reward net saved by `reward_net_payload` (tensors-only, `weights_only=True`).

    Pass `payload` when the caller has already read the file (resume also needs its optimizer state).
    """
    if payload is None:
        payload = read_torch_payload(path)
    if payload.get("format") != REWARD_NET_FORMAT:
        raise UsageError(f"{path}: not a gailctl reward net (format {payload.get('format')!r}, expected {REWARD_NET_FORMAT})")
    try:
        net = build_reward_net(
            venv,
            RewardNetConfig.model_validate(payload["settings"]),
            algorithm=payload.get("algorithm", "gail"),
            discount_factor=float(payload.get("discount_factor", 0.99)),
        )
        net.load_state_dict(payload["state_dict"], strict=True)
    except (KeyError, ValueError) as exc:
        raise UsageError(f"{path}: damaged reward net checkpoint ({type(exc).__name__}: {str(exc)[:120]})") from None
    except RuntimeError as exc:
        raise UsageError(f"{path}: reward net does not fit env {venv.observation_space}: {str(exc).splitlines()[0][:200]}") from None
    return net


def save_zip(model: Any, path: Path, *, raw_obs: bool = False) -> None:
    """SB3 zip written under a temporary name and renamed: never half a file.

    `raw_obs`: the model was trained behind VecNormalize, yet these weights take raw observations
    (statistics folded in by `raw_obs_weights`, or rewards only normalised). The zip then carries
    a marker saying so: SB3's own data still says "trained behind VecNormalize", and `gailctl
    record` would otherwise ask for the statistics.
    """
    from gailctl.core.runs import atomic_path

    with atomic_path(path) as tmp:
        model.save(tmp)
        if raw_obs:
            from gailctl.rl.env.vecnorm_stats import mark_folded

            mark_folded(tmp)
