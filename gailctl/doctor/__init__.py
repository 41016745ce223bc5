"""`gailctl doctor`: why a run did not imitate, with the evidence, and what to run next.

A run folder is read once into a typed `RunView` (`view`); each finding of the catalogue
(`checks_*`, assembled in `catalogue`) is a small pure function over that view that returns a
`Finding` or None; `diagnose` orders them into a verdict, for one run or for every trial of a
sweep, tune or bench folder. `live.LiveDoctor` runs the same checks round by round while
`gailctl gail` trains and records what fires in the run's `findings.jsonl`.

Stdlib and yaml only: the doctor answers in well under a second and never imports torch.
"""
