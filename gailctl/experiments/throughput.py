"""bench's throughput measurement: GAIL's env steps per second against plain PPO's, same generator.

What it reports is a ratio, the cost of the adversarial part alone, so the two sides must do the
same work apart from it: the same generator settings, observation normalisation,
BC term and, where the config clones its generator, the same starting clone; and since a
machine's speed can drift within minutes, they train in turns of one round each.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from gailctl.core import cpu_load
from gailctl.core.config import Config
from gailctl.core.config_load import load_config
from gailctl.core.errors import UsageError

THROUGHPUT_STEPS = 20_480  # env steps per measurement (40 CartPole rounds)


@dataclass(frozen=True)
class ThroughputSetup:
    """What one throughput measurement trains: the config, its demonstrations and the rounds to run."""

    cfg: Config
    trajs: Any
    kept: Any  # the demonstrations' kept transitions (gail.subsample_every): BC init and BC term
    n_rounds: int

    @property
    def steps(self) -> int:
        return self.n_rounds * self.cfg.gail_steps_per_round


def throughput_setup(config: Path, overrides: Sequence[str]) -> ThroughputSetup:
    """The config (without a value warm-up) and its demonstrations, for `measure_throughput`."""
    from gailctl.core.demo_sources import resolve_demos
    from gailctl.rl.demos import load_demos
    from gailctl.rl.subsample import demo_transitions

    # Steady-state rounds only: a value warm-up's rounds skip the policy's gradients, so they would flatter GAIL.
    cfg = load_config(config, [*overrides, "gail.value_warmup_rounds=0"])
    g = cfg.gail
    if g.demos is None:
        raise UsageError(f"{config}: gail.demos is not set; the throughput measurement needs demonstrations")
    trajs = load_demos(resolve_demos(g.demos, flag="gail.demos ="), n_demos=g.n_demos)
    return ThroughputSetup(cfg=cfg, trajs=trajs, kept=demo_transitions(trajs, every=g.subsample_every, seed=cfg.seed),
                           n_rounds=max(5, THROUGHPUT_STEPS // cfg.gail_steps_per_round))


def throughput_pair(setup: ThroughputSetup, log_dir: Path) -> tuple[Any, Any]:
    """(plain PPO, GAIL learner) ready to train, as one repeat of `measure_throughput` trains them.

    The learner is the gail stage's (`GailLearner.build`, cloned where gail.bc_init_epochs is set);
    PPO has the generator's settings, VecNormalize and BC term, and starts from the same clone.
    """
    from gailctl.rl.env.make import make_venv
    from gailctl.rl.gail.learner import GailLearner

    cfg = setup.cfg
    learner = GailLearner.build(cfg.gail, env=cfg.env, bc=cfg.bc, seed=cfg.seed, venv=make_venv(cfg.env, seed=cfg.seed),
                                demos=setup.kept, log_dir=log_dir)
    return _plain_ppo(cfg, setup.kept, like=learner if cfg.gail.bc_init_epochs else None), learner


def measure_throughput(config: Path, overrides: Sequence[str], *, repeats: int = 3) -> dict[str, Any]:
    """Env steps per second of plain PPO and of GAIL (no evaluation), same generator settings.

    Both run here on one torch thread, before any trial of ours starts, a round of each in turn
    from `throughput_pair`'s like-for-like start. The figures are medians over `repeats`, and the
    ratio is the median of each repeat's ratio: the cost of the adversarial part (PPO trains on
    the true reward, GAIL on its learned one). Other processes' CPU time over the repeats is
    measured too (`core.cpu_load`: `other_cpu_s`, `other_cores`, `alone`), since they slow both sides.
    """
    import statistics
    import tempfile

    from gailctl.rl.torch_setup import setup_torch

    setup_torch()
    setup = throughput_setup(config, overrides)
    cfg, steps = setup.cfg, setup.steps
    ppo_times, gen_times, disc_times = [], [], []
    started_load = cpu_load.sample()
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as log_dir:  # the stage's learner and round loop, without evaluation
            ppo, learner = throughput_pair(setup, Path(log_dir))
            ppo_s = gen_s = disc_s = 0.0
            for _ in range(setup.n_rounds):  # a round of each in turn, as imitation calls PPO: one learn() a round
                started = time.perf_counter()
                ppo.learn(cfg.gail_steps_per_round, reset_num_timesteps=False)
                ppo_s += time.perf_counter() - started
                done = learner.train_round(setup.n_rounds)
                gen_s, disc_s = gen_s + done.gen_s, disc_s + done.disc_s
        ppo_times.append(ppo_s)
        gen_times.append(gen_s)
        disc_times.append(disc_s)
    load = cpu_load.other_load(started_load, cpu_load.sample())
    gail_times = [a + b for a, b in zip(gen_times, disc_times)]
    med = statistics.median
    return {
        "config": str(config),
        "env_id": cfg.env.id,
        "env_steps": steps,
        "repeats": repeats,
        "ppo_steps_per_s": steps / med(ppo_times),
        "gail_steps_per_s": steps / med(gail_times),
        "ratio": med([p / q for p, q in zip(ppo_times, gail_times)]),
        "gail_generator_s": med(gen_times),
        "gail_discriminator_s": med(disc_times),
        "ppo_s": med(ppo_times),
        "machine_cores": os.cpu_count(),
        **load,
    }


def _plain_ppo(cfg: Config, kept: Any, *, like: Optional[Any]) -> Any:
    """Plain PPO with GAIL's generator settings (its VecNormalize and BC term); from `like`'s clone if given.

    `like`: a cloned learner (`GailLearner`) whose generator weights and observation
    statistics PPO starts from, so both sides begin with the same policy.
    """
    import copy

    from gailctl.rl.gail.bc_term import install_bc_term
    from gailctl.rl.gail.trainer import generator_normalizer
    from gailctl.rl.env.make import make_venv
    from gailctl.rl.policies import build_ppo

    g = cfg.gail
    venv = make_venv(cfg.env, seed=cfg.seed)
    vec = generator_normalizer(venv, g) if g.normalize_obs else None
    ppo = build_ppo(vec or venv, g.ppo, seed=cfg.seed)
    if like is not None:
        ppo.policy.load_state_dict(like.gen.policy.state_dict())
        if vec is not None:
            vec.obs_rms = copy.deepcopy(like.vec.obs_rms)
    install_bc_term(ppo.policy, kept, g, seed=cfg.seed, vec=vec)
    return ppo
