"""Makes imitating-robots.png: a frame of each GAIL generator imitating an upright gait.

    MUJOCO_GL=egl python docs/assets/imitating_robots.py RUN_HOPPER RUN_WALKER2D RUN_ANT [--step 400]

Each RUN is a `gailctl gail` run folder (its config.yaml and policy.zip). The policy plays one
argmax episode on its task, filmed headless as `gailctl eval --video` films it; the frame at
`--step` is kept. Under each frame: the task, the episode's normalized score and its upright
share (`gailctl.rl.upright`), so the picture says what the numbers say. Written next to this file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "imitating-robots.png"


def frame_of(run: Path, step: int) -> tuple[np.ndarray, str]:
    """The frame at `step` of one argmax episode of the run's policy, and its caption."""
    from gailctl.core.config_load import load_config
    from gailctl.rl.env.make import make_venv
    from gailctl.rl.env.render import FrameGrabber, offscreen_sdl
    from gailctl.rl.policies import load_ppo
    from gailctl.rl.upright import upright_test

    cfg = load_config(run / "config.yaml")
    offscreen_sdl()
    venv = make_venv(cfg.env, seed=cfg.seed, n_envs=1, render_mode="rgb_array")
    model = load_ppo(run / "policy.zip", venv, env_id=cfg.env.id, seed=cfg.seed)
    env = venv.envs[0]
    grab, upright = FrameGrabber(env), upright_test(env)
    obs, total, n_up, kept = venv.reset(), 0.0, 0, None
    for t in range(1000):
        action, _ = model.predict(obs, deterministic=True)
        obs, reward, done, _ = venv.step(action)
        total += float(reward[0])
        n_up += int(upright()) if upright is not None else 0
        if t == step:
            kept = grab()
        if done[0]:
            break
    venv.close()
    score = cfg.references.normalize(total)
    caption = f"{cfg.env.id} GAIL seed {cfg.seed}: this episode {score:.2f} of the expert, upright {n_up / (t + 1):.2f}"
    return kept, caption


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="gail run folders, one per robot")
    parser.add_argument("--step", type=int, default=400, help="the episode step whose frame is kept")
    args = parser.parse_args()
    from PIL import Image, ImageDraw

    tiles = []
    for run in args.runs:
        frame, caption = frame_of(run, args.step)
        img = Image.fromarray(frame).resize((320, 320))
        tile = Image.new("RGB", (320, 344), "white")
        tile.paste(img, (0, 0))
        ImageDraw.Draw(tile).text((6, 326), caption, fill="black")
        tiles.append(tile)
        print(caption)
    sheet = Image.new("RGB", (320 * len(tiles), 344), "white")
    for i, tile in enumerate(tiles):
        sheet.paste(tile, (320 * i, 0))
    sheet.quantize(colors=128).save(OUT, optimize=True)
    print(f"wrote {OUT.name} ({OUT.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
