"""evaluate() on fixed-horizon envs made with AbsorbAfterDoneWrapper (Acrobot's setup).

imitation's make_vec_env puts SB3's Monitor inside our wrappers, so Monitor reports an
episode when the inner env terminates, while the venv only says done at the time limit. SB3's
evaluate_policy counts Monitor's reports at venv dones and so never counted an early success:
evaluating a policy that succeeds never finished.
"""

from __future__ import annotations

import numpy as np

from gailctl.core.config import EnvConfig
from gailctl.rl.env.make import make_venv
from gailctl.rl.evaluation import RandomPolicy, evaluate


def test_absorbing_episodes_are_counted_at_the_horizon_with_true_returns():
    env = EnvConfig(id="CartPole-v1", n_envs=3, absorb_after_done=True, max_episode_steps=60)
    venv = make_venv(env, seed=0)
    # A random CartPole pole falls in ~20 steps: every episode terminates early inside the horizon.
    score = evaluate(RandomPolicy(venv.action_space, seed=0), venv, n_episodes=7, deterministic=False)
    assert len(score.returns) == 7
    assert (score.lengths == 60).all()  # the fixed horizon, not the inner termination
    assert (score.returns < 60).all()  # absorbing steps pay 0: the true return, not the horizon
    assert score.returns.min() >= 1


def test_episode_split_across_envs_is_unbiased():
    env = EnvConfig(id="seals/CartPole-v0", n_envs=4)
    venv = make_venv(env, seed=1)
    seen: list[int] = []
    score = evaluate(RandomPolicy(venv.action_space, seed=1), venv, n_episodes=6, deterministic=True, callback=seen.append)
    assert len(score.returns) == 6
    assert seen[-1] == 6 and seen == sorted(seen)
    assert np.all(score.lengths == 500)


def test_kept_states_are_every_kth_step_of_the_scored_episodes_only():
    # 4 envs, 6 episodes of 500 steps: envs 2 and 3 score two episodes, envs 0 and 1 one each; the
    # second episode envs 0 and 1 play meanwhile is not scored, so its states are not kept either.
    env = EnvConfig(id="seals/CartPole-v0", n_envs=4)
    venv = make_venv(env, seed=1)
    score = evaluate(RandomPolicy(venv.action_space, seed=1), venv, n_episodes=6, deterministic=True, keep_states_every=50)
    assert score.states is not None and score.states.shape == (6 * 500 // 50, *venv.observation_space.shape)
    assert evaluate(RandomPolicy(venv.action_space, seed=1), venv, n_episodes=2, deterministic=True).states is None
