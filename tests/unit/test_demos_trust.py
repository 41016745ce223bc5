"""A demonstrations folder cannot run code through gailctl (imitation decodes infos with jsonpickle)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _evil_demos(tmp_path: Path, marker: Path) -> Path:
    import datasets
    from imitation.data import serialize, types

    traj = types.TrajectoryWithRew(obs=np.zeros((4, 4), np.float32), acts=np.zeros(3, np.int64), infos=None,
                                   terminal=True, rews=np.ones(3, np.float32))
    serialize.save(tmp_path / "clean", [traj])
    payload = '{"py/reduce": [{"py/function": "os.system"}, {"py/tuple": ["touch %s"]}]}' % marker
    evil = datasets.load_from_disk(str(tmp_path / "clean")).map(lambda ex: {"infos": [payload] * len(ex["infos"])})
    evil.save_to_disk(str(tmp_path / "evil"))
    return tmp_path / "evil"


def test_gailctl_demo_loading_never_decodes_infos(tmp_path: Path) -> None:
    from imitation.data import serialize
    from imitation.data.rollout import flatten_trajectories

    from gailctl.rl.demos import load_demos

    marker = tmp_path / "PWNED"
    folder = _evil_demos(tmp_path, marker)
    trajs = load_demos(folder, n_demos=None)
    flatten_trajectories(trajs)  # what imitation's GAIL does with the demonstrations
    assert not marker.exists()
    assert trajs[0].infos is None and trajs[0].acts.shape == (3,)

    # The same folder through imitation's own path does run the payload: the guard is real.
    flatten_trajectories([serialize.load(folder)[0]])
    assert marker.exists()
