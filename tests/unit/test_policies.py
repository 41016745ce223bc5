"""gailctl.rl.policies: PPO zips and reward nets load without unpickling code, and load exactly.

Tiny models only (net_arch=[8]); nothing is trained.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import pickle
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sb3 = pytest.importorskip("stable_baselines3")
from stable_baselines3 import PPO  # noqa: E402

from gailctl.core.config import EnvConfig, RewardNetConfig  # noqa: E402
from gailctl.rl.env.make import make_venv  # noqa: E402
from gailctl.core.errors import UsageError  # noqa: E402
from gailctl.rl.policies import (  # noqa: E402
    REWARD_NET_FORMAT,
    build_reward_net,
    load_ppo,
    load_reward_net,
    reward_net_payload,
)
from gailctl.core.torch_files import save_torch_atomic  # noqa: E402


class CreatesMarker:
    """Unpickling this object opens (creates) `path`: a stand-in for arbitrary code."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cartpole_venv():
    venv = make_venv(EnvConfig(id="CartPole-v1", n_envs=1), seed=0)
    yield venv
    venv.close()


def tiny_ppo(venv, **policy_kwargs) -> PPO:
    policy_kwargs.setdefault("net_arch", [8])
    return PPO("MlpPolicy", venv, n_steps=16, batch_size=16, policy_kwargs=policy_kwargs, device="cpu", seed=1, verbose=0)


@pytest.fixture(scope="module")
def cartpole_zip(cartpole_venv, tmp_path_factory) -> Path:
    """A tiny CartPole PPO saved by SB3 itself (the first PPO built also warms torch up)."""
    path = tmp_path_factory.mktemp("zips") / "model.zip"
    tiny_ppo(cartpole_venv).save(path)
    return path


@pytest.fixture(scope="module", autouse=True)
def _warm_torch(cartpole_zip):
    """Pay torch/SB3's one-off start-up cost in setup, so each test's own time stays small."""


def obs_batch(venv, n: int = 64) -> np.ndarray:
    rng = np.random.default_rng(0)
    space = venv.observation_space
    low, high = np.clip(space.low, -3.0, 3.0), np.clip(space.high, -3.0, 3.0)  # CartPole's bounds are ~3e38
    return rng.uniform(low, high, size=(n, *space.shape)).astype(np.float32)


def mlp_shape(model: PPO) -> tuple[list[int], list[int], set[str]]:
    """(policy hidden sizes, value hidden sizes, activation class names) of a PPO MlpPolicy."""
    ext = model.policy.mlp_extractor
    pi = [m.out_features for m in ext.policy_net if isinstance(m, torch.nn.Linear)]
    vf = [m.out_features for m in ext.value_net if isinstance(m, torch.nn.Linear)]
    acts = {type(m).__name__ for m in [*ext.policy_net, *ext.value_net] if not isinstance(m, torch.nn.Linear)}
    return pi, vf, acts


def rewrite_zip(src: Path, dst: Path, replace: dict[str, bytes | None], compression=zipfile.ZIP_STORED) -> Path:
    """Copy an SB3 zip, replacing (bytes) or dropping (None) some entries."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", compression=compression) as zout:
        for name in zin.namelist():
            if name in replace:
                if replace[name] is not None:
                    zout.writestr(name, replace[name])
            else:
                zout.writestr(name, zin.read(name))
        for name, blob in replace.items():
            if name not in zin.namelist() and blob is not None:
                zout.writestr(name, blob)
    return dst


def usage_error(fn, *args, **kwargs) -> str:
    with pytest.raises(UsageError) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message, f"multi-line message: {message!r}"
    return message


# --- faithful loading ------------------------------------------------------------------

ARCHS = [
    pytest.param("CartPole", {"net_arch": [8]}, ([8], [8], {"Tanh"}), id="cartpole-shared-8"),
    pytest.param("CartPole", {"net_arch": dict(pi=[8], vf=[4, 6])}, ([8], [4, 6], {"Tanh"}), id="cartpole-pi-vf-differ"),
    pytest.param("CartPole", {"net_arch": [8, 4], "activation_fn": torch.nn.ReLU}, ([8, 4], [8, 4], {"ReLU"}), id="cartpole-relu"),
    pytest.param("CartPole", {"net_arch": []}, ([], [], set()), id="cartpole-linear"),
    pytest.param("Pendulum", {"net_arch": [8]}, ([8], [8], {"Tanh"}), id="pendulum-continuous"),
    pytest.param("Pendulum", {"net_arch": dict(pi=[6], vf=[8]), "activation_fn": torch.nn.ELU}, ([6], [8], {"ELU"}), id="pendulum-elu"),
]


@pytest.mark.parametrize("env, policy_kwargs, expected_shape", ARCHS)
def test_load_ppo_reproduces_the_saved_policy(request, tmp_path, env, policy_kwargs, expected_shape):
    venv = request.getfixturevalue("cartpole_venv" if env == "CartPole" else "pendulum_venv")
    env_id = "CartPole-v1" if env == "CartPole" else "Pendulum-v1"
    original = tiny_ppo(venv, **policy_kwargs)
    if env == "Pendulum":
        with torch.no_grad():
            original.policy.log_std.fill_(-0.7)  # a non-default value must survive too
    zip_path = tmp_path / "model.zip"
    original.save(zip_path)

    loaded = load_ppo(zip_path, venv, env_id=env_id)

    assert mlp_shape(loaded) == mlp_shape(original) == expected_shape
    a_state, b_state = original.policy.state_dict(), loaded.policy.state_dict()
    assert a_state.keys() == b_state.keys()
    for key in a_state:
        assert torch.equal(a_state[key], b_state[key]), key
    obs = obs_batch(venv)
    a_act, _ = original.predict(obs, deterministic=True)
    b_act, _ = loaded.predict(obs, deterministic=True)
    np.testing.assert_array_equal(a_act, b_act)
    with torch.no_grad():
        obs_th = torch.as_tensor(obs)
        np.testing.assert_array_equal(original.policy.predict_values(obs_th), loaded.policy.predict_values(obs_th))
        a_dist = original.policy.get_distribution(obs_th).distribution
        b_dist = loaded.policy.get_distribution(obs_th).distribution
        if env == "CartPole":
            assert torch.equal(a_dist.logits, b_dist.logits)
        else:
            assert torch.equal(a_dist.mean, b_dist.mean) and torch.equal(a_dist.stddev, b_dist.stddev)


def test_load_ppo_of_the_shipped_expert_zip_if_present(cartpole_venv):
    """The checked-in expert loads through the safe path (skipped if another engineer moved it)."""
    zip_path = Path(__file__).resolve().parents[2] / "experts" / "cartpole" / "model.zip"
    if not zip_path.is_file():
        pytest.skip("no shipped expert")
    seals_venv = make_venv(EnvConfig(id="seals/CartPole-v0", n_envs=1), seed=0)
    try:
        model = load_ppo(zip_path, seals_venv, env_id="seals/CartPole-v0")
        act, _ = model.predict(obs_batch(seals_venv, 8), deterministic=True)
        assert act.shape == (8,) and set(np.unique(act)) <= {0, 1}
    finally:
        seals_venv.close()


# --- refusing what does not fit --------------------------------------------------------


def test_cartpole_policy_for_pendulum_names_both_spaces(cartpole_zip, pendulum_venv):
    message = usage_error(load_ppo, cartpole_zip, pendulum_venv, env_id="Pendulum-v1")
    assert message.startswith(f"{cartpole_zip}: policy does not match env Pendulum-v1")
    assert "observations of size 4" in message and "2 discrete action(s)" in message  # the policy's
    assert "Box(3,)" in message and "Box(1,)" in message  # the env's


def test_pendulum_policy_for_cartpole_names_both_spaces(tmp_path, pendulum_venv, cartpole_venv):
    zip_path = tmp_path / "pendulum.zip"
    tiny_ppo(pendulum_venv).save(zip_path)
    message = usage_error(load_ppo, zip_path, cartpole_venv, env_id="CartPole-v1")
    assert "observations of size 3" in message and "1 continuous action(s)" in message
    assert "Box(4,)" in message and "Discrete(2)" in message


@pytest.mark.parametrize("case", ["truncated", "random-bytes", "empty", "no-policy-pth", "garbage-policy-pth", "not-a-policy"])
def test_broken_zip_is_a_one_line_usage_error_naming_the_file(tmp_path, cartpole_zip, cartpole_venv, case):
    path = tmp_path / f"{case}.zip"
    if case == "truncated":
        blob = cartpole_zip.read_bytes()
        path.write_bytes(blob[: len(blob) // 2])
    elif case == "random-bytes":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif case == "empty":
        path.write_bytes(b"")
    elif case == "no-policy-pth":
        rewrite_zip(cartpole_zip, path, {"policy.pth": None})
    elif case == "garbage-policy-pth":
        rewrite_zip(cartpole_zip, path, {"policy.pth": b"\x80\x02 definitely not torch"})
    else:
        buf = io.BytesIO()
        torch.save({"layer.weight": torch.zeros(3, 3)}, buf)
        rewrite_zip(cartpole_zip, path, {"policy.pth": buf.getvalue()})
    message = usage_error(load_ppo, path, cartpole_venv, env_id="CartPole-v1")
    assert message.startswith(str(path))


def test_corrupt_deflated_zip_is_a_usage_error(tmp_path, cartpole_zip, cartpole_venv):
    # `zip -r model.zip ...` or a re-packed download compresses entries; SB3 stores them.
    deflated = rewrite_zip(cartpole_zip, tmp_path / "deflated.zip", {}, compression=zipfile.ZIP_DEFLATED)
    load_ppo(deflated, cartpole_venv, env_id="CartPole-v1")  # intact: loads fine
    raw = bytearray(deflated.read_bytes())
    info = zipfile.ZipFile(deflated).getinfo("policy.pth")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for k in range(start + 5, start + 200):
        raw[k] = (raw[k] * 7 + 13) % 256
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(bytes(raw))
    message = usage_error(load_ppo, corrupt, cartpole_venv, env_id="CartPole-v1")
    assert str(corrupt) in message


def test_unknown_activation_is_refused(tmp_path, cartpole_zip, cartpole_venv):
    with zipfile.ZipFile(cartpole_zip) as zf:
        data = json.loads(zf.read("data"))
    data["policy_kwargs"] = {"net_arch": [8], "activation_fn": "<class 'torch.nn.modules.activation.Softmax'>"}
    path = rewrite_zip(cartpole_zip, tmp_path / "softmax.zip", {"data": json.dumps(data).encode()})
    message = usage_error(load_ppo, path, cartpole_venv, env_id="CartPole-v1")
    assert str(path) in message and "Softmax" in message


# --- security: no code from a crafted zip runs -----------------------------------------


def _evil_data(cartpole_zip: Path, marker: Path) -> bytes:
    """SB3's `data` entry with an extra pickled (":serialized:") value that creates `marker`."""
    with zipfile.ZipFile(cartpole_zip) as zf:
        data = json.loads(zf.read("data"))
    data["evil"] = {
        ":type:": "<class 'object'>",
        ":serialized:": base64.b64encode(pickle.dumps(CreatesMarker(marker))).decode(),
    }
    return json.dumps(data).encode()


def _evil_torch(marker: Path, *, with_tensors: bool = True) -> bytes:
    buf = io.BytesIO()
    payload = {"action_net.weight": torch.zeros(2, 8)} if with_tensors else {}
    payload["evil"] = CreatesMarker(marker)
    torch.save(payload, buf)
    return buf.getvalue()


def test_crafted_payloads_are_live(tmp_path):
    """The crafted blobs really run code when unpickled the unsafe way (so the tests below can fail)."""
    m1, m2 = tmp_path / "m1", tmp_path / "m2"
    with contextlib.closing(pickle.loads(pickle.dumps(CreatesMarker(m1)))):
        pass
    assert m1.exists()
    with contextlib.closing(torch.load(io.BytesIO(_evil_torch(m2)), weights_only=False)["evil"]):
        pass
    assert m2.exists()


def test_sb3_plain_load_runs_the_pickle_in_data(tmp_path, cartpole_zip, cartpole_venv):
    """stable-baselines3's own PPO.load executes a crafted `data` entry: the attack is real."""
    marker = tmp_path / "sb3-was-exploited"
    path = rewrite_zip(cartpole_zip, tmp_path / "evil-data.zip", {"data": _evil_data(cartpole_zip, marker)})
    assert not marker.exists()
    with warnings.catch_warnings(), contextlib.suppress(Exception):
        warnings.simplefilter("ignore")
        PPO.load(path, device="cpu")
    assert marker.exists()


def test_load_ppo_never_unpickles_data(tmp_path, cartpole_zip, cartpole_venv):
    marker = tmp_path / "gailctl-was-exploited"
    path = rewrite_zip(cartpole_zip, tmp_path / "evil-data.zip", {"data": _evil_data(cartpole_zip, marker)})
    model = load_ppo(path, cartpole_venv, env_id="CartPole-v1")  # the weights themselves are fine
    assert not marker.exists()
    assert mlp_shape(model) == ([8], [8], {"Tanh"})


@pytest.mark.parametrize("entry", ["policy.pth", "policy.optimizer.pth"])
def test_load_ppo_refuses_pickled_code_in_torch_entries(tmp_path, cartpole_zip, cartpole_venv, entry):
    marker = tmp_path / "gailctl-was-exploited"
    path = rewrite_zip(cartpole_zip, tmp_path / "evil-pth.zip", {entry: _evil_torch(marker)})
    message = usage_error(load_ppo, path, cartpole_venv, env_id="CartPole-v1")
    assert str(path) in message and entry in message
    assert not marker.exists()


def test_load_ppo_refuses_a_raw_pickle_as_policy_pth(tmp_path, cartpole_zip, cartpole_venv):
    marker = tmp_path / "gailctl-was-exploited"
    raw = pickle.dumps({"evil": CreatesMarker(marker)}, protocol=2)
    path = rewrite_zip(cartpole_zip, tmp_path / "raw-pickle.zip", {"policy.pth": raw})
    usage_error(load_ppo, path, cartpole_venv, env_id="CartPole-v1")
    assert not marker.exists()


def test_load_ppo_everything_crafted_at_once(tmp_path, cartpole_zip, cartpole_venv):
    marker = tmp_path / "gailctl-was-exploited"
    path = rewrite_zip(
        cartpole_zip,
        tmp_path / "all-evil.zip",
        {"data": _evil_data(cartpole_zip, marker), "policy.pth": _evil_torch(marker), "pytorch_variables.pth": _evil_torch(marker)},
    )
    usage_error(load_ppo, path, cartpole_venv, env_id="CartPole-v1")
    assert not marker.exists()


# --- reward nets -----------------------------------------------------------------------


def _transitions(venv, n: int = 32):
    rng = np.random.default_rng(3)
    obs = (rng.normal(size=(n, *venv.observation_space.shape)) * 2.0 + 1.0).astype(np.float32)
    next_obs = (rng.normal(size=(n, *venv.observation_space.shape)) * 2.0 + 1.0).astype(np.float32)
    acts = rng.integers(0, venv.action_space.n, size=n)
    dones = np.zeros(n, dtype=bool)
    return obs, acts, next_obs, dones


@pytest.mark.parametrize(("normalize_input", "spectral_norm"), [(True, False), (False, False), (True, True)])
def test_reward_net_round_trip_gives_identical_rewards(tmp_path, cartpole_venv, normalize_input, spectral_norm):
    cfg = RewardNetConfig(hid_sizes=[8, 4], normalize_input=normalize_input, spectral_norm=spectral_norm)
    net = build_reward_net(cartpole_venv, cfg)
    batch = _transitions(cartpole_venv)
    net.train()
    with torch.no_grad():
        net(*net.preprocess(*batch))  # RunningNorm updates its statistics in training mode (and spectral norm its u, v)
    net.eval()
    state = net.state_dict()
    if normalize_input:
        means = [v for k, v in state.items() if k.endswith("running_mean")]
        assert means and not torch.all(means[0] == 0)  # the statistics really moved
    assert any(k.endswith("parametrizations.weight.original") for k in state) == spectral_norm

    path = tmp_path / "reward_net.pt"
    save_torch_atomic(path, reward_net_payload(net, cfg, env_id="CartPole-v1", extra={"round": 3}))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reward_net.pt"]
    loaded = load_reward_net(path, cartpole_venv)

    loaded_state = loaded.state_dict()
    assert state.keys() == loaded_state.keys()
    for key in state:
        assert torch.equal(state[key], loaded_state[key]), key
    np.testing.assert_array_equal(net.predict(*batch), loaded.predict(*batch))


def test_reward_net_pt_with_pickled_object_is_refused(tmp_path, cartpole_venv):
    marker = tmp_path / "gailctl-was-exploited"
    cfg = RewardNetConfig(hid_sizes=[8])
    payload = reward_net_payload(build_reward_net(cartpole_venv, cfg), cfg, env_id="CartPole-v1")
    payload["evil"] = CreatesMarker(marker)
    path = tmp_path / "reward_net.pt"
    torch.save(payload, path)
    message = usage_error(load_reward_net, path, cartpole_venv)
    assert str(path) in message
    assert not marker.exists()


@pytest.mark.parametrize("payload, fragment", [
    ({"format": "someone-else/2", "state_dict": {}}, "someone-else/2"),
    ({"state_dict": {}}, "None"),
])
def test_reward_net_wrong_format_is_refused(tmp_path, cartpole_venv, payload, fragment):
    path = tmp_path / "other.pt"
    torch.save(payload, path)
    message = usage_error(load_reward_net, path, cartpole_venv)
    assert message.startswith(f"{path}: not a gailctl reward net")
    assert fragment in message and REWARD_NET_FORMAT in message


def test_reward_net_not_a_mapping_or_missing(tmp_path, cartpole_venv):
    path = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), path)
    assert str(path) in usage_error(load_reward_net, path, cartpole_venv)
    missing = tmp_path / "missing.pt"
    assert str(missing) in usage_error(load_reward_net, missing, cartpole_venv)


def test_reward_net_for_another_env_is_refused(tmp_path, cartpole_venv, pendulum_venv):
    cfg = RewardNetConfig(hid_sizes=[8])
    path = tmp_path / "reward_net.pt"
    save_torch_atomic(path, reward_net_payload(build_reward_net(cartpole_venv, cfg), cfg, env_id="CartPole-v1"))
    message = usage_error(load_reward_net, path, pendulum_venv)
    assert message.startswith(f"{path}: reward net does not fit env")


def test_reward_net_missing_fields_is_a_usage_error(tmp_path, cartpole_venv):
    path = tmp_path / "damaged.pt"
    torch.save({"format": REWARD_NET_FORMAT}, path)
    usage_error(load_reward_net, path, cartpole_venv)


@pytest.mark.parametrize("use_next_state", [False, True])
def test_reward_net_without_action_ignores_it_and_round_trips(tmp_path, cartpole_venv, use_next_state):
    cfg = RewardNetConfig(hid_sizes=[8, 4], use_action=False, use_next_state=use_next_state)
    net = build_reward_net(cartpole_venv, cfg).eval()
    obs, acts, next_obs, dones = _transitions(cartpole_venv)
    rewards = net.predict(obs, acts, next_obs, dones)
    np.testing.assert_array_equal(rewards, net.predict(obs, 1 - acts, next_obs, dones))  # the action changes nothing
    assert not np.allclose(rewards, net.predict(obs[::-1].copy(), acts, next_obs, dones))  # the state does
    if use_next_state:
        assert not np.allclose(rewards, net.predict(obs, acts, next_obs[::-1].copy(), dones))

    path = tmp_path / "reward_net.pt"
    save_torch_atomic(path, reward_net_payload(net, cfg, env_id="CartPole-v1"))
    loaded = load_reward_net(path, cartpole_venv)
    np.testing.assert_array_equal(rewards, loaded.predict(obs, acts, next_obs, dones))


def test_reward_net_settings_saved_before_use_action_load_with_the_action(tmp_path, cartpole_venv):
    cfg = RewardNetConfig(hid_sizes=[8, 4])
    payload = reward_net_payload(build_reward_net(cartpole_venv, cfg), cfg, env_id="CartPole-v1")
    del payload["settings"]["use_action"]  # a reward_net.pt written before the key existed
    path = tmp_path / "reward_net.pt"
    save_torch_atomic(path, payload)
    obs, acts, next_obs, dones = _transitions(cartpole_venv)
    loaded = load_reward_net(path, cartpole_venv)
    assert not np.array_equal(loaded.predict(obs, acts, next_obs, dones), loaded.predict(obs, 1 - acts, next_obs, dones))
