"""The over-time chart as inline SVG geometry, computed here and drawn by a template.

Bars: the acknowledgement rate of each check (left axis, 0–100 %). Line and
dots: the median response time (right axis, hours, scaled to a round maximum).
No script and no style attributes: colours come from classes in
``static/contacts/contacts.css``, so the chart passes the strict CSP.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from .stats import CheckFigures, duration

WIDTH, HEIGHT = 720, 320
LEFT, RIGHT, TOP, BOTTOM = 56, 64, 20, 64
NICE_HOURS = [1, 2, 4, 6, 12, 24, 48, 72, 96, 120, 168, 336, 720]


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass
class Point:
    x: float
    y: float
    title: str


@dataclass
class Tick:
    y: float
    label: str


@dataclass
class XLabel:
    x: float
    y: float
    label: str


@dataclass
class Chart:
    width: int
    height: int
    left: int
    right: float
    top: int
    bottom: float
    bars: list[Bar]
    points: list[Point]
    line: str  # the polyline's "points" attribute
    rate_ticks: list[Tick]
    hour_ticks: list[Tick]
    labels: list[XLabel]
    hours_max: int
    description: str


def _nice_max(hours: float) -> int:
    for nice in NICE_HOURS:
        if hours <= nice:
            return nice
    return int(hours) + 1


def build(series: list[CheckFigures]) -> Chart | None:
    """None when there is nothing to draw."""
    if not series:
        return None
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    bottom = TOP + plot_h
    band = plot_w / len(series)
    bar_w = max(4.0, min(48.0, band * 0.6))
    medians = [f.median_seconds for f in series]
    hours_max = _nice_max(max([m / 3600 for m in medians if m is not None], default=1.0))
    bars, points = [], []
    labels = []
    for i, figures in enumerate(series):
        centre = LEFT + band * (i + 0.5)
        rate = figures.rate or 0.0
        day = timezone.localtime(figures.check.created_at).strftime("%Y-%m-%d")
        height = plot_h * rate
        bars.append(
            Bar(
                x=round(centre - bar_w / 2, 1),
                y=round(bottom - height, 1),
                width=round(bar_w, 1),
                height=round(height, 1),
                title=f"{day}: {rate:.0%} acknowledged ({figures.acknowledged} of {figures.sent})",
            )
        )
        median = figures.median_seconds
        if median is not None:
            y = bottom - plot_h * min(1.0, median / 3600 / hours_max)
            points.append(Point(round(centre, 1), round(y, 1), f"{day}: median {duration(median)}"))
        labels.append(XLabel(round(centre, 1), bottom + 14, day))
    rate_ticks = [Tick(round(bottom - plot_h * q / 4, 1), f"{q * 25}%") for q in range(5)]
    hour_ticks = [
        Tick(round(bottom - plot_h * q / 4, 1), _hours(hours_max * q / 4)) for q in range(5)
    ]
    last = series[-1]
    description = (
        f"{len(series)} checks; the latest reached {last.acknowledged} of {last.sent} "
        f"contacts ({(last.rate or 0):.0%}), median response {duration(last.median_seconds)}."
    )
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=WIDTH - RIGHT,
        top=TOP,
        bottom=bottom,
        bars=bars,
        points=points,
        line=" ".join(f"{p.x},{p.y}" for p in points),
        rate_ticks=rate_ticks,
        hour_ticks=hour_ticks,
        labels=labels,
        hours_max=hours_max,
        description=description,
    )


def _hours(value: float) -> str:
    return f"{value:g} h"
