"""Minimal SVG line charts (no plotting dependency; GitHub renders SVG in Markdown).

Example:
    >>> svg = line_chart({"a": [1.0, 0.5, 0.2]}, title="t", x_label="trial", y_label="score")
    >>> svg.startswith("<svg")
    True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape

__all__ = ["PALETTE", "line_chart"]

# Okabe-Ito plus extras: distinguishable, colour-blind friendly.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#000000",
    "#999999",
    "#F0E442",
    "#8C564B",
    "#7F3C8D",
    "#11A579",
)


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step) * step
    out = []
    x = start
    while x <= hi + 1e-9 * step:
        out.append(round(x, 10))
        x += step
    return out


def _log_ticks(lo: float, hi: float) -> list[float]:
    return [10.0**k for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)]


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 1e-3:
        return f"{v:.0e}"
    return f"{v:g}"


def line_chart(
    series: Mapping[str, Sequence[float | None]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    x_values: Sequence[float] | None = None,
    dashed: Sequence[str] = (),
    y_range: tuple[float, float] | None = None,
    log_y: bool = False,
    width: int = 760,
    height: int = 420,
) -> str:
    """An SVG line chart of one or more series sharing the x axis.

    Args:
        series: Label -> y values (``None`` leaves a gap).
        title: Chart title.
        x_label: X axis label.
        y_label: Y axis label.
        x_values: X of each point (default 1, 2, ...).
        dashed: Labels drawn dashed (e.g. the classical baselines).
        y_range: Fixed y range; default: the data's.
        log_y: Logarithmic y axis (values must be positive).
        width: Pixel width.
        height: Pixel height.
    """
    left, right, top, bottom = 64, 190, 36, 48
    pw, ph = width - left - right, height - top - bottom
    n = max((len(v) for v in series.values()), default=0)
    xs = list(x_values) if x_values is not None else [float(i + 1) for i in range(n)]
    finite = [float(y) for ys in series.values() for y in ys if y is not None and math.isfinite(y)]
    if log_y:
        finite = [y for y in finite if y > 0]
    if y_range is not None:
        y_lo, y_hi = y_range
    elif finite:
        y_lo, y_hi = min(finite), max(finite)
    else:
        y_lo, y_hi = 0.0, 1.0
    if log_y:
        y_lo, y_hi = max(y_lo, 1e-12), max(y_hi, y_lo * 10)
        ly_lo, ly_hi = math.floor(math.log10(y_lo)), math.ceil(math.log10(y_hi))
        if ly_hi == ly_lo:
            ly_hi += 1
    elif y_hi == y_lo:
        y_lo, y_hi = y_lo - 0.5, y_hi + 0.5
    x_lo, x_hi = (min(xs), max(xs)) if xs else (0.0, 1.0)
    if x_hi == x_lo:
        x_hi = x_lo + 1

    def px(x: float) -> float:
        return left + (x - x_lo) / (x_hi - x_lo) * pw

    def py(y: float) -> float:
        if log_y:
            t = (math.log10(max(y, 1e-300)) - ly_lo) / (ly_hi - ly_lo)
        else:
            t = (y - y_lo) / (y_hi - y_lo)
        return top + (1 - t) * ph

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif"'
        ' font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left + pw / 2}" y="20" text-anchor="middle" font-size="14"'
        f' font-weight="bold">{escape(title)}</text>',
    ]
    y_ticks = [10.0**k for k in range(ly_lo, ly_hi + 1)] if log_y else _ticks(y_lo, y_hi)
    for t in y_ticks:
        y = py(t)
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="#e5e5e5"/>'
        )
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
    for t in _ticks(x_lo, x_hi, 8):
        x = px(t)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + ph}" stroke="#f0f0f0"/>')
        out.append(f'<text x="{x:.1f}" y="{top + ph + 16}" text-anchor="middle">{_fmt(t)}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
    out.append(
        f'<text x="{left + pw / 2}" y="{height - 10}" text-anchor="middle">{escape(x_label)}</text>'
    )
    out.append(
        f'<text x="16" y="{top + ph / 2}" text-anchor="middle"'
        f' transform="rotate(-90 16 {top + ph / 2})">{escape(y_label)}</text>'
    )
    for i, (label, ys) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        dash = ' stroke-dasharray="6 4"' if label in dashed else ""
        segments: list[list[str]] = [[]]
        for x, yv in zip(xs, ys, strict=False):
            if yv is None or not math.isfinite(yv) or (log_y and yv <= 0):
                segments.append([])
                continue
            yc = yv if log_y else min(max(yv, y_lo), y_hi)
            segments[-1].append(f"{px(x):.1f},{py(yc):.1f}")
        for seg in segments:
            if len(seg) >= 2:
                out.append(
                    f'<polyline fill="none" stroke="{color}" stroke-width="2"{dash}'
                    f' points="{" ".join(seg)}"/>'
                )
            elif len(seg) == 1:
                cx, cy = seg[0].split(",")
                out.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{color}"/>')
        ly = top + 10 + i * 18
        lx = left + pw + 12
        out.append(
            f'<line x1="{lx}" y1="{ly}" x2="{lx + 24}" y2="{ly}" stroke="{color}"'
            f' stroke-width="2"{dash}/>'
        )
        out.append(f'<text x="{lx + 30}" y="{ly + 4}">{escape(label)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
