"""Small bar charts as server-rendered SVG: no JavaScript, no charting library to pin.

A chart is a row of days, each a stack of bars (one per series). Every bar carries a
``<title>`` so hovering shows the exact number, and the chart's ``aria-label`` sums it up for
screen readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 640, 180
LEFT, BOTTOM, TOP = 36, 22, 10


@dataclass(frozen=True)
class Series:
    name: str
    color: str
    values: Sequence[int]


def stacked_bars(title: str, labels: Sequence[str], series: Sequence[Series]) -> Markup:
    """An SVG of one stacked bar per label (day); heights scale to the tallest stack."""
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    top = _nice_max(max(totals, default=0))
    plot_h = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT) / max(len(labels), 1)
    parts = [_axis(top, plot_h)]
    for i, label in enumerate(labels):
        x = LEFT + i * slot + slot * 0.15
        base: float = HEIGHT - BOTTOM
        for s in series:
            value = s.values[i]
            if value:
                h = plot_h * value / top
                base -= h
                parts.append(
                    f'<rect x="{x:.1f}" y="{base:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" '
                    f'fill="{s.color}"><title>{escape(label)}: {value} {escape(s.name)}</title>'
                    "</rect>"
                )
        if i % max(1, len(labels) // 7) == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - 6}" font-size="10">{escape(label[5:])}</text>'
            )
    summary = ", ".join(f"{s.name} {sum(s.values)}" for s in series)
    label_text = escape(f"{title}: {summary} over {len(labels)} days")
    legend = "".join(
        f'<span class="legend"><i style="background:{s.color}"></i>{escape(s.name)}</span>'
        for s in series
    )
    svg = (
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-label="{label_text}" class="chart">{"".join(parts)}</svg>'
    )
    return Markup(f"<figure><figcaption>{escape(title)} {legend}</figcaption>{svg}</figure>")  # noqa: S704


def _axis(top: int, plot_h: float) -> str:
    y0 = HEIGHT - BOTTOM
    return (
        f'<line x1="{LEFT}" y1="{y0}" x2="{WIDTH}" y2="{y0}" stroke="#999"/>'
        f'<line x1="{LEFT}" y1="{TOP}" x2="{WIDTH}" y2="{TOP}" stroke="#eee"/>'
        f'<text x="0" y="{TOP + 4}" font-size="10">{top}</text>'
        f'<text x="0" y="{y0}" font-size="10">0</text>'
    )


def _nice_max(value: int) -> int:
    """The axis top: the value rounded up to 1, 2 or 5 times a power of ten (at least 1)."""
    if value <= 1:
        return 1
    magnitude = 1
    while magnitude * 10 < value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude
