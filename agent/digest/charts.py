"""Charts as plain geometry that templates draw with table cells and coloured blocks.

Mail clients drop scripts, SVG and often images, but they all draw a table
cell with a height and a background colour. Each function here turns
numbers into such blocks; the number itself is always printed next to the
chart too, so no fact lives in a picture alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from agent.digest.names import day


@dataclass(frozen=True)
class Block:
    """One piece of a bar, from the top: ``kind`` is gap, fill, recent or mark."""

    kind: str
    height: int


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    blocks: tuple[Block, ...]
    title: str


def _scale(values: Sequence[float], extra: float = 0.0) -> float:
    top = max([*values, extra, 0.0])
    return top if top > 0 else 1.0


def week_bars(weeks: Sequence[dt.date], values: Sequence[float], recent: int,
              usual: float | None = None, height: int = 64) -> list[Bar]:
    """Weekly bars; the last ``recent`` weeks stand out, ``usual`` is a line across."""
    top = _scale(values, usual or 0.0)
    bars = []
    for i, (week, value) in enumerate(zip(weeks, values, strict=True)):
        kind = "recent" if i >= len(values) - recent else "fill"
        filled = round(value / top * height)
        if value > 0:
            filled = max(filled, 2)  # a little contact is still visible
        blocks: list[Block] = []
        if usual is None:
            blocks = [Block("gap", height - filled), Block(kind, filled)]
        else:
            line = min(height - 2, round(usual / top * height))
            if filled <= line:
                blocks = [Block("gap", height - line - 2), Block("mark", 2),
                          Block("gap", line - filled), Block(kind, filled)]
            else:
                blocks = [Block("gap", height - filled), Block(kind, filled - line - 2),
                          Block("mark", 2), Block(kind, line)]
        label = day(week) if i in (0, len(values) - 1) else ""
        bars.append(Bar(label, value, tuple(b for b in blocks if b.height > 0),
                        f"week of {day(week)}: {value:.1f} h"))
    return bars


def sparkline(values: Sequence[float], height: int = 18) -> list[int]:
    """Heights of tiny bars, at least 1 px so a quiet week still shows as a baseline."""
    top = _scale(values)
    return [max(1, round(v / top * height)) for v in values]


def share_width(part: int, whole: int, width: int = 100) -> int:
    """Percent width of a funnel bar; a non-zero part never vanishes."""
    if whole <= 0 or part <= 0:
        return 0
    return max(3, round(part / whole * width))


#: Change against baseline -> cell colour. Losses are warm, gains cool, small changes grey.
_STEPS = ((-0.45, "#c2410c", "#ffffff"), (-0.25, "#f97316", "#ffffff"), (-0.10, "#fed7aa", "#431407"),
          (0.10, "#f1f5f9", "#334155"), (0.25, "#bfdbfe", "#172554"), (9e9, "#3b82f6", "#ffffff"))


def heat(change: float) -> tuple[str, str]:
    """Background and text colour for a heatmap cell."""
    for bound, background, text in _STEPS:
        if change < bound:
            return background, text
    return _STEPS[-1][1], _STEPS[-1][2]


def legend() -> list[tuple[str, str, str]]:
    """The heatmap's key: colour, text colour, what it means."""
    return [("#c2410c", "#ffffff", "−45 % or less"), ("#f97316", "#ffffff", "−25 to −45 %"),
            ("#fed7aa", "#431407", "−10 to −25 %"), ("#f1f5f9", "#334155", "within 10 %"),
            ("#bfdbfe", "#172554", "+10 to +25 %"), ("#3b82f6", "#ffffff", "+25 % or more")]
