"""`gailctl eval`: score a saved policy, and show it (window) or film it (video)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from gailctl.core.config import Config
from gailctl.core.errors import UsageError
from gailctl.core.metrics import MetricsWriter
from gailctl.core.summaries import EvalResult
from gailctl.core.ui import console, progress_bar
from gailctl.rl.env.make import EVAL_SEED_OFFSET, make_venv
from gailctl.rl.env.normalize import unfolded_checkpoint_zip
from gailctl.rl.env.render import has_display, play, write_video
from gailctl.rl.evaluation import RandomPolicy, evaluate
from gailctl.rl.policies import load_ppo
from gailctl.rl.torch_setup import setup_torch

COLUMNS = ["episode", "n_env_steps", "return", "length", "normalized_score", "upright_share"]


def run(
    cfg: Config,
    run_dir: Path,
    *,
    policy_zip: Optional[Path],
    render: bool = False,
    video: Optional[Path] = None,
) -> EvalResult:
    setup_torch()
    e = cfg.eval
    venv = make_venv(cfg.env, seed=cfg.seed + EVAL_SEED_OFFSET, n_envs=min(e.episodes, cfg.env.n_envs))
    if policy_zip is None:  # `gailctl eval random`: the reference every normalized score starts from
        model: Any = RandomPolicy(venv.action_space, seed=cfg.seed)
    else:
        if unfolded_checkpoint_zip(policy_zip):
            raise UsageError(
                f"{policy_zip}: a checkpoint of a run that normalises observations, written with the trained "
                "(unfolded) weights, which would play wrong actions on raw observations; evaluate the run's model.zip "
                "instead (resume an unfinished run to get one)")
        model = load_ppo(policy_zip, venv, env_id=cfg.env.id, seed=cfg.seed)
    with progress_bar("eval episodes", e.episodes) as bar:

        def on_step(done: int) -> None:
            bar.update(done)

        score = evaluate(model, venv, n_episodes=e.episodes, deterministic=e.deterministic, callback=on_step)
        bar.update(e.episodes, latest=f"return {score.return_mean:.1f}")
    with MetricsWriter(run_dir, columns=COLUMNS) as writer:
        steps = 0
        upright = score.upright if score.upright is not None else [float("nan")] * len(score.returns)
        for i, (ret, length, up) in enumerate(zip(score.returns, score.lengths, upright)):
            steps += int(length)
            norm = cfg.references.normalize(float(ret))
            writer.write({"episode": i, "n_env_steps": steps, "return": float(ret), "length": int(length),
                          "normalized_score": float("nan") if norm is None else norm, "upright_share": float(up)})
    fields: dict[str, Any] = {"references": cfg.references.model_dump()}
    if score.upright is not None:  # locomotion tasks: the share of steps upright (gailctl.rl.upright)
        fields.update(upright_share=score.upright_share, upright_share_min=float(score.upright.min()))
    show_window = render and video is None and has_display()
    if show_window:
        console.print(f"showing {e.video_episodes} episode(s) in a window")
        returns, _ = play(model, cfg.env, n_episodes=e.video_episodes, seed=cfg.seed, deterministic=e.deterministic, render_mode="human")
        fields["rendered"] = {"mode": "window", "returns": returns}
    elif render or video is not None:
        if render and video is None:
            console.print("no display found: writing a video instead of opening a window")
        target = video if video is not None else run_dir / "video.mp4"
        returns, frames = play(model, cfg.env, n_episodes=e.video_episodes, seed=cfg.seed, deterministic=e.deterministic, render_mode="rgb_array")
        write_video(target, frames, fps=e.video_fps)
        fields["rendered"] = {"mode": "video", "video": str(target), "returns": returns, "frames": len(frames)}
    return EvalResult(policy="random" if policy_zip is None else str(policy_zip), episodes=e.episodes,
                      deterministic=e.deterministic, return_mean=score.return_mean, return_std=score.return_std,
                      return_min=float(score.returns.min()), return_max=float(score.returns.max()),
                      episode_len_mean=float(score.lengths.mean()),
                      normalized_score=cfg.references.normalize(score.return_mean), **fields)
