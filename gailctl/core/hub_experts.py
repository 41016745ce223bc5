"""Experts in the Hugging Face Hub layout of rl-zoo, from a local folder or the local Hub cache.

An rl-zoo repo (`sb3/ppo-CartPole-v1`, ...) holds `{algo}-{env}.zip` beside `config.yml` and, for
runs trained behind VecNormalize, `vec_normalize.pkl`. `--expert` takes such a folder, or
`hf:ORG/REPO`, found in the local Hub cache (`HF_HUB_CACHE`, else `HF_HOME/hub`, else
`~/.cache/huggingface/hub`, as huggingface_hub resolves it): the snapshot `refs/main` names, else
the only one. Nothing is ever downloaded. The zip goes through the same loader as any expert's;
the statistics through the restricted unpickler (`rl.env.vecnorm_stats`). Stdlib only.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional

from gailctl.core.errors import UsageError

HF_SCHEME = "hf:"
HUB_ZIP = re.compile(r"^[a-z0-9_]+-.+\.zip$")
"""rl-zoo's model file name: `{algo}-{env}.zip`, the env id's `/` written as `-`."""
HUB_STATS_FILES = ("vec_normalize.pkl", "vecnormalize.pkl")


def hub_cache() -> Path:
    """The local Hugging Face Hub cache, as huggingface_hub finds it."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = Path(os.environ["HF_HOME"]).expanduser() if os.environ.get("HF_HOME") else Path.home() / ".cache" / "huggingface"
    return home / "hub"


def hub_snapshot(repo_id: str, *, flag: str) -> Path:
    """The local snapshot folder of the model repo `ORG/REPO`, else one line saying where it looked."""
    parts = repo_id.split("/")
    if len(parts) != 2 or any(p in ("", ".", "..") for p in parts):
        raise UsageError(f"{flag} {HF_SCHEME}{repo_id}: expected {HF_SCHEME}ORG/REPO, e.g. {HF_SCHEME}sb3/ppo-CartPole-v1")
    repo = hub_cache() / f"models--{parts[0]}--{parts[1]}"
    snapshots = repo / "snapshots"
    ref = repo / "refs" / "main"
    if ref.is_file() and (snapshots / ref.read_text(encoding="utf-8").strip()).is_dir():
        return snapshots / ref.read_text(encoding="utf-8").strip()
    found = sorted(p for p in snapshots.iterdir() if p.is_dir()) if snapshots.is_dir() else []
    if len(found) == 1:
        return found[0]
    if not found:
        raise UsageError(f"{flag} {HF_SCHEME}{repo_id}: not in the local Hugging Face cache (looked in {repo}; "
                         "HF_HUB_CACHE or HF_HOME; nothing is downloaded): fetch it with huggingface-cli download, "
                         "or pass the repo folder")
    raise UsageError(f"{flag} {HF_SCHEME}{repo_id}: {len(found)} snapshots in {snapshots} and no refs/main; "
                     "pass the snapshot folder you mean")


def hub_policy_zip(folder: Path, *, flag: str) -> Optional[Path]:
    """The `{algo}-{env}.zip` of a Hub-layout folder; None when it holds none; refused when several."""
    zips = sorted(p for p in Path(folder).glob("*.zip") if HUB_ZIP.match(p.name) and p.is_file())
    if len(zips) > 1:
        raise UsageError(f"{flag} {folder}: {len(zips)} models ({', '.join(p.name for p in zips)}); pass the .zip you mean")
    return zips[0] if zips else None


def hub_stats(policy_zip: Path) -> Optional[Path]:
    """The VecNormalize statistics of a Hub-layout folder's model, when the folder holds them."""
    if not HUB_ZIP.match(policy_zip.name):
        return None
    return next((policy_zip.parent / n for n in HUB_STATS_FILES if (policy_zip.parent / n).is_file()), None)
