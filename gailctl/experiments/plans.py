"""Plans of trials: seeds x grid x demonstrations, every trial's config validated before Ray starts.

`--seeds` and `--grid` are parsed, grid x seeds is expanded into trials, and every trial's
config is validated with `load_config` (and its demonstrations loaded and checked as its stage
will) before Ray is imported, so a bad grid value fails like a bad `--set`. `trial_payload`
is what a Ray worker receives to run a trial (`gailctl.experiments.runner.run_trial`). Sweep,
bench and tune all plan their trials here. Pure and fast: no Ray, no torch at import.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from gailctl.core.config import Config
from gailctl.core.config_load import load_config, parse_overrides
from gailctl.core.errors import ConfigError, UsageError
from gailctl.core.paths import shown_path
from gailctl.core.demo_sources import MINARI_SCHEME, DemoSource, check_demos_env, demos_argument, resolve_demos

SWEEP_STAGES = ("expert", "gail", "bc")
DEMO_STAGES = ("gail", "bc")  # stages that learn from demonstrations (--demos)
# --- parsing ---------------------------------------------------------------------------


_SEED_ITEM = re.compile(r"^(\d+)(?:-(\d+))?$")


def parse_seeds(text: str) -> list[int]:
    """`0-4` -> [0, 1, 2, 3, 4]; `0,2,5` -> [0, 2, 5]; `3` -> [3]; `0-2,7` mixes both."""
    seeds: list[int] = []
    for item in text.split(","):
        match = _SEED_ITEM.match(item.strip())
        if not match:
            raise UsageError(f"--seeds {text}: expected a range like 0-4, a list like 0,2,5 or one seed")
        lo = int(match.group(1))
        hi = int(match.group(2)) if match.group(2) is not None else lo
        if hi < lo:
            raise UsageError(f"--seeds {text}: the range {lo}-{hi} runs backwards; write {hi}-{lo}")
        for seed in range(lo, hi + 1):
            if seed in seeds:
                raise UsageError(f"--seeds {text}: seed {seed} is listed twice")
            seeds.append(seed)
    return seeds


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside brackets and quotes: `[32,32],[64,64]` is two values."""
    parts, current, depth, quote = [], [], 0, None
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    parts.append("".join(current).strip())
    return parts


@dataclass(frozen=True)
class GridAxis:
    """One `--grid KEY=V1,V2,...`: the values as typed (what `--set` receives) and as YAML reads them."""

    key: str
    raw: tuple[str, ...]
    values: tuple[Any, ...]


def parse_grid(items: Sequence[str]) -> list[GridAxis]:
    """`["gail.ppo.learning_rate=0.001,0.0003"]` -> one axis with two values, typed like `--set`."""
    axes: list[GridAxis] = []
    for item in items:
        key, sep, rest = item.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")) or not rest.strip():
            raise UsageError(f"--grid {item!r}: expected KEY=V1,V2,... with a dotted key, e.g. gail.ppo.learning_rate=0.001,0.0003")
        if key == "seed":
            raise UsageError("--grid seed: seeds come from --seeds (e.g. --seeds 0-4)")
        if any(a.key == key for a in axes):
            raise UsageError(f"--grid {key}: given twice; list all its values in one --grid")
        raw = _split_top_level(rest)
        if any(not r for r in raw):
            raise UsageError(f"--grid {item!r}: an empty value; separate values with single commas")
        dup = next((r for i, r in enumerate(raw) if r in raw[:i]), None)
        if dup is not None:
            raise UsageError(f"--grid {key}: the value {dup} is listed twice")
        values = tuple(parse_overrides([f"{key}={r}"])[key] for r in raw)
        axes.append(GridAxis(key=key, raw=tuple(raw), values=values))
    return axes


@dataclass(frozen=True)
class Trial:
    """One run of the sweep: a grid point and a seed."""

    index: int
    seed: int
    point: tuple[tuple[str, str], ...]
    """(key, value as typed) for each grid axis; empty without --grid."""
    overrides: tuple[str, ...]
    """`--set` items that make its config: the sweep's --set, the grid point, `seed=N`."""

    @property
    def label(self) -> str:
        return ", ".join([f"seed={self.seed}", *(f"{k}={v}" for k, v in self.point)])


def expand_trials(seeds: Sequence[int], grid: Sequence[GridAxis], base_overrides: Sequence[str] = ()) -> list[Trial]:
    """Every grid point (the cartesian product of the axes) times every seed, seeds innermost."""
    trials: list[Trial] = []
    for point in itertools.product(*[[(a.key, r) for r in a.raw] for a in grid]):
        for seed in seeds:
            overrides = (*base_overrides, *(f"{k}={r}" for k, r in point), f"seed={seed}")
            trials.append(Trial(index=len(trials), seed=seed, point=tuple(point), overrides=overrides))
    return trials


# --- planning: everything checked before Ray starts -------------------------------------


@dataclass(frozen=True)
class SweepPlan:
    stage: str
    config_path: Optional[Path]
    """Absolute; None means the built-in defaults."""
    base_overrides: tuple[str, ...]
    seeds: tuple[int, ...]
    grid: tuple[GridAxis, ...]
    demos: Optional[str]
    """--demos as given (a path made absolute, or a named source such as minari:ID), for gail and bc."""
    cwd: Path
    """Where relative paths were resolved; trials run their command from here."""
    base_config: Config
    """config.yaml of the sweep folder: --set applied and the first seed, before any --grid value."""
    trials: tuple[Trial, ...]
    configs: tuple[Config, ...]
    """trials[i]'s validated config, its input paths absolute."""
    demos_dirs: tuple[Optional[DemoSource], ...]
    """trials[i]'s demonstrations (gail, bc), as `resolve_demos` found them."""

    def trial_argv(self, trial: Trial, trials_dir: Path) -> list[str]:
        """The single-run command that reproduces one trial (its run folder's command.txt), run from
        the folder the sweep started in: paths inside it are named relative to it."""
        argv = ["gailctl", self.stage]
        if self.config_path is not None:
            argv += ["-c", shown_path(self.config_path, base=self.cwd)]
        for item in (*self.base_overrides, *(f"{k}={r}" for k, r in trial.point)):
            argv += ["--set", item]
        argv += ["--seed", str(trial.seed)]
        demos_dir = self.demos_dirs[trial.index]
        if demos_dir is not None:
            argv += ["--demos", demos_dir.shown(self.cwd)]
        return argv + ["--runs-dir", shown_path(trials_dir, base=self.cwd)]

    def describe(self, trials_dir: Path) -> dict[str, Any]:
        """sweep.json: what the sweep was asked and the overrides of every trial (paths relative to
        the folder the sweep started in, as in its command.txt)."""
        typed = {a.key: dict(zip(a.raw, a.values)) for a in self.grid}
        return {
            "stage": self.stage,
            "config": None if self.config_path is None else shown_path(self.config_path, base=self.cwd),
            "set": list(self.base_overrides),
            "seeds": list(self.seeds),
            "grid": {a.key: list(a.values) for a in self.grid},
            "grid_as_typed": {a.key: list(a.raw) for a in self.grid},
            "demos": None if self.demos is None else shown_path(self.demos, base=self.cwd),
            "trials_dir": shown_path(trials_dir, base=self.cwd),
            "trials": [
                {
                    "index": t.index,
                    "seed": t.seed,
                    "grid": {k: typed[k][r] for k, r in t.point},
                    "overrides": list(t.overrides),
                    "command": self.trial_argv(t, trials_dir),
                }
                for t in self.trials
            ],
        }


def _blame_grid(message: str, grid: Sequence[GridAxis], trial: Trial) -> str:
    """load_config blames `--set KEY`; for a grid key the user typed `--grid KEY`."""
    for axis in grid:
        if message.startswith(f"--set {axis.key}:") or message.startswith(f"--set {axis.key}."):
            return "--grid" + message[len("--set"):]
    if trial.point:  # the file or a --set, refused in combination with this grid point
        message += f" (with --grid {', '.join(f'{k}={v}' for k, v in trial.point)})"
    return message


def _absolute_inputs(cfg: Config, demos_dir: Optional[DemoSource]) -> Config:
    """Input paths made absolute: Ray workers may run in another working directory."""
    record, gail = cfg.record, cfg.gail
    if record.expert is not None:
        record = record.model_copy(update={"expert": str(Path(record.expert).resolve())})
    if demos_dir is not None:
        gail = gail.model_copy(update={"demos": demos_dir.spec})
    elif gail.demos is not None:
        gail = gail.model_copy(update={"demos": demos_argument(gail.demos)})
    return cfg.model_copy(update={"record": record, "gail": gail})


def plan_sweep(
    *,
    stage: Optional[str],
    config_path: Optional[Path],
    seeds: str,
    overrides: Sequence[str] = (),
    grid: Sequence[str] = (),
    demos: Optional[str | Path] = None,
    allow_env_mismatch: bool = False,
) -> SweepPlan:
    """Parse the sweep's options and validate every trial's config; no Ray, no torch.

    Raises:
        UsageError: bad --stage, --seeds or --grid, or clashing options.
        ConfigError: a trial whose config does not validate (the first one, in one line).
    """
    if stage is None:
        raise UsageError(f"sweep: --stage is required: one of {', '.join(SWEEP_STAGES)}")
    if stage not in SWEEP_STAGES:
        raise UsageError(f"--stage {stage}: a sweep runs one of {', '.join(SWEEP_STAGES)}")
    seed_list = parse_seeds(seeds)
    axes = parse_grid(grid)
    base_overrides = tuple(overrides)
    given = parse_overrides(list(base_overrides))
    if "seed" in given:
        raise UsageError("--set seed: a sweep takes its seeds from --seeds (e.g. --seeds 0-4)")
    for axis in axes:
        if axis.key in given:
            raise UsageError(f"--grid {axis.key}: also given with --set; keep one")
    if demos is not None and stage not in DEMO_STAGES:
        raise UsageError(f"--demos: only for --stage {' or '.join(DEMO_STAGES)}, not {stage}")
    if demos is not None and any(a.key == "gail.demos" for a in axes):
        raise UsageError("--grid gail.demos: --demos would override every value; drop one")
    config_path = None if config_path is None else Path(config_path).absolute()

    trials = expand_trials(seed_list, axes, base_overrides)
    configs, demos_dirs = [], []
    found: dict[str, Path] = {}
    env_checked: set[tuple[str, str]] = set()
    for trial in trials:
        try:
            cfg = load_config(config_path, list(trial.overrides))
        except ConfigError as exc:
            raise ConfigError(_blame_grid(str(exc), axes, trial)) from None
        demos_dir = None
        if stage in DEMO_STAGES:
            key = "bc.demos" if stage == "bc" and cfg.bc.demos else "gail.demos"  # as `gailctl bc` chooses
            source = demos if demos is not None else ((cfg.bc.demos or cfg.gail.demos) if stage == "bc" else cfg.gail.demos)
            if source is None:
                raise UsageError(f"sweep --stage {stage}: no demonstrations given: pass --demos DEMOS or set {key} in the config")
            flag = "--demos" if demos is not None else f"{key} ="
            if str(source) not in found:
                found[str(source)] = resolve_demos(source, flag=flag)
            demos_dir = found[str(source)]
            if (demos_dir.spec, cfg.env.id) not in env_checked:
                env_checked.add((demos_dir.spec, cfg.env.id))
                warning = check_demos_env(demos_dir, env_id=cfg.env.id, allow=allow_env_mismatch, flag=flag)
                if warning is not None:
                    from gailctl.core.ui import console

                    console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
        configs.append(_absolute_inputs(cfg, demos_dir))
        demos_dirs.append(demos_dir)

    try:
        base = load_config(config_path, [*base_overrides, f"seed={seed_list[0]}"])
        base = _absolute_inputs(base, demos_dirs[0])
    except ConfigError:  # valid only with a grid value (e.g. the grid fixes a batch size): the first trial's
        base = configs[0]
    return SweepPlan(
        stage=stage,
        config_path=config_path,
        base_overrides=base_overrides,
        seeds=tuple(seed_list),
        grid=tuple(axes),
        demos=demos_argument(demos),
        cwd=Path.cwd(),
        base_config=base,
        trials=tuple(trials),
        configs=tuple(configs),
        demos_dirs=tuple(demos_dirs),
    )


def check_trial_data(plan: SweepPlan, *, grid_flag: Optional[str] = None) -> None:
    """Load every trial's demonstrations and check them as its stage will, before Ray starts:
    enough trajectories for its n_demos, observations and actions that fit its env, fixed
    horizons (gail), a batch size they can fill. Each distinct (folder, env, count, batch) once.

    Args:
        grid_flag: what the user typed to sweep `gail.n_demos`, for the error (bench: `--n-demos`).

    Raises:
        UsageError: the first trial whose data its stage would refuse, in one line.
    """
    if plan.stage not in DEMO_STAGES:
        return
    from gailctl.rl.env.make import make_venv
    from gailctl.rl.demos import check_demos_fit, load_demos

    loaded: dict[str, list[Any]] = {}
    checked: set[tuple[Any, ...]] = set()
    for trial, cfg, demos_dir in zip(plan.trials, plan.configs, plan.demos_dirs):
        assert demos_dir is not None
        is_bc = plan.stage == "bc"
        n_demos = (cfg.bc.n_demos or cfg.gail.n_demos) if is_bc else cfg.gail.n_demos
        batch_size, batch_key = (cfg.bc.batch_size, "bc.batch_size") if is_bc else (cfg.gail.demo_batch_size, "gail.demo_batch_size")
        todo = (str(demos_dir), cfg.env.model_dump_json(), n_demos, batch_size, is_bc)
        if todo in checked:
            continue
        checked.add(todo)
        if str(demos_dir) not in loaded:
            loaded[str(demos_dir)] = load_demos(demos_dir, n_demos=None)
        trajs = loaded[str(demos_dir)]
        if n_demos is not None and n_demos > len(trajs):
            point = dict(trial.point)
            key = "bc.n_demos" if is_bc and cfg.bc.n_demos else "gail.n_demos"
            if key in point:
                who = f"{grid_flag} {point[key]}" if grid_flag else f"--grid {key}={point[key]}"
            elif key in parse_overrides(list(plan.base_overrides)):
                who = f"--set {key}={n_demos}"
            else:
                who = f"{key} = {n_demos}"
            raise UsageError(f"{who}: only {len(trajs)} trajectories in {demos_dir}")
        venv = make_venv(cfg.env, seed=cfg.seed, n_envs=1)
        try:
            check_demos_fit(trajs[:n_demos], venv, cfg, demos_dir, batch_size=batch_size, batch_key=batch_key,
                            need_fixed_horizon=not is_bc)
        finally:
            venv.close()


# --- what crosses to a Ray worker -----------------------------------------------------


def trial_payload(plan: SweepPlan, trials_dir: Path, *, keys: Optional[Sequence[str]] = None) -> dict[str, Any]:
    """What every Ray worker receives: plain data (configs as dicts), no paths relative to here.

    Each trial has a `key` (default: its index) that names it in the experiment's `runs_file`
    (`trial_runs.RUNS_FILE`, in the folder that holds `trials_dir`), so a trial started again finds
    its run folder.
    """
    from gailctl.experiments.trial_runs import RUNS_FILE

    keys = list(keys) if keys is not None else [str(t.index) for t in plan.trials]
    return {
        "stage": plan.stage,
        "cwd": str(plan.cwd),
        "trials_dir": str(trials_dir),
        "runs_file": str(Path(trials_dir).parent / RUNS_FILE),
        "trials": [
            {"key": key, "config": cfg.model_dump(mode="json"), "argv": plan.trial_argv(t, trials_dir),
             "demos": None if d is None else {"format": d.format, "location": d.location}}
            for t, cfg, d, key in zip(plan.trials, plan.configs, plan.demos_dirs, keys)
        ],
    }


def saved_plan(describe: dict[str, Any], payload: dict[str, Any], base_config: Config) -> SweepPlan:
    """A sweep's plan again, from what its folder saved (sweep.json, the payload, config.yaml): its
    trials' configs as they were planned, whatever the config file says now.

    Raises:
        UsageError: the saved files do not describe the same trials.
    """
    from gailctl.core.config_load import config_from_dict

    cwd = Path(payload["cwd"])
    axes = [GridAxis(key=key, raw=tuple(raw), values=tuple(parse_overrides([f"{key}={r}"])[key] for r in raw))
            for key, raw in describe["grid_as_typed"].items()]
    trials = expand_trials(describe["seeds"], axes, describe["set"])
    if len(trials) != len(payload["trials"]):
        raise UsageError(f"sweep.json names {len(trials)} trial(s), the saved trial list {len(payload['trials'])}")
    return SweepPlan(
        stage=describe["stage"],
        config_path=None if describe["config"] is None else cwd / describe["config"],
        base_overrides=tuple(describe["set"]),
        seeds=tuple(describe["seeds"]),
        grid=tuple(axes),
        demos=None if describe["demos"] is None else _saved_demos_argument(describe["demos"], cwd),
        cwd=cwd,
        base_config=base_config,
        trials=tuple(trials),
        configs=tuple(config_from_dict(t["config"], source=f"trial {i}") for i, t in enumerate(payload["trials"])),
        demos_dirs=tuple(saved_trial_demos(t) for t in payload["trials"]),
    )


def _saved_demos_argument(saved: str, cwd: Path) -> str:
    """sweep.json's `demos` (relative to where the sweep started, or a named source) as `plan_sweep` keeps it."""
    return saved if saved.startswith(MINARI_SCHEME) else str(cwd / saved)


def saved_trial_demos(trial: dict[str, Any]) -> Optional[DemoSource]:
    """A payload trial's demonstrations: `demos` (format and location), or an older list's `demos_dir`."""
    if trial.get("demos") is not None:
        return DemoSource(**trial["demos"])
    if trial.get("demos_dir") is not None:  # a trial list written before demonstrations had formats
        return DemoSource("imitation", trial["demos_dir"])
    return None
