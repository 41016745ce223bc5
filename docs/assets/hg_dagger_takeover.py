"""Makes hg-dagger-takeover.png: `gailctl dagger --human` on LunarLander mid-takeover, a real X window.

    python docs/assets/hg_dagger_takeover.py      # from the repository; needs Xvfb, xdotool, xwd

Starts a virtual display (Xvfb), runs `gailctl dagger -c configs/lunarlander.yaml --human` in a
scratch folder (BC on the shipped demonstrations first, then the window), and plays it with real
key events (xdotool): return hands the lander to the policy, a short hold of Up is a first
takeover, then Left is held and the window is captured (xwd) while the person drives. Escape
ends the run; the window's picture is written next to this file as a small PNG.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
OUT = HERE / "hg-dagger-takeover.png"


def xdo(display: str, *args: str) -> str:
    return subprocess.run(["xdotool", *args], env={**os.environ, "DISPLAY": display}, capture_output=True, text=True,
                          timeout=10).stdout


def capture(display: str, window: str, out: Path, scratch: Path) -> None:
    """The window as X shows it (xwd), converted with imageio's ffmpeg, saved as an indexed PNG."""
    import imageio_ffmpeg
    from PIL import Image

    xwd, raw = scratch / "window.xwd", scratch / "window.png"
    with open(xwd, "wb") as fh:
        subprocess.run(["xwd", "-silent", "-id", window, "-display", display], stdout=fh, check=True, timeout=10)
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(xwd), str(raw)],
                   check=True, timeout=30)
    Image.open(raw).convert("RGB").quantize(colors=64).save(out, optimize=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--display", default=":77")
    p.add_argument("--drive-s", type=float, default=3.0, help="seconds the policy flies before the first takeover")
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        xvfb = subprocess.Popen(["Xvfb", a.display, "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        env = {k: v for k, v in os.environ.items() if k not in ("SDL_VIDEODRIVER", "SDL_AUDIODRIVER", "WAYLAND_DISPLAY")}
        env["DISPLAY"] = a.display
        proc = None
        try:
            time.sleep(1.0)
            proc = subprocess.Popen([sys.executable, "-m", "gailctl", "dagger", "-c", "configs/lunarlander.yaml", "--human",
                                     "--rounds", "1", "--set", "dagger.eval_episodes=1", "--runs-dir", str(scratch / "runs")],
                                    cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            window, deadline = "", time.monotonic() + 300
            while not window and time.monotonic() < deadline and proc.poll() is None:
                window = xdo(a.display, "search", "--class", ".").split("\n")[0].strip()
                time.sleep(0.25)
            if not window:
                raise SystemExit(f"no window appeared: {proc.communicate(timeout=10)[1]}")
            time.sleep(1.5)
            xdo(a.display, "key", "Return")  # the policy flies
            time.sleep(a.drive_s)
            xdo(a.display, "keydown", "Up"); time.sleep(0.6); xdo(a.display, "keyup", "Up")  # noqa: E702  a first takeover
            time.sleep(1.0)
            xdo(a.display, "keydown", "Left"); time.sleep(0.5)  # noqa: E702  the second, held while the picture is taken
            capture(a.display, window, a.out, scratch)
            xdo(a.display, "keyup", "Left")
            xdo(a.display, "key", "Escape")
            proc.wait(timeout=60)
        finally:
            if proc is not None and proc.poll() is None:
                proc.kill()
            xvfb.terminate()
            xvfb.wait(timeout=10)
    print(f"{a.out.relative_to(REPO) if a.out.is_relative_to(REPO) else a.out}: {a.out.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
