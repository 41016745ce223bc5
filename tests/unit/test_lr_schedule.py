"""The linear learning-rate schedule of `gailctl gail`: SB3's progress convention, ending at its end."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from gailctl.core.config_load import load_config
from gailctl.rl.gail.trainer import disc_trains, lr_factor, set_learning_rates


def fake_trainer():
    """What set_learning_rates touches: the generator's rate and the discriminator optimizer's groups."""
    return SimpleNamespace(gen_algo=SimpleNamespace(learning_rate=None, lr_schedule=None),
                           _disc_opt=SimpleNamespace(param_groups=[{"lr": None}]))


def rates(g, *, round_number: int, n_rounds: int) -> tuple[float, float]:
    trainer = fake_trainer()
    set_learning_rates(trainer, g, round_number=round_number, n_rounds=n_rounds)
    assert trainer.gen_algo.lr_schedule(0.5) == trainer.gen_algo.learning_rate  # constant within the round
    return trainer.gen_algo.learning_rate, trainer._disc_opt.param_groups[0]["lr"]


@pytest.mark.parametrize("config", ["configs/cartpole.yaml", "configs/pendulum.yaml"])
def test_first_and_last_round_rates_of_shipped_configs(config):
    cfg = load_config(config, [])
    g = cfg.gail
    assert g.lr_schedule == "linear"
    n_rounds = g.total_timesteps // cfg.gail_steps_per_round
    gen_first, disc_first = rates(g, round_number=1, n_rounds=n_rounds)
    gen_last, disc_last = rates(g, round_number=n_rounds, n_rounds=n_rounds)
    # The first update sees progress_remaining 1 - 1/n (SB3: counted once the rollout is in).
    first = 1.0 - (1.0 - g.lr_final_fraction) / n_rounds
    assert gen_first == pytest.approx(g.ppo.learning_rate * first)
    assert disc_first == pytest.approx(g.disc_lr * first)
    # The last round runs at exactly the final fraction.
    assert gen_last == pytest.approx(g.ppo.learning_rate * g.lr_final_fraction)
    assert disc_last == pytest.approx(g.disc_lr * g.lr_final_fraction)


def test_default_budget_not_a_multiple_of_rounds_still_reaches_the_final_fraction():
    # 150,000 steps in rounds of 16,384 = 9 whole rounds: counted in env steps before the round over
    # total_timesteps, the last round would sit at 0.21 instead of 0.10.
    g = SimpleNamespace(lr_schedule="linear", lr_final_fraction=0.1)
    assert lr_factor(g, round_number=9, n_rounds=9) == pytest.approx(0.1)
    assert lr_factor(g, round_number=1, n_rounds=9) == pytest.approx(1.0 - 0.9 / 9)
    factors = [lr_factor(g, round_number=r, n_rounds=9) for r in range(1, 10)]
    assert factors == sorted(factors, reverse=True)


def test_constant_schedule_is_one_throughout():
    g = SimpleNamespace(lr_schedule="constant", lr_final_fraction=0.1)
    assert {lr_factor(g, round_number=r, n_rounds=5) for r in range(1, 6)} == {1.0}


def test_single_round_runs_at_the_final_fraction():
    g = SimpleNamespace(lr_schedule="linear", lr_final_fraction=0.25)
    assert lr_factor(g, round_number=1, n_rounds=1) == pytest.approx(0.25)


# --- the budget the run states before it trains -------------------------------------------


def test_budget_line_states_whole_rounds_and_warns_when_cut():
    from gailctl.stages.gail import budget_line

    cfg = load_config("configs/cartpole.yaml", [])
    assert budget_line(cfg) == ("gail: 153,600 env steps = 300 rounds of 512", None)
    line, warning = budget_line(load_config("configs/cartpole.yaml", ["gail.total_timesteps=1000"]))
    assert line == "gail: 512 env steps = 1 round of 512"
    assert warning == ("gail.total_timesteps = 1,000 is not a whole number of rounds "
                       "(gail.ppo.n_steps x env.n_envs = 512): training 512 env steps")
    line, _ = budget_line(load_config("configs/cartpole.yaml", ["gail.algorithm=airl"]))
    assert line.startswith("airl: 153,600 env steps")


def test_expert_linear_learning_rate_falls_to_its_final_fraction_at_the_end_of_the_budget():
    from gailctl.rl.policies import linear_lr

    schedule = linear_lr(3e-4, final_fraction=0.1)
    assert schedule(1.0) == pytest.approx(3e-4)  # SB3's progress_remaining: 1 at the start
    assert schedule(0.5) == pytest.approx(3e-4 * 0.55)
    assert schedule(0.0) == pytest.approx(3e-5) and schedule(-0.01) == pytest.approx(3e-5)


def test_frozen_rounds_stop_the_discriminator_and_leave_the_generators_rate():
    cfg = load_config("configs/cartpole.yaml", ["gail.disc_frozen_fraction=0.25"])
    g = cfg.gail
    assert [disc_trains(g, round_number=r, n_rounds=10) for r in range(1, 11)] == [True] * 8 + [False] * 2  # 2.5 -> 2 rounds
    plain = load_config("configs/cartpole.yaml", []).gail
    assert all(disc_trains(plain, round_number=r, n_rounds=10) for r in range(1, 11))
    for r in (8, 9):
        gen, disc = rates(g, round_number=r, n_rounds=10)
        gen_plain, disc_plain = rates(plain, round_number=r, n_rounds=10)
        assert gen == pytest.approx(gen_plain)
        assert disc == (pytest.approx(disc_plain) if r == 8 else 0.0)
