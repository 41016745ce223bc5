"""The shipped MuJoCo configs validate and say what issue 9 asks of them."""

from __future__ import annotations

from pathlib import Path

from gailctl.core.config import NetArch
from gailctl.core.config_load import load_config

ROOT = Path(__file__).resolve().parents[2]


def test_hopper_config_validates_with_the_paper_protocol_and_rl_zoo_policy():
    cfg = load_config(ROOT / "configs/hopper.yaml")
    assert cfg.env.id == "seals/Hopper-v1"
    assert cfg.gail.subsample_every == 20 and cfg.gail.n_demos == 4
    # 4 trajectories of 1000 steps, 1 in 20: the discriminator's expert batch must fit the 200 kept.
    assert cfg.gail.demo_batch_size <= 4 * 1000 // 20
    assert cfg.bc.batch_size <= 4 * 1000 // 20
    ppo = cfg.expert.ppo
    assert (ppo.activation_fn, ppo.log_std_init, ppo.ortho_init) == ("relu", -2.0, False)
    assert ppo.net_arch == NetArch(pi=(256, 256), vf=(256, 256))
    assert cfg.gail_steps_per_round == 2048 and cfg.gail.total_timesteps == 1_000_000
    assert cfg.bench.n_demos == (4, 25) and cfg.record.n_episodes >= 25
    assert cfg.references.expert_return is None  # no expert shipped yet: no made-up reference
