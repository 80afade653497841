"""The operator's chart: the last half hour of people inside, people waiting and the
admission rate, sampled by each process's admission rounds from the shared figures, and
drawn as an SVG on the server (no script needed to read it)."""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

from markupsafe import Markup, escape

SAMPLE_EVERY_S = 10.0
KEPT = 180  # 30 minutes


class Sample(NamedTuple):
    at: float
    active: int
    capacity: int
    waiting: int
    rate_per_s: float


class GateSamples:
    """A ring of recent samples, at most one per ``every_s``."""

    def __init__(self, *, every_s: float = SAMPLE_EVERY_S, kept: int = KEPT) -> None:
        self.every_s = every_s
        self.samples: deque[Sample] = deque(maxlen=kept)

    def record(self, sample: Sample) -> None:
        if not self.samples or sample.at - self.samples[-1].at >= self.every_s:
            self.samples.append(sample)

    def recent(self) -> list[Sample]:
        return list(self.samples)


WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 220, 48, 24, 36  # TOP: the legend's band


def _points(values: list[float], top: float, first: float, span: float, at: list[float]) -> str:
    plot_width = WIDTH - LEFT - 8
    plot_height = HEIGHT - BOTTOM - TOP
    return " ".join(
        f"{LEFT + plot_width * (moment - first) / span:.1f},"
        f"{TOP + plot_height * (1 - (value / top if top else 0)):.1f}"
        for moment, value in zip(at, values, strict=True)
    )


def _nice_top(value: float) -> float:
    """A round axis maximum at or above ``value``: 1, 2, 5, 10, 20, 50…"""
    top = 1.0
    while top < value:
        for step in (2, 2.5, 2):
            top *= step
            if top >= value:
                break
    return top


def chart_svg(samples: list[Sample], *, title: str, labels: dict[str, str]) -> Markup:
    """Two charts in one SVG: people inside and waiting (one axis, with the capacity as a
    dotted line), and admissions per second below. Lines differ by dash as well as colour."""
    if len(samples) < 2:
        return Markup('<p class="hint">{}</p>').format(labels["empty"])
    at = [sample.at for sample in samples]
    first, span = at[0], max(at[-1] - at[0], 1.0)
    people_top = _nice_top(
        max(*(s.active for s in samples), *(s.waiting for s in samples), samples[-1].capacity)
    )
    rate_top = _nice_top(max(s.rate_per_s for s in samples))
    minutes = round(span / 60)
    ago = (
        labels["ago"].format(minutes=minutes)
        if minutes
        else labels["ago_seconds"].format(seconds=round(span))
    )
    parts = [
        f'<svg class="gate-chart" viewBox="0 0 {WIDTH} {HEIGHT * 2}" role="img" '
        f'aria-labelledby="gate-chart-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="gate-chart-title">{escape(title)}</title>',
    ]
    for offset, top, series in (
        (
            0,
            people_top,
            [
                ("active", [float(s.active) for s in samples], "#0b5cad", ""),
                ("waiting", [float(s.waiting) for s in samples], "#a4262c", "6 4"),
                ("capacity", [float(s.capacity) for s in samples], "#57606a", "2 4"),
            ],
        ),
        (HEIGHT, rate_top, [("rate", [s.rate_per_s for s in samples], "#1a7f37", "")]),
    ):
        parts.append(f'<g transform="translate(0 {offset})">')
        parts.append(
            f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - 8}" y2="{HEIGHT - BOTTOM}" '
            'stroke="#8c959f"/>'
            f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" stroke="#8c959f"/>'
            f'<text x="{LEFT - 4}" y="{TOP + 10}" text-anchor="end" font-size="15">'
            f"{top:g}</text>"
            f'<text x="{LEFT - 4}" y="{HEIGHT - BOTTOM}" text-anchor="end" font-size="15">0</text>'
            f'<text x="{LEFT}" y="{HEIGHT - 6}" font-size="15">'
            f"{escape(ago)}</text>"
            f'<text x="{WIDTH - 8}" y="{HEIGHT - 6}" text-anchor="end" font-size="15">'
            f"{escape(labels['now'])}</text>"
        )
        for row, (name, values, colour, dash) in enumerate(series):
            dashes = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dashes} '
                f'points="{_points(values, top, first, span, at)}"/>'
            )
            legend_x = LEFT + row * 190
            parts.append(
                f'<line x1="{legend_x}" y1="14" x2="{legend_x + 24}" y2="14" '
                f'stroke="{colour}" stroke-width="2"{dashes}/>'
                f'<text x="{legend_x + 30}" y="19" font-size="15">'
                f"{escape(labels[name])}: {values[-1]:g}</text>"
            )
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - built from numbers and escaped labels only
