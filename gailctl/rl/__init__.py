"""The learning pieces, on top of stable-baselines3 and imitation (which we wrap, never re-implement).

Two sides, in two places:

- `env/`: the environment side: making vectorised envs from the config (`make`), rendering and
  video (`render`), observation normalisation folded into policies and VecNormalize statistics
  (`normalize`, `vecnorm_stats`), the window a person plays in (`human`).
- the learning side: the GAIL learner (`gail/`), the PPO expert learner (`ppo`), policies and
  reward nets built and loaded without unpickling (`policies`), behavioural cloning (`cloning`),
  demonstrations (`demos`, `subsample`), evaluation (`evaluation`), torch settings (`torch_setup`).

Private parts of stable-baselines3 and imitation are touched only in `compat` and `gail/`.
Imports `core` only.
"""
