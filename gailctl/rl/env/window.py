"""The pygame window a person plays or teaches in: the task's frame on top, a text panel below it.

Nothing is drawn over the task: the panel under the frame holds the lines the caller gives and
a status line (a prompt, a pause, a warning) on a coloured band. A frame the env could not draw
is shown as a dark picture that says why, so a drawing error never ends a session. Key events
come out as plain tuples (`("down", "left")`, `("up", "left")`, `("quit", "")`), which is all the
session (`gailctl.rl.env.human`) needs and what its tests feed it without a window.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from gailctl.core.errors import UsageError

HEADLESS_DRIVERS = ("offscreen", "dummy")
"""SDL video drivers that draw nowhere: SDL falls back to them when the display cannot be opened."""

LINE_HEIGHT = 19
PANEL_LINES = 5
"""Text lines under the frame: the caller's lines, then the status band."""
PANEL_HEIGHT = 8 + LINE_HEIGHT * PANEL_LINES
"""Pixels of text panel below the env's frame."""

STATUS_COLOURS = {"prompt": (40, 90, 170), "pause": (150, 110, 20), "alert": (180, 40, 40), "info": (50, 120, 60)}
"""Background of the status band by kind."""

Event = tuple[str, str]


def prefer_x11() -> None:
    """Under X, SDL uses X and nothing else: no probing of Wayland (which prints to stderr) and
    no silent fallback to an off-screen driver. Call before anything imports pygame's display
    (the envs' renderers call `pygame.init()`)."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    if os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("SDL_VIDEODRIVER", "x11")


class Window:
    """The window: `events()` since the last call, `draw(frame, lines, status=...)`, `close()`."""

    def __init__(self, *, title: str, frame_shape: Sequence[int], command: str):
        prefer_x11()
        import pygame

        self.pg = pygame
        try:
            pygame.display.init()
            driver = pygame.display.get_driver()
            if driver in HEADLESS_DRIVERS:  # SDL's fallback: a window no one sees
                pygame.display.quit()
                raise pygame.error(f"SDL fell back to its {driver!r} video driver, which shows nothing")
            pygame.font.init()
            height, width = int(frame_shape[0]), int(frame_shape[1])
            self.surface = pygame.display.set_mode((width, height + PANEL_HEIGHT))
        except pygame.error as exc:
            raise UsageError(f"{command}: cannot open a window on display {os.environ.get('DISPLAY', '')!r}: {exc}") from None
        pygame.display.set_caption(title)
        self.font = pygame.font.Font(None, 21)
        self.big = pygame.font.Font(None, 28)
        self.width, self.height = width, height
        self.clock = pygame.time.Clock()

    def events(self) -> list[Event]:
        """Key presses and releases (pygame's key names) and window closes since the last call."""
        pg, out = self.pg, []
        for event in pg.event.get():
            if event.type == pg.QUIT:
                out.append(("quit", ""))
            elif event.type == pg.KEYDOWN:
                out.append(("down", pg.key.name(event.key)))
            elif event.type == pg.KEYUP:
                out.append(("up", pg.key.name(event.key)))
        return out

    def draw(self, frame: Optional[np.ndarray], lines: Sequence[str], *, status: Optional[str] = None,
             kind: str = "prompt", blank_note: Sequence[str] = ()) -> None:
        """The frame (or, when None, a dark picture with `blank_note`), the panel's lines and the status band."""
        pg, surface = self.pg, self.surface
        surface.fill((20, 20, 28))
        if frame is not None:
            image = pg.surfarray.make_surface(np.ascontiguousarray(np.transpose(frame[..., :3], (1, 0, 2))))
            surface.blit(image, (0, 0))
        else:
            surface.fill((45, 45, 55), pg.Rect(0, 0, self.width, self.height))
            for i, note in enumerate(blank_note):
                text = (self.big if i == 0 else self.font).render(note, True, (235, 235, 235))
                surface.blit(text, ((self.width - text.get_width()) // 2, self.height // 3 + 30 * i))
        y = self.height + 4
        for line in list(lines)[: PANEL_LINES - 1]:
            surface.blit(self.font.render(line, True, (235, 235, 235)), (8, y))
            y += LINE_HEIGHT
        if status:
            band = pg.Rect(0, self.height + PANEL_HEIGHT - LINE_HEIGHT - 6, self.width, LINE_HEIGHT + 6)
            surface.fill(STATUS_COLOURS.get(kind, STATUS_COLOURS["prompt"]), band)
            surface.blit(self.font.render(status, True, (255, 255, 255)), (8, band.y + 4))
        pg.display.flip()

    def tick(self, fps: int) -> None:
        """Wait out the rest of this frame at `fps` frames per second."""
        self.clock.tick(fps)

    def save_png(self, path: Path) -> None:
        """What the window shows now, as a PNG (pygame's own surface: no screen grab needed)."""
        self.pg.image.save(self.surface, str(path))

    def close(self) -> None:
        self.pg.display.quit()
