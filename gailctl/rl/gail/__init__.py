"""The GAIL (and AIRL) learner: imitation's adversarial trainer as one object, and the parts gailctl adds.

`learner.GailLearner` is what stages and experiments build; `trainer` builds imitation's trainer and
runs a round's discriminator updates; `discriminator` adds the gradient penalty; `relabel` labels a
rollout in one batch; `bc_term` adds the BC term to the generator's loss; `batches` orders the
expert transitions. Private parts of imitation and stable-baselines3 are touched only here and in
`gailctl.rl.compat`.
"""
