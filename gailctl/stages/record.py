"""`gailctl record`: roll out an expert (or a person) and save demonstrations in imitation's format,
and also as a Minari dataset when asked (`--format minari --dataset-id ID`)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np

from gailctl.core.config import Config
from gailctl.core.demo_sources import DemoSource
from gailctl.core.errors import UsageError
from gailctl.core.metrics import MetricsWriter
from gailctl.core.summaries import DemoStats, RecordResult, UprightSelection
from gailctl.core.ui import console, progress_bar
from gailctl.rl.demos import write_demos
from gailctl.rl.env.make import describe_space, make_venv
from gailctl.rl.env.vecnorm_stats import obs_normalization_for
from gailctl.rl.evaluation import SDENoise
from gailctl.rl.policies import load_ppo
from gailctl.rl.torch_setup import setup_torch
from gailctl.rl.upright import upright_probe
from gailctl.rl.upright_filter import Selection, check_enough, enough_kept, select

COLUMNS = ["episode", "n_env_steps", "return", "length", "normalized_score", "upright_share", "kept"]
"""`upright_share`: locomotion tasks' share of steps upright (`gailctl.rl.upright`), empty elsewhere;
`kept`: whether the episode is in the demonstrations (false: dropped by record.min_upright_share)."""


def recording_envs(n_episodes: int, n_envs: int) -> int:
    """The largest divisor of `n_episodes` not above `n_envs`.

    Fixed-horizon episodes then all end together in whole batches, so exactly `n_episodes`
    are collected and none is dropped (dropping late finishers would favour short episodes).
    """
    return max(d for d in range(1, min(n_envs, n_episodes) + 1) if n_episodes % d == 0)


def demo_stats(trajs: list[Any], refs: Any, upright: Optional[list[Optional[float]]] = None) -> dict[str, Any]:
    """Return/length statistics of trajectories (imitation's rollout_stats) plus normalized mean;
    with `upright` (each trajectory's upright share), their mean and minimum."""
    from imitation.data.rollout import rollout_stats

    stats = {k: float(v) for k, v in rollout_stats(trajs).items()}
    stats["n_traj"] = int(stats["n_traj"])
    stats["n_transitions"] = int(sum(len(t.acts) for t in trajs))
    stats["normalized_return_mean"] = refs.normalize(stats["return_mean"])
    if upright and all(u is not None for u in upright):
        stats.update(upright_share=float(np.mean(upright)), upright_share_min=float(np.min(upright)))
    return stats


def metrics_row(refs: Any, i: int, steps: int, traj: Any, *, upright: Optional[float] = None,
                kept: bool = True) -> dict[str, Any]:
    """The metrics row of recorded episode `i` (`steps`: env steps recorded up to and including it)."""
    ret = float(np.sum(traj.rews))
    norm = refs.normalize(ret)
    return {"episode": i, "n_env_steps": steps, "return": ret, "length": len(traj.acts),
            "normalized_score": float("nan") if norm is None else norm,
            "upright_share": float("nan") if upright is None else upright, "kept": kept}


def export_minari(cfg: Config, trajs: list[Any], minari_id: str, *, spaces: tuple[Any, Any], source: str) -> str:
    """The trajectories as a new dataset in the local Minari store (`record --format minari`); returns its id."""
    from gailctl.core.demos_meta import demos_meta
    from gailctl.rl.demo_formats import write_demos as write_in_format

    meta = demos_meta(env_id=cfg.env.id, observation_space=spaces[0], action_space=spaces[1],
                      n_trajectories=len(trajs), env=cfg.env.model_dump(mode="json", exclude={"n_envs"}))
    refs = cfg.references
    known = refs.random_return is not None and refs.expert_return is not None
    write_in_format(trajs, DemoSource("minari", minari_id), meta=meta, algorithm=f"gailctl record ({source})",
                    references=(refs.random_return, refs.expert_return) if known else None)
    console.print(f"Minari dataset {minari_id}: {len(trajs)} episodes (minari.load_dataset({minari_id!r}))")
    return minari_id


def write_episode_rows(cfg: Config, run_dir: Path, trajs: list[Any], upright: list[Optional[float]],
                       kept: set[int]) -> None:
    """One metrics row per episode rolled out, kept or not, in the rollout's order."""
    with MetricsWriter(run_dir, columns=COLUMNS) as writer:
        steps = 0
        for i, t in enumerate(trajs):
            steps += len(t.acts)
            writer.write(metrics_row(cfg.references, i, steps, t, upright=upright[i], kept=i in kept))


def save_demos(cfg: Config, run_dir: Path, trajs: list[Any], *, spaces: tuple[Any, Any],
               minari_id: Optional[str] = None, source: str = "expert",
               upright_selection: Optional[UprightSelection] = None) -> Optional[str]:
    """`demos/` in imitation's format, written whole or not at all, with the env and its
    (observation, action) `spaces` named in it (`core.demos_meta`), and what record.min_upright_share
    dropped; with `minari_id`, the same trajectories as a new dataset in the local Minari store. Returns its id."""
    selection = None if upright_selection is None else upright_selection.model_dump(mode="json")
    write_demos(run_dir / "demos", trajs, env_cfg=cfg.env, spaces=spaces, upright_selection=selection)
    return None if minari_id is None else export_minari(cfg, trajs, minari_id, spaces=spaces, source=source)


def selection_summary(cfg: Config, trajs: list[Any], upright: list[Optional[float]],
                      chosen: Selection) -> Optional[UprightSelection]:
    """What record.min_upright_share kept and dropped, for the summary and the demos' metadata; None when unset."""
    min_share = cfg.record.min_upright_share
    if min_share is None:
        return None
    return UprightSelection(
        min_upright_share=min_share, n_rolled_out=len(trajs), n_kept=len(chosen.kept), n_dropped=len(chosen.dropped),
        n_unused=len(chosen.unused), dropped_episodes=list(chosen.dropped),
        dropped_returns=[round(float(np.sum(trajs[i].rews)), 2) for i in chosen.dropped],
        dropped_upright_shares=[round(float(upright[i] or 0.0), 3) for i in chosen.dropped])


def run(cfg: Config, run_dir: Path, *, expert_zip: Optional[Path] = None, stats_file: Optional[Path] = None,
        human: bool = False, minari_id: Optional[str] = None) -> RecordResult:
    """Record `record.n_episodes` episodes: a person's (`human`, gailctl.rl.env.human) or an expert's.

    `stats_file`: VecNormalize statistics the expert's inputs need. With statistics, the policy
    acts on normalised observations (as VecNormalize gave them in training) while the
    demonstrations keep the raw ones the env returned. A zip that says it was trained behind
    VecNormalize is refused without them (`obs_normalization_for`).

    With `record.min_upright_share` it rolls out until `record.n_episodes` episodes stood upright long
    enough (`rl.upright_filter`), at most `record.episode_cap`; every episode gets a metrics row.
    """
    if human:
        return run_human(cfg, run_dir, minari_id=minari_id)
    assert expert_zip is not None, "the CLI resolves the expert before calling"
    from imitation.data import rollout

    from gailctl.rl.env.upright_info import episode_upright_share

    setup_torch()
    rcfg = cfg.record
    obs_norm, warning = obs_normalization_for(expert_zip, stats_file)
    if warning:
        console.print(f"[yellow]warning:[/] {warning}")
    n_envs = recording_envs(rcfg.n_episodes, cfg.env.n_envs)
    venv = make_venv(cfg.env, seed=cfg.seed, n_envs=n_envs, upright_info=True)
    min_share = rcfg.min_upright_share
    if min_share is not None and upright_probe(venv) is None:
        raise UsageError(f"record.min_upright_share = {min_share}: env.id = {cfg.env.id} has no upright test")
    model = load_ppo(expert_zip, venv, env_id=cfg.env.id, seed=cfg.seed)
    if obs_norm is not None and obs_norm.mean.shape != tuple(venv.observation_space.shape):
        raise UsageError(f"--vecnormalize {obs_norm.source}: statistics for observations of shape {obs_norm.mean.shape}; "
                         f"env {cfg.env.id} has {describe_space(venv.observation_space)}")
    t0 = time.monotonic()
    # A gSDE expert's sampled actions need their exploration noise redrawn (SDENoise).
    with progress_bar("record", rcfg.n_episodes) as bar, SDENoise.around(model, deterministic=rcfg.deterministic) as actor:
        finished = [-n_envs]  # the first call's episode starts are resets, not finished episodes
        n_kept = [0]  # with min_upright_share the bar counts the episodes kept so far

        def act(obs: Any, state: Any, episode_start: Any) -> tuple[Any, Any]:
            finished[0] += int(np.sum(episode_start))
            bar.update(max(finished[0], 0) if min_share is None else min(n_kept[0], rcfg.n_episodes))
            seen = obs if obs_norm is None else obs_norm.apply(obs)  # the trajectories keep the raw obs
            return actor.predict(seen, state, episode_start, deterministic=rcfg.deterministic)

        if min_share is None:
            sample_until = rollout.make_sample_until(min_episodes=rcfg.n_episodes)
        else:  # roll out until enough episodes stood upright, or the cap is reached
            def sample_until(done: list[Any]) -> bool:
                shares = [episode_upright_share(t.infos) for t in done]
                n_kept[0] = len(select(shares, min_share=min_share, n_wanted=rcfg.n_episodes).kept)
                return enough_kept(shares, min_share=min_share, n_wanted=rcfg.n_episodes, cap=rcfg.episode_cap)

        trajs = rollout.generate_trajectories(act, venv, sample_until, rng=np.random.default_rng(cfg.seed))
        upright = [episode_upright_share(t.infos) for t in trajs]
        # Keep original obs/rewards (RolloutInfoWrapper), drop infos as imitation's rollout() does.
        trajs = [dataclasses.replace(rollout.unwrap_traj(t), infos=None) for t in trajs]
        if min_share is None:
            trajs, upright = trajs[: rcfg.n_episodes], upright[: rcfg.n_episodes]
        chosen = select(upright, min_share=min_share, n_wanted=rcfg.n_episodes)
        kept = [trajs[i] for i in chosen.kept]
        bar.update(len(kept), latest=f"return {np.mean([t.rews.sum() for t in kept]):.1f}" if kept else "")
    write_episode_rows(cfg, run_dir, trajs, upright, set(chosen.kept))
    check_enough(chosen, n_wanted=rcfg.n_episodes, n_rolled_out=len(trajs), min_share=min_share)
    selection = selection_summary(cfg, trajs, upright, chosen)
    exported = save_demos(cfg, run_dir, kept, spaces=(venv.observation_space, venv.action_space), minari_id=minari_id,
                          upright_selection=selection)
    stats = demo_stats(kept, cfg.references, [upright[i] for i in chosen.kept])
    return RecordResult(source="expert", expert=str(expert_zip), deterministic=rcfg.deterministic,
                        vecnormalize=None if obs_norm is None else obs_norm.source,
                        record_wall_s=round(time.monotonic() - t0, 3), demos=DemoStats(**stats),
                        artifacts={"demos": "demos"}, upright_selection=selection,
                        **({"minari_dataset": exported} if exported else {}))


HUMAN_STEPS_FILE = "human_steps.csv"
"""Every step a person played, and every pause, redo and end: attempt, seed, time, keys, action, reward, outcome."""


def run_human(cfg: Config, run_dir: Path, *, minari_id: Optional[str] = None) -> RecordResult:
    """A person plays `record.n_episodes` episodes in a window (gailctl.rl.env.human); same outputs as an expert's.

    Nothing finished is lost: each kept episode is on disk when it ends (`demos/` swapped for one
    holding it too, its metrics row and its steps' rows flushed), so an error, a signal or even a
    SIGKILL leaves every finished episode loadable. The summary says how the recording ended.
    """
    from gailctl.core.errors import GailctlError
    from gailctl.core.signals import graceful_stop
    from gailctl.report.run_scores import plural
    from gailctl.rl.env.human import Session, StepLog, check_keymap, episode_horizon
    from gailctl.rl.env.window import prefer_x11

    rcfg = cfg.record
    keymap = check_keymap(cfg)
    prefer_x11()
    import datasets  # noqa: F401  the demos writer's first import takes seconds: not in the window's first pause
    venv = make_venv(cfg.env, seed=cfg.seed, n_envs=1, render_mode="rgb_array")
    spaces = (venv.observation_space, venv.action_space)
    horizon = episode_horizon(cfg.env, venv)
    t0 = time.monotonic()
    kept: list[Any] = []
    n_ended_early = 0
    def header() -> str:
        last = f"   last return {float(np.sum(kept[-1].rews)):.1f}" if kept else ""
        return f"episode {len(kept) + 1}/{rcfg.n_episodes}   kept {len(kept)}{last}"

    with graceful_stop(note="stopping: the finished episodes are kept, the current one is dropped") as stop, \
            StepLog(run_dir / HUMAN_STEPS_FILE) as steps, MetricsWriter(run_dir, columns=COLUMNS) as metrics:
        session = Session(venv, keymap, env_id=cfg.env.id, horizon=horizon, fps=rcfg.human.fps, stop=stop, steps=steps,
                          title=f"gailctl record --human: {cfg.env.id}", command="record --human")
        session.open(cfg.seed)
        console.print(f"record --human: a window is open on {cfg.env.id}; press {keymap.start_keys()} in it to start "
                      f"({keymap.legend(cfg.env.id)}); space pauses, backspace redoes an episode, return ends one that is "
                      "over, esc stops and keeps the finished ones", highlight=False)
        try:
            while len(kept) < rcfg.n_episodes:
                ep = session.episode(cfg.seed + len(kept), header=header)
                if ep is None:
                    break
                kept.append(ep.trajectory(continuous=keymap.continuous))
                write_demos(run_dir / "demos", kept, env_cfg=cfg.env, spaces=spaces)
                row = metrics_row(cfg.references, len(kept) - 1, sum(len(t.acts) for t in kept), kept[-1])
                metrics.write(row)
                n_ended_early += ep.ended_early is not None
                norm = row["normalized_score"]
                console.print(f"episode {len(kept)}/{rcfg.n_episodes}: return {row['return']:.1f}, {row['length']} steps"
                              + (f", normalized {norm:.2f}" if norm == norm else "")
                              + (f" ({ep.ended_early}: ended with return, the rest played out)" if ep.ended_early else "")
                              + "; saved", highlight=False)
        except GailctlError:
            raise
        except Exception as exc:  # the env or the window failed: say what is safe on disk
            saved = f"{plural(len(kept), 'finished episode')} saved in {run_dir / 'demos'}" if kept else "no episode had finished"
            raise GailctlError(f"record --human: {type(exc).__name__}: {exc}; {saved}") from exc
        finally:
            session.close()
    venv.close()
    if not kept:
        raise GailctlError(f"record --human: stopped ({session.stopped_by}) before any episode finished; nothing saved "
                           f"(the steps played are in {run_dir / HUMAN_STEPS_FILE})")
    ended = f"stopped by {session.stopped_by}" if session.stopped_by else f"all {plural(rcfg.n_episodes, 'episode')} played"
    exported = None if minari_id is None else export_minari(cfg, kept, minari_id, spaces=spaces, source="human")
    return RecordResult(source="human", keymap=keymap.to_json(), fps=rcfg.human.fps, n_episodes_requested=rcfg.n_episodes,
                        n_redone=session.n_redone, n_ended_early=n_ended_early, stopped_by=session.stopped_by, ended=ended,
                        record_wall_s=round(time.monotonic() - t0, 3),
                        demos=DemoStats(**demo_stats(kept, cfg.references)),
                        artifacts={"demos": "demos", "steps": HUMAN_STEPS_FILE},
                        **({"minari_dataset": exported} if exported else {}))
