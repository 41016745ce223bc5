"""Minari datasets in and out, through the `minari` package (the `minari` extra; 0.4.x, numpy < 2).

Reading: `minari.load_dataset(ID)` from the local store (`MINARI_DATASETS_PATH`), never with
`download=True`; each episode's `observations` (L + 1, *S), `actions`, `rewards` and its last
`terminations` flag become one imitation trajectory. Infos are not read. Writing:
`minari.create_dataset_from_buffers` with the env's registered spec, so `minari.load_dataset(ID)`,
`minari show ID` and every Minari reader open it; the dataset is built in a hidden folder of the
store and renamed into place, so a failed write leaves no half dataset under its id.

imitation's `terminal` ("the episode ended in a terminal state") maps to the last step's
`terminations`, its negation to `truncations`: a round trip is exact. gailctl's recordings, like
imitation's rollouts, mark every episode end terminal, the fixed-horizon ones included.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import numpy as np

from gailctl.core.demo_sources import DemoSource, minari_dataset_dir, minari_store
from gailctl.core.errors import UsageError

MINARI_MISSING = "Minari datasets need the minari extra: pip install 'gailctl[minari]' (minari 0.4.x; 0.5 needs numpy 2)"


def require_minari(what: str) -> Any:
    try:
        import minari
    except ImportError:
        raise UsageError(f"{what}: {MINARI_MISSING}") from None
    return minari


def read(source: DemoSource, *, n_demos: Optional[int]) -> tuple[list[Any], int]:
    """The first `n_demos` episodes (all when None) as trajectories, and how many the dataset holds."""
    from imitation.data.types import TrajectoryWithRew

    minari = require_minari(str(source))
    try:
        dataset = minari.load_dataset(source.location, download=False)
    except Exception as exc:  # noqa: BLE001 - a damaged dataset raises many types
        raise UsageError(f"{source}: cannot open the dataset ({type(exc).__name__}: {str(exc)[:200]})") from None
    total = int(dataset.total_episodes)
    trajs = []
    for ep in dataset.iterate_episodes(list(range(min(total, n_demos or total)))):
        where = f"{source}: episode {ep.id}"
        if not isinstance(ep.observations, np.ndarray) or not isinstance(ep.actions, np.ndarray):
            raise UsageError(f"{where}: observations or actions of a Dict/Tuple space; gailctl learns from flat arrays only")
        n = len(ep.actions)
        if n == 0 or len(ep.observations) != n + 1 or len(ep.rewards) != n:
            raise UsageError(f"{where}: {len(ep.observations)} observations, {n} actions, {len(ep.rewards)} rewards: "
                             "expected one more observation than actions, one reward per action")
        rews = np.asarray(ep.rewards).reshape(n)
        trajs.append(TrajectoryWithRew(obs=ep.observations, acts=ep.actions, infos=None,
                                       terminal=bool(np.asarray(ep.terminations).reshape(-1)[-1]),
                                       rews=rews if rews.dtype.kind == "f" else rews.astype(np.float64)))
    return trajs, total


def check_dataset_id(dataset_id: str, *, flag: str = "--dataset-id") -> None:
    """An id Minari itself accepts (ENV-NAME-vN) and that no local dataset has yet."""
    require_minari(f"{flag} {dataset_id}")
    from minari.dataset.minari_dataset import parse_dataset_id

    from gailctl.core.demo_sources import check_minari_id

    check_minari_id(dataset_id, flag=flag)
    try:
        parse_dataset_id(dataset_id)
    except Exception:  # noqa: BLE001 - gymnasium's Error or int(None)
        raise UsageError(f"{flag} {dataset_id}: Minari ids read ENV-NAME-vVERSION, e.g. cartpole-expert-v0") from None
    if minari_dataset_dir(dataset_id).exists():
        raise UsageError(f"{flag} {dataset_id}: already in the local Minari store {minari_store()}; choose another name "
                         f"or version (Minari never overwrites a dataset)")


@contextlib.contextmanager
def _store_at(path: Path) -> Iterator[None]:
    """Minari 0.4 finds its store in MINARI_DATASETS_PATH; point it at `path` for one write."""
    previous = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(path)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("MINARI_DATASETS_PATH", None)
        else:
            os.environ["MINARI_DATASETS_PATH"] = previous


def write(trajs: Sequence[Any], dataset_id: str, *, env_id: str, algorithm: str,
          references: Optional[tuple[float, float]] = None) -> Path:
    """A new dataset `dataset_id` in the local store, with `env_id`'s registered spec; returns its folder.

    `references`: (random, expert) returns, Minari's `ref_min_score` / `ref_max_score`, so its
    `get_normalized_score` agrees with gailctl's normalized score.
    """
    minari = require_minari(f"--dataset-id {dataset_id}")
    import gymnasium as gym

    from gailctl.rl.env.make import check_env_id

    check_dataset_id(dataset_id)
    missing = [i for i, t in enumerate(trajs) if getattr(t, "rews", None) is None]
    if missing:
        raise UsageError(f"--dataset-id {dataset_id}: Minari stores a reward per step; trajectory {missing[0]} has none")
    check_env_id(env_id)
    buffer = []
    for t in trajs:
        n = len(t.acts)
        ends = np.zeros(n, dtype=bool)
        terminations, truncations = ends.copy(), ends.copy()
        terminations[-1], truncations[-1] = bool(t.terminal), not bool(t.terminal)
        buffer.append({"observations": np.asarray(t.obs), "actions": np.asarray(t.acts), "rewards": np.asarray(t.rews),
                       "terminations": terminations, "truncations": truncations})
    final = minari_dataset_dir(dataset_id)
    store = minari_store()
    store.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".gailctl-", dir=store))  # hidden: Minari's listings skip dot folders
    from importlib import metadata

    version = f"gailctl {metadata.version('gailctl')}"
    # Minari's own `minari show` needs these three; gailctl knows only that it wrote the dataset.
    kwargs: dict[str, Any] = {"author": f"unknown (written by {version})", "author_email": "unknown", "code_permalink": version}
    if references is not None:
        kwargs.update(ref_min_score=float(references[0]), ref_max_score=float(references[1]))
    try:
        with _store_at(staging), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Minari warns about every optional field left empty
            minari.create_dataset_from_buffers(dataset_id=dataset_id, buffer=buffer, env=gym.spec(env_id),
                                               algorithm_name=algorithm, **kwargs)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / dataset_id, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final
