"""gailctl.rl.demo_formats: every format gailctl reads gives the same trajectories back; bad files fail in one line."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from gailctl.core.demo_sources import DemoSource, resolve_demos
from gailctl.core.errors import UsageError
from gailctl.rl.demo_formats import read_demos
from gailctl.rl.demo_formats.convert import convert_demos, convert_target

ROOT = Path(__file__).resolve().parents[2]
CARTPOLE_DEMOS = ROOT / "experts" / "cartpole" / "demos"


@pytest.fixture(scope="module")
def reference():
    return read_demos(resolve_demos(CARTPOLE_DEMOS, flag="--demos"), n_demos=3)


def _same(a, b) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.obs, y.obs)
        np.testing.assert_array_equal(x.acts, y.acts)
        np.testing.assert_array_equal(x.rews, y.rews)
        assert x.terminal == y.terminal


@pytest.mark.parametrize("name", ["d.npz", "d.hdf5"])
def test_npz_and_hdf5_round_trips_are_exact_and_keep_the_env(tmp_path, reference, name):
    source = resolve_demos(CARTPOLE_DEMOS, flag="--demos")
    target = convert_target(tmp_path / name, None, None)
    convert_demos(source, target)
    back = read_demos(resolve_demos(tmp_path / name, flag="--demos"), n_demos=3)
    _same(back.trajectories, reference.trajectories)
    assert back.meta["env_id"] == "seals/CartPole-v0" and not back.next_obs_repeated


def test_minari_round_trip_is_exact_and_minari_itself_opens_it(tmp_path, monkeypatch, reference):
    minari = pytest.importorskip("minari")  # the minari extra
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "store"))
    convert_demos(resolve_demos(CARTPOLE_DEMOS, flag="--demos"), convert_target(None, "cartpole-test-v0", None))
    back = read_demos(resolve_demos("minari:cartpole-test-v0", flag="--demos"), n_demos=3)
    _same(back.trajectories, reference.trajectories)
    assert back.meta["env_id"] == "seals/CartPole-v0" and back.n_available == 20
    assert minari.load_dataset("cartpole-test-v0").total_episodes == 20
    with pytest.raises(UsageError, match="already in the local Minari store"):  # never overwritten
        convert_target(None, "cartpole-test-v0", None)


def test_the_original_gail_layout_with_per_episode_object_arrays_reads(tmp_path):
    lengths = (3, 5)
    obs = np.empty(2, dtype=object)
    acs = np.empty(2, dtype=object)
    for i, n in enumerate(lengths):
        obs[i] = np.arange(n * 4, dtype=np.float32).reshape(n, 4) + 100 * i
        acs[i] = np.arange(n) % 2
    np.savez(tmp_path / "gail.npz", obs=obs, acs=acs, ep_rets=np.array([3.0, 5.0]))
    read = read_demos(resolve_demos(tmp_path / "gail.npz", flag="--demos"))
    assert [len(t.acts) for t in read.trajectories] == [3, 5]
    assert read.next_obs_repeated  # no final observations in that layout: the last one repeats
    np.testing.assert_array_equal(read.trajectories[1].obs[:5], obs[1])
    np.testing.assert_array_equal(read.trajectories[1].obs[5], obs[1][4])


def test_an_object_array_that_would_run_code_is_refused(tmp_path):
    class Boom:
        def __reduce__(self):
            return (print, ("ran",))

    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.array([Boom(), Boom()], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(tmp_path / "evil.npz", "w") as zf:
        zf.writestr("obs.npy", buf.getvalue())
        zf.writestr("acs.npy", buf.getvalue())
    with pytest.raises(UsageError, match=r"evil\.npz.*refuses to load builtins\.print"):
        read_demos(resolve_demos(tmp_path / "evil.npz", flag="--demos"))


def test_d4rl_timeouts_and_terminals_cut_episodes(tmp_path):
    h5py = pytest.importorskip("h5py")  # the hdf5 extra
    n = 7
    with h5py.File(tmp_path / "d4rl.hdf5", "w") as fh:
        fh["observations"] = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
        fh["actions"] = np.zeros((n, 1), dtype=np.float32)
        fh["rewards"] = np.ones(n)
        fh["terminals"] = np.array([0, 1, 0, 0, 0, 0, 0])
        fh["timeouts"] = np.array([0, 0, 0, 0, 1, 0, 0])
    read = read_demos(resolve_demos(tmp_path / "d4rl.hdf5", flag="--demos"))
    assert [len(t.acts) for t in read.trajectories] == [2, 3, 2]  # the last, cut by the file's end
    assert [t.terminal for t in read.trajectories] == [True, False, False]
    assert read.meta is None and read.next_obs_repeated


@pytest.mark.parametrize("arrays, expected", [
    ({"obs": np.zeros((3, 4))}, "no acs or acts array"),
    ({"obs": np.zeros((3, 4)), "acts": np.zeros(3)}, "no episode ends"),
    ({"obs": np.zeros((5, 4)), "acts": np.zeros(3), "dones": np.array([0, 0, 1])}, "obs has 5 rows, acts 3"),
    ({"obs": np.zeros((3, 4)), "acts": np.zeros(3), "dones": np.array([0, 1])}, r"dones has shape \(2,\), expected \(3,\)"),
])
def test_bad_npz_files_fail_in_one_line_naming_the_key(tmp_path, arrays, expected):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(UsageError, match=expected) as info:
        read_demos(resolve_demos(tmp_path / "bad.npz", flag="--demos"))
    assert str(tmp_path / "bad.npz") in str(info.value) and "\n" not in str(info.value)


def test_too_few_trajectories_names_the_key(tmp_path):
    np.savez(tmp_path / "d.npz", obs=np.zeros((3, 4)), acts=np.zeros(3), dones=np.array([0, 0, 1]))
    with pytest.raises(UsageError, match=r"gail.n_demos = 2: only 1 trajectories"):
        read_demos(DemoSource("npz", str(tmp_path / "d.npz")), n_demos=2)
