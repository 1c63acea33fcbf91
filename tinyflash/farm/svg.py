"""Plots as inline SVG written by hand: no JavaScript, no network, nothing to install.

Two kinds: horizontal bars (one metric per job of a night) and a trend line (one job across nights).
"""

from __future__ import annotations

from html import escape
from typing import Optional, Sequence

COLORS = {"normal": "#4a78b5", "regression": "#c0392b", "improvement": "#2e8b57", "missing": "#bbbbbb"}
FONT = 'font-family="sans-serif" font-size="11"'


def _fmt(value: float, unit: str) -> str:
    if unit == "us":
        return f"{value:,.1f} us"
    return f"{value:,.0f}" + (f" {unit}" if unit else "")


def bar_chart(title: str, rows: Sequence[tuple[str, float, str]], *, unit: str = "", width: int = 720) -> str:
    """rows: (label, value, color key). Bars share one scale starting at zero."""
    if not rows:
        return ""
    label_w, value_w, bar_h, gap, top = 230, 110, 16, 6, 28
    plot_w = width - label_w - value_w - 10
    height = top + len(rows) * (bar_h + gap) + 10
    peak = max(v for _, v, _ in rows) or 1.0
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
             f'<title>{escape(title)}</title>',
             f'<text x="4" y="16" {FONT} font-weight="bold">{escape(title)}</text>']
    for i, (label, value, color) in enumerate(rows):
        y = top + i * (bar_h + gap)
        w = max(1.0, plot_w * value / peak)
        parts += [
            f'<text x="{label_w - 6}" y="{y + bar_h - 4}" {FONT} text-anchor="end">{escape(label)}</text>',
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{COLORS.get(color, color)}">'
            f'<title>{escape(label)}: {escape(_fmt(value, unit))}</title></rect>',
            f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 4}" {FONT}>{escape(_fmt(value, unit))}</text>',
        ]
    parts.append("</svg>")
    return "\n".join(parts)


def trend_chart(title: str, points: Sequence[tuple[str, Optional[float]]], *, unit: str = "",
                width: int = 340, height: int = 130, highlight_last: Optional[str] = None) -> str:
    """points: (night id, value or None when the job did not pass that night), oldest first."""
    values = [v for _, v in points if v is not None]
    if not values:
        return ""
    left, right, top, bottom = 70, 12, 24, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    lo, hi = min(values), max(values)
    if hi == lo:
        pad = abs(hi) * 0.05 or 1.0
        lo, hi = lo - pad, hi + pad
    n = len(points)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)
        y = top + plot_h * (1 - (v - lo) / (hi - lo))
        return x, y

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
             f'<title>{escape(title)}</title>',
             f'<text x="4" y="14" {FONT} font-weight="bold">{escape(title)}</text>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#888"/>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#888"/>',
             f'<text x="{left - 4}" y="{top + 8}" {FONT} text-anchor="end">{escape(_fmt(hi, unit))}</text>',
             f'<text x="{left - 4}" y="{top + plot_h}" {FONT} text-anchor="end">{escape(_fmt(lo, unit))}</text>',
             f'<text x="{left}" y="{height - 8}" {FONT}>{escape(points[0][0])}</text>',
             f'<text x="{left + plot_w}" y="{height - 8}" {FONT} text-anchor="end">{escape(points[-1][0])}</text>']
    segment: list[str] = []
    for i, (night, v) in enumerate(points):
        if v is None:
            if len(segment) > 1:
                parts.append(f'<polyline fill="none" stroke="{COLORS["normal"]}" stroke-width="1.5" '
                             f'points="{" ".join(segment)}"/>')
            segment = []
            continue
        x, y = xy(i, v)
        segment.append(f"{x:.1f},{y:.1f}")
    if len(segment) > 1:
        parts.append(f'<polyline fill="none" stroke="{COLORS["normal"]}" stroke-width="1.5" '
                     f'points="{" ".join(segment)}"/>')
    for i, (night, v) in enumerate(points):
        if v is None:
            x = left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)
            parts.append(f'<text x="{x:.1f}" y="{top + plot_h - 2}" {FONT} fill="{COLORS["regression"]}" '
                         f'text-anchor="middle">x<title>{escape(night)}: no result</title></text>')
            continue
        x, y = xy(i, v)
        color = COLORS.get(highlight_last or "normal", COLORS["normal"]) if i == n - 1 else COLORS["normal"]
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}">'
                     f'<title>{escape(night)}: {escape(_fmt(v, unit))}</title></circle>')
    parts.append("</svg>")
    return "\n".join(parts)
