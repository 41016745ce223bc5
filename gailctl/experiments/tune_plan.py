"""What a tune study is asked and everything checked before it starts (tune.json's `options`).

The seeds, `--workers`, the base config, every space key at its bounds and the references
the normalized-score objective needs; the plan of the base trials (`plans.plan_sweep`), which
every point of the space then varies. No Ray, no Optuna, no torch.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from gailctl.core.config import Config
from gailctl.core.config_load import load_config, parse_overrides
from gailctl.core.errors import ConfigError, UsageError
from gailctl.core.paths import shown_path
from gailctl.experiments.plans import SweepPlan, parse_seeds, plan_sweep
from gailctl.experiments.tune_space import Space, baseline_params, bound_checks

DEFAULT_TRIALS = 20
DEFAULT_SEEDS = "0-2"
DEFAULT_SAMPLER_SEED = 0
RUN_SECTIONS = ("seed", "env", "references", "gail")
"""Config sections a gail trial reads: --resume refuses a config whose values there changed."""


def available_cores() -> int:
    """CPU cores this process may run on (its affinity, not the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


# --- planning: everything checked before a trial runs ----------------------------------


@dataclass(frozen=True)
class TuneOptions:
    """What the study was asked (tune.json), so that --resume plans the very same trials."""

    config: Optional[str]
    """Absolute config path; None for the built-in defaults."""
    space: str
    """The space file as given (the tune folder keeps a copy, space.yaml, which --resume reads)."""
    seeds: str
    set: tuple[str, ...]
    demos: Optional[str]
    sampler_seed: int
    n_trials: int
    cwd: str

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "set": list(self.set)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "TuneOptions":
        return cls(**{**data, "set": tuple(data["set"])})


@dataclass(frozen=True)
class TunePlan:
    options: TuneOptions
    space: Space
    space_source: str
    seeds: tuple[int, ...]
    workers: Optional[int]
    """Trials at a time (--workers); None: one per CPU of the Ray cluster."""
    base: SweepPlan
    """The trials without any space value: the base config, the demonstrations, the commands."""
    baseline: dict[str, Any]
    """The config's own values of the space's keys that lie in the space."""

    @property
    def base_config(self) -> Config:
        return self.base.base_config

    def gail_command(self, sets: Sequence[str], seed: int) -> str:
        """A plain `gailctl gail` command with a trial's values (for best.yaml), run from where the study started."""
        argv = ["gailctl", "gail"]
        if self.options.config is not None:
            argv += ["-c", shown_path(self.options.config, base=self.options.cwd)]
        for item in (*self.options.set, *sets):
            argv += ["--set", item]
        argv += ["--seed", str(seed)]
        if self.options.demos is not None:
            argv += ["--demos", shown_path(self.options.demos, base=self.options.cwd)]
        return shlex.join(argv)


def _blame_space(message: str, *, space_source: str, what: str, items: Sequence[str]) -> str:
    """load_config blames `--set KEY`; for a space key the user wrote it in the space file."""
    keys = [item.partition("=")[0] for item in items]
    for key in keys:
        prefix = f"--set {key}: "
        if message.startswith(prefix):
            rest = message[len(prefix):]
            return f"{space_source}: {rest}" + (f" (with {what})" if len(items) > 1 else "")
    return f"{message} (with {what} from {space_source})"


def check_workers(workers: Optional[int], *, address: Optional[str]) -> Optional[int]:
    """--workers, trials at a time (one CPU each): on the embedded cluster never more than the cores.

    None leaves it to the runner: one per CPU of the cluster. A cluster given by --address may have
    more CPUs than this machine; Ray queues trials it has no CPU for.
    """
    if workers is None:
        return None
    if workers < 1:
        raise UsageError(f"--workers {workers}: must be at least 1")
    cores = available_cores()
    if address is None and workers > cores:
        raise UsageError(f"--workers {workers}: this machine gives gailctl {cores} core(s); at most --workers {cores} "
                         "(or join a bigger Ray cluster with --address)")
    return workers


def plan_tune(options: TuneOptions, *, space: Space, space_source: str, workers: Optional[int],
              address: Optional[str] = None) -> TunePlan:
    """Validate the study: seeds, workers, the base config, every space key at its bounds.

    Raises:
        UsageError: bad --seeds/--workers/--set, no references for the normalized score.
        ConfigError: a space key or bound the config refuses, in the config's own words.
    """
    seeds = tuple(parse_seeds(options.seeds))
    n_workers = check_workers(workers, address=address)
    if options.n_trials < 1:
        raise UsageError(f"--trials {options.n_trials}: must be at least 1")
    given = parse_overrides(list(options.set))
    if "seed" in given:
        raise UsageError(f"--set seed: a tune takes its seeds from --seeds (e.g. --seeds {DEFAULT_SEEDS})")
    for key in space.params:
        if key in given:
            raise UsageError(f"{space_source}: params.{key}: also given with --set; keep one")
    config_path = None if options.config is None else Path(options.config)
    try:
        base = plan_sweep(stage="gail", config_path=config_path, seeds=options.seeds, overrides=options.set,
                          demos=options.demos)
    except ConfigError:
        raise
    except UsageError as exc:  # the sweep's words for a missing --demos
        raise UsageError(str(exc).replace("sweep --stage gail:", "tune:")) from None
    refs = base.base_config.references
    if refs.random_return is None or refs.expert_return is None:
        raise UsageError(f"{options.config or '<defaults>'}: references.random_return and references.expert_return are "
                         "needed: the tune objective is the normalized score (random = 0, expert = 1)")
    for what, items in bound_checks(space):
        try:
            load_config(config_path, [*options.set, *items])
        except ConfigError as exc:
            raise ConfigError(_blame_space(str(exc), space_source=space_source, what=what, items=items)) from None
    return TunePlan(options=options, space=space, space_source=space_source, seeds=seeds, workers=n_workers, base=base,
                    baseline=baseline_params(space, base.base_config))
