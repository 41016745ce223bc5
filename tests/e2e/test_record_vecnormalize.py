"""`gailctl record` on gailctl's own experts trained behind VecNormalize: final and checkpoint zips
are folded (they take raw observations), so they need no statistics and refuse a second
normalisation. A tiny expert (2 envs x 64 steps, 512 env steps)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gailctl.cli import app
from gailctl.core.config_load import load_config

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e

TINY = ["env.id=CartPole-v1", "env.n_envs=2", "expert.eval_every=512", "expert.eval_episodes=2",
        "expert.checkpoint_every=512", "expert.ppo.n_steps=64", "expert.ppo.n_epochs=2",
        "expert.normalize_obs=true", "expert.normalize_reward=true", "expert.total_timesteps=512"]
RECORD = ["-c", str(ROOT / "configs/cartpole-v1.yaml"), "--set", "env.n_envs=2", "--set", "record.n_episodes=4",
          "--set", "record.deterministic=true"]


def test_record_from_a_normalised_gailctl_expert(tmp_path: Path) -> None:
    from imitation.data import serialize

    from gailctl.stages import expert

    cfg = load_config(ROOT / "configs/cartpole.yaml", TINY)
    run_dir = tmp_path / "expert"
    run_dir.mkdir()
    expert.run(cfg, run_dir)
    runs = ["--runs-dir", str(tmp_path / "runs")]

    folded = CliRunner().invoke(app, ["record", *RECORD, "--expert", str(run_dir), *runs])
    assert folded.exit_code == 0, folded.output
    ckpt = run_dir / "checkpoints" / "step_000000512"
    twice = CliRunner().invoke(app, ["record", *RECORD, "--expert", str(ckpt / "model.zip"),
                                     "--vecnormalize", str(ckpt / "vecnormalize.pt"), *runs])
    assert twice.exit_code == 2 and "already has its observation statistics folded" in twice.output, twice.output
    checkpoint = CliRunner().invoke(app, ["record", *RECORD, "--expert", str(ckpt / "model.zip"), *runs])
    assert checkpoint.exit_code == 0, checkpoint.output
    # The checkpoint at the last step is the final policy: the same seed gives the same demonstrations.
    a, b = (serialize.load(Path(r.output.strip().splitlines()[-1]) / "demos") for r in (folded, checkpoint))
    acts_a, acts_b = np.concatenate([t.acts for t in a]), np.concatenate([t.acts for t in b])
    assert len(acts_a) == len(acts_b) and np.mean(acts_a == acts_b) > 0.99
