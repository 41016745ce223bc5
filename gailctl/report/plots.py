"""The one curve plotter: figures, learning curves (a line, or a mean with a min-max band), reference lines, PNGs.

Every picture gailctl draws (`gailctl plot`, a GAIL run's curves.png, sweep's and bench's
curves.png) is made of these pieces, so the same thing looks the same everywhere: the expert
level is a green dashed line, random play a grey dotted one, the 0.95 target orange dash-dot.
matplotlib (its object API, no pyplot) and numpy are imported inside the functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

from gailctl.core.errors import UsageError
from gailctl.core.runs import atomic_path

Curve = tuple[Sequence[float], Sequence[float]]
"""(x values, y values) of one line, x ascending (env steps)."""

REFERENCE_STYLES = {
    "expert": {"color": "tab:green", "ls": "--", "lw": 1},
    "random": {"color": "tab:gray", "ls": ":", "lw": 1.2},
    "target": {"color": "tab:orange", "ls": "-.", "lw": 1},
    "chance": {"color": "black", "ls": ":", "lw": 1},
}
"""How each kind of reference level is drawn."""


def new_figure(*, width: float, height: float, constrained: bool = False) -> Any:
    """A matplotlib Figure not tied to any GUI backend (so drawing works without a display)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise UsageError("plotting needs matplotlib: pip install matplotlib") from None
    return Figure(figsize=(width, height), dpi=100, constrained_layout=constrained)


def mean_band(curves: Sequence[Curve]) -> Optional[tuple[Any, Any, Any, Any]]:
    """(grid, mean, min, max) of curves on the steps they all cover (interpolated where their
    evaluation steps differ); None when they share no range."""
    import numpy as np

    curves = [c for c in curves if len(c[0])]
    if not curves:
        return None
    lo = max(c[0][0] for c in curves)
    hi = min(c[0][-1] for c in curves)
    if lo > hi:
        return None
    grid = np.array(sorted({x for xs, _ in curves for x in xs if lo <= x <= hi}))
    stack = np.stack([np.interp(grid, xs, ys) for xs, ys in curves])
    return grid, stack.mean(axis=0), stack.min(axis=0), stack.max(axis=0)


def draw_curves(axis: Any, curves: Sequence[Curve], *, color: str, label: Optional[str], style: str = "-",
                alpha: float = 1.0, lw: Optional[float] = None) -> None:
    """One series: several curves as their mean with a min-max band, one curve as itself.

    Curves that share no step range are each drawn, labelled once. Empty curves are skipped.
    """
    curves = [c for c in curves if len(c[0])]
    if not curves:
        return
    band = mean_band(curves) if len(curves) > 1 else None
    if band is not None:
        grid, mean, lo, hi = band
        axis.plot(grid, mean, style, color=color, label=label, lw=lw or 1.6, alpha=alpha)
        axis.fill_between(grid, lo, hi, color=color, alpha=0.2, lw=0)
        return
    for i, (xs, ys) in enumerate(curves):
        axis.plot(xs, ys, style, color=color, label=label if i == 0 else None, lw=lw or 1.4, alpha=alpha,
                  marker="." if len(xs) < 30 else None)


def reference_line(axis: Any, y: float, *, kind: str, label: Optional[str]) -> None:
    """A horizontal reference level (`kind`: expert, random, target or chance) in its house style."""
    axis.axhline(y, label=label, **REFERENCE_STYLES[kind])


def save_png(fig: Any, out: Path, *, dpi: int = 100) -> Path:
    """Write the figure as a PNG atomically (a reader never sees half a file); UsageError if it cannot."""
    out = Path(out)
    try:
        with atomic_path(out) as tmp:
            fig.savefig(tmp, format="png", dpi=dpi)
    except OSError as exc:
        raise UsageError(f"{out}: cannot write it: {exc.strerror or exc}") from None
    return out
