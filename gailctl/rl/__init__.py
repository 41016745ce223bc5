"""The learning pieces, on top of stable-baselines3 and imitation (which we wrap, never re-implement).

Envs, policy build/load/save, reward nets with the discriminator's gradient penalty, batched
reward relabelling, the adversarial trainer and its round loop, demonstrations, observation
normalisation, evaluation, rendering, and the window a person plays in. Imports `core` only.
"""
