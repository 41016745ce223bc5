"""Does imitation 1.0.1's GAIL use the reward-output normalisation its scripts configure?

imitation's benchmark configs (benchmarking/example_gail_seals_*_best_hp_eval.json) set
`reward.normalize_output_layer: RunningNorm`, which wraps the reward net in a
`NormalizedRewardNet`. GAIL then wraps that net in `RewardNetFromDiscriminatorLogit`, a plain
`RewardNet` whose `predict_processed` computes -log(1 - D) from the wrapped net's *forward*
(the raw logits): the normalising `predict_processed` is never called. Run this file: the
rewards equal -logsigmoid(-logits) and the output statistics never move (count 0).

    python docs/bench-mujoco/imitation-check/gail_output_normalization.py
"""

import gymnasium as gym
import numpy as np
import torch as th
from imitation.algorithms.adversarial.gail import RewardNetFromDiscriminatorLogit
from imitation.rewards.reward_nets import BasicRewardNet, NormalizedRewardNet
from imitation.util.networks import RunningNorm

obs_space, act_space = gym.spaces.Box(-1, 1, (3,)), gym.spaces.Box(-1, 1, (2,))
net = NormalizedRewardNet(BasicRewardNet(obs_space, act_space), RunningNorm)
processed = RewardNetFromDiscriminatorLogit(net)  # what GAIL.__init__ does with the net it is given
rng = np.random.default_rng(0)
state = rng.normal(size=(64, 3)).astype(np.float32)
action = rng.normal(size=(64, 2)).astype(np.float32)
done = np.zeros(64, dtype=bool)
for _ in range(3):  # as a generator's rollouts would be labelled, round after round
    rewards = processed.predict_processed(state, action, state, done)
logits = net.base(*net.base.preprocess(state, action, state, done))
print("rewards == -logsigmoid(-raw logits):", np.allclose(rewards, -th.nn.functional.logsigmoid(-logits).detach().numpy()))
print("output RunningNorm count after 3 labellings:", float(net.normalize_output_layer.count))
