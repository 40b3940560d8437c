"""Charts for the report pages as inline SVG: line, grouped/stacked bar and Pareto charts.

Pure: the caller passes everything (data, formatted-value functions, ids), nothing is read or counted
here. Each function returns one `<svg>` (Markup) with a `<title>` and a `<desc>` the `aria-labelledby`
points at; every caller text is escaped.

Styling: the marks are drawn in `currentColor`, so without a stylesheet the chart is in the text
colour and still readable in black and white (lines differ by `stroke-dasharray`, bars by a hatch
pattern, values are printed where they fit). The page colours a series by setting `color` on its
class, e.g. `.chart .series-1 { color: var(--accent); }`. Classes: `chart chart-<kind>` on the svg,
`series series-N` (one group per series), `legend`, `grid`, `zero`, `tick`, `x-label`, `value`,
`point`, `bar`, `cumulative` and `threshold` (Pareto) and `empty` (the no-data text).

Ids are `<chart_id>-title`, `<chart_id>-desc`, `<chart_id>-pat-N`: chart_id must be unique on the page.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

SVG_NS = "http://www.w3.org/2000/svg"
WIDTH = 640
HEIGHT = 260
FONT = 11
CHAR_W = 6.2  # a generous average advance at FONT, to decide whether a label fits
MAX_X_LABELS = 30
BAND_H = 22  # per category in horizontal bar charts
DASHES = ("none", "6 3", "2 3", "9 3 2 3", "1 2", "12 4")
HATCHES = ("", "M-1,1L1,-1M0,6L6,0M5,7L7,5", "M0,3H6M3,0V6", "M-1,5L1,7M0,0L6,6M5,-1L7,1", "M3,3h.01", "M0,1.5H6M0,4.5H6")

Format = Callable[[float], str]


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float | None]  # one per x label / category; None: no value in that period


def _percent(p: float) -> str:
    return f"{p:.1f}".rstrip("0").rstrip(".") + " %"


def _n(v: float) -> str:
    s = f"{v:.1f}".removesuffix(".0")
    return "0" if s == "-0" else s


def _w(text: str) -> float:
    return len(text) * CHAR_W


def _sid(chart_id: str) -> str:
    sid = re.sub(r"[^A-Za-z0-9_-]", "-", chart_id)
    if not sid:
        raise ValueError("chart_id must not be empty")
    return sid


def _values(series: Series, n: int) -> list[float | None]:
    """Exactly n values; missing ones and NaN/infinity count as no value."""
    vals = list(series.values[:n]) + [None] * (n - len(series.values))
    return [v if v is not None and math.isfinite(v) else None for v in vals]


def _scale(d0: float, d1: float, r0: float, r1: float) -> Callable[[float], float]:
    k = (r1 - r0) / (d1 - d0)
    return lambda v: r0 + (v - d0) * k


def nice_ticks(lo: float, hi: float) -> list[float]:
    """4 to 6 ticks covering lo..hi, a step of 1, 2, 2.5 or 5 x 10^n apart."""
    mag = max(abs(lo), abs(hi))
    if hi - lo <= max(mag * 1e-6, 1e-12):  # flat data: open a range around it
        pad = mag * 0.1 if mag > 1e-9 else 1.0
        lo, hi = (max(lo - pad, 0.0) if lo >= 0 else lo - pad), hi + pad
    base = 10.0 ** math.floor(math.log10((hi - lo) / 10))  # gives more than 6 ticks: the loop ends
    for mult in (1, 2, 2.5, 5, 10, 20, 25, 50, 100):
        step = base * mult
        first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
        if last - first + 1 <= 6:
            return [float(f"{i * step:.12g}") for i in range(first, last + 1)]
    raise AssertionError("unreachable")  # pragma: no cover


def _svg(sid: str, kind: str, height: float, title: str, desc: str, body: Sequence[str]) -> Markup:
    head = (f'<svg xmlns="{SVG_NS}" class="chart chart-{kind}" viewBox="0 0 {WIDTH} {_n(height)}" width="100%" role="img" '
            f'aria-labelledby="{sid}-title {sid}-desc" font-family="inherit" font-size="{FONT}" fill="currentColor">'
            f'<title id="{sid}-title">{escape(title)}</title><desc id="{sid}-desc">{escape(desc)}</desc>')
    return Markup(head + "".join(body) + "</svg>")


def _empty(sid: str, kind: str, title: str, desc: str, text: str) -> Markup:
    return _svg(sid, kind, 60, title, desc, [f'<text class="empty" x="{WIDTH // 2}" y="34" text-anchor="middle">{escape(text)}</text>'])


def _patterns(sid: str, count: int) -> str:
    """One fill per series: solid for the first, then hatches over a light tint (tells bars apart in print)."""
    out = []
    for i in range(count):
        hatch = HATCHES[i % len(HATCHES)]
        tint = "1" if not hatch else ".25"
        lines = f'<path d="{hatch}" fill="none" stroke="currentColor" stroke-width="1.2" stroke-linecap="round"/>' if hatch else ""
        out.append(f'<pattern id="{sid}-pat-{i}" class="series-{i}" patternUnits="userSpaceOnUse" width="6" height="6">'
                   f'<rect width="6" height="6" fill="currentColor" fill-opacity="{tint}"/>{lines}</pattern>')
    return f"<defs>{''.join(out)}</defs>"


def _legend(names: Sequence[str], swatch: Callable[[int], str], x0: float) -> tuple[list[str], float]:
    """Legend items in rows across the top; returns the markup and the height it takes."""
    parts, x, row = ['<g class="legend">'], x0, 0
    for i, name in enumerate(names):
        width = 22 + _w(name) + 14
        if x + width > WIDTH - 8 and x > x0:
            row, x = row + 1, x0
        parts.append(f'<g class="series-{i}" transform="translate({_n(x)},{_n(12 + 16 * row)})">{swatch(i)}'
                     f'<text x="20" y="4">{escape(name)}</text></g>')
        x += width
    return [*parts, "</g>"], 16.0 * (row + 1)


def _value_grid(ticks: Sequence[float], pos: Callable[[float], float], fmt: Format, a: float, b: float, horizontal: bool) -> list[str]:
    """Grid lines across the plot (from a to b) with the tick labels, and a stronger line at zero."""
    out = []
    for t in ticks:
        p, cls = _n(pos(t)), "grid zero" if t == 0 and ticks[0] < 0 else "grid"
        opacity = ".6" if cls == "grid zero" else ".18"
        if horizontal:
            out.append(f'<line class="{cls}" x1="{p}" x2="{p}" y1="{_n(a)}" y2="{_n(b)}" stroke="currentColor" stroke-opacity="{opacity}"/>'
                       f'<text class="tick" x="{p}" y="{_n(b + 14)}" text-anchor="middle">{escape(fmt(t))}</text>')
        else:
            out.append(f'<line class="{cls}" x1="{_n(a)}" x2="{_n(b)}" y1="{p}" y2="{p}" stroke="currentColor" stroke-opacity="{opacity}"/>'
                       f'<text class="tick" x="{_n(a - 5)}" y="{_n(pos(t) + 4)}" text-anchor="end">{escape(fmt(t))}</text>')
    return out


def _x_labels(labels: Sequence[str], x_of: Callable[[int], float], band: float, y: float, want: int) -> list[str]:
    """Category labels under the plot: every k-th when they would overlap (at most MAX_X_LABELS),
    shortened with an ellipsis (full text as a tooltip) when still too long."""
    n = len(labels)
    want = min(max(len(s) for s in labels), want)
    k = max(1, math.ceil(n / MAX_X_LABELS), math.ceil((want * CHAR_W + 4) / band))
    chars = max(want, int((band * k - 4) / CHAR_W))
    out = []
    for i in range(0, n, k):
        text = labels[i] if len(labels[i]) <= chars else labels[i][: chars - 1] + "…"
        tip = f"<title>{escape(labels[i])}</title>" if text != labels[i] else ""
        out.append(f'<text class="x-label" x="{_n(x_of(i))}" y="{_n(y)}" text-anchor="middle">{escape(text)}{tip}</text>')
    return out


def line_chart(chart_id: str, title: str, desc: str, x_labels: list[str], series: list[Series], *, y_format: Format,
               y_min: float | None = None, empty_text: str = "No data") -> Markup:
    """One line per series over the x labels; a None value breaks the line (no point there).

    The y axis starts at y_min (lower when a value is below it), by default at min(0, smallest value).
    """
    sid, n = _sid(chart_id), len(x_labels)
    rows = [_values(s, n) for s in series]
    data = [v for row in rows for v in row if v is not None]
    if not n or not data:
        return _empty(sid, "line", title, desc, empty_text)
    lo = min(*data, 0.0) if y_min is None else min(*data, y_min)
    ticks = nice_ticks(lo, max(*data, 0.0) if y_min is None else max(data))
    left = 10 + max(_w(y_format(t)) for t in ticks)
    legend, legend_h = ([], 0.0) if len(series) < 2 else _legend([s.name for s in series], lambda i: (
        f'<line x1="0" x2="16" stroke="currentColor" stroke-width="2" stroke-dasharray="{DASHES[i % len(DASHES)]}"/>'), left)
    top, bottom, right = 16 + legend_h, HEIGHT - 26.0, WIDTH - 12.0
    y = _scale(ticks[0], ticks[-1], bottom, top)
    band = (right - left) / n

    def x_of(i: int) -> float:
        return left + band * (i + 0.5)

    body = [*legend, *_value_grid(ticks, y, y_format, left, right, False), *_x_labels(x_labels, x_of, band, bottom + 16, 12)]
    for i, (s, row) in enumerate(zip(series, rows, strict=True)):
        d, prev, points = [], None, []
        for j, v in enumerate(row):
            if v is not None:
                d.append(f"{'L' if prev is not None else 'M'}{_n(x_of(j))},{_n(y(v))}")
                label = y_format(v)
                points.append(f'<circle class="point" cx="{_n(x_of(j))}" cy="{_n(y(v))}" r="3"><title>{escape(s.name)}, '
                              f"{escape(x_labels[j])}: {escape(label)}</title></circle>")
                if len(series) == 1 and _w(label) + 4 <= band:
                    points.append(f'<text class="value" x="{_n(x_of(j))}" y="{_n(y(v) - 7)}" text-anchor="middle">{escape(label)}</text>')
            prev = v
        body.append(f'<g class="series series-{i}"><path d="{"".join(d)}" fill="none" stroke="currentColor" stroke-width="2" '
                    f'stroke-linejoin="round" stroke-dasharray="{DASHES[i % len(DASHES)]}"/>{"".join(points)}</g>')
    return _svg(sid, "line", HEIGHT, title, desc, body)


def bar_chart(chart_id: str, title: str, desc: str, categories: list[str], series: list[Series], *, value_format: Format,
              stacked: bool = False, horizontal: bool = False, empty_text: str = "No data") -> Markup:
    """Bars per category, one per series side by side (grouped) or on top of each other (stacked).

    Grouped bars may be negative (they go below/left of the zero line). Stacked bars add up only
    positive values: a negative value is drawn as 0 (a bar of no size, still in the markup) and left
    out of the total printed on the stack. Horizontal charts are about BAND_H high per category.
    """
    sid, n, m = _sid(chart_id), len(categories), len(series)
    rows = [_values(s, n) for s in series]
    data = [v for row in rows for v in row if v is not None]
    if not n or not data:
        return _empty(sid, "bar", title, desc, empty_text)
    if stacked:
        totals = [sum(max(row[j] or 0.0, 0.0) for row in rows) for j in range(n)]
        ticks = nice_ticks(0.0, max(totals))
    else:
        ticks = nice_ticks(min(*data, 0.0), max(*data, 0.0))
    tick_w = max(_w(value_format(t)) for t in ticks)
    names = [s.name for s in series]
    legend, legend_h = ([], 0.0) if m < 2 else _legend(names, lambda i: (
        f'<rect y="-5" width="14" height="10" fill="url(#{sid}-pat-{i})" stroke="currentColor" stroke-width=".8"/>'), 10)
    top = 16 + legend_h
    if horizontal:
        band = max(float(BAND_H), 10.0 * (1 if stacked else m) + 6)
        label_w = min(max(_w(c) for c in categories), 170.0)
        a0, a1 = 10 + label_w + 6, WIDTH - 12 - max(tick_w / 2, max(_w(value_format(v)) for v in data) + 4)
        c0, height = top, top + n * band + 22
        pos = _scale(ticks[0], ticks[-1], a0, a1)
        body = [*legend, *_value_grid(ticks, pos, value_format, c0, c0 + n * band, True)]
        chars = int(label_w / CHAR_W)
        for j, cat in enumerate(categories):
            text = cat if len(cat) <= chars else cat[: chars - 1] + "…"
            body.append(f'<text class="x-label" x="{_n(a0 - 6)}" y="{_n(c0 + band * (j + 0.5) + 4)}" text-anchor="end">{escape(text)}</text>')
    else:
        band = (WIDTH - 12 - (10 + tick_w)) / n
        a0, a1, c0, height = HEIGHT - 26.0, top, 10 + tick_w, float(HEIGHT)
        pos = _scale(ticks[0], ticks[-1], a0, a1)
        body = [*legend, *_value_grid(ticks, pos, value_format, c0, WIDTH - 12, False),
                *_x_labels(categories, lambda j: c0 + band * (j + 0.5), band, a0 + 16, 6)]
    body.insert(0, _patterns(sid, m))
    group = band * 0.8 if band >= 6 else band
    thick = group if stacked else group / m

    def rect(i: int, start: float, t: float, v0: float, v1: float, tip: str) -> str:
        p0, p1 = pos(v0), pos(v1)
        x, yy, w, h = (min(p0, p1), start, abs(p1 - p0), t) if horizontal else (start, min(p0, p1), t, abs(p1 - p0))
        return (f'<rect class="bar" x="{_n(x)}" y="{_n(yy)}" width="{_n(w)}" height="{_n(h)}" fill="url(#{sid}-pat-{i})" '
                f'stroke="currentColor" stroke-width=".8"><title>{escape(tip)}</title></rect>')

    def value_label(start: float, t: float, v: float, label: str) -> str:
        fits = t >= 10 if horizontal else _w(label) <= t + 4
        if not fits or (horizontal and v < 0 and pos(v) - a0 < _w(label) + 4):
            return ""
        mid, end = _n(start + t / 2), pos(v)
        if horizontal:
            anchor, x = ("start", end + 4) if v >= 0 else ("end", end - 4)
            return f'<text class="value" x="{_n(x)}" y="{_n(start + t / 2 + 4)}" text-anchor="{anchor}">{escape(label)}</text>'
        return f'<text class="value" x="{mid}" y="{_n(end - 4 if v >= 0 else end + 12)}" text-anchor="middle">{escape(label)}</text>'

    base = [0.0] * n
    for i, (s, row) in enumerate(zip(series, rows, strict=True)):
        body.append(f'<g class="series series-{i}">')
        for j, v in enumerate(row):
            if v is None:
                continue
            start = c0 + band * j + (band - group) / 2 + (0 if stacked else thick * i)
            tip = f"{s.name}, {categories[j]}: {value_format(v)}" if m > 1 else f"{categories[j]}: {value_format(v)}"
            if stacked:
                body.append(rect(i, start, thick, base[j], base[j] + max(v, 0.0), tip))
                base[j] += max(v, 0.0)
            else:
                body.append(rect(i, start, thick, 0.0, v, tip) + value_label(start, thick, v, value_format(v)))
        body.append("</g>")
    if stacked:
        for j, total in enumerate(base):
            body.append(value_label(c0 + band * j + (band - group) / 2, thick, total, value_format(total)))
    return _svg(sid, "bar", height, title, desc, body)


def pareto_chart(chart_id: str, title: str, desc: str, labels: list[str], values: list[float], *, value_format: Format,
                 thresholds: tuple[float, ...] = (80, 95), percent_format: Format = _percent, cumulative_name: str = "Cumulative",
                 empty_text: str = "No data") -> Markup:
    """Bars in the order given (the caller sorts them, largest first) and the cumulative share in
    percent on a right-hand 0-100 % axis, with dashed guides at the thresholds (the ABC class limits).

    Negative, missing and non-finite values count as 0. Over MAX_X_LABELS bars the bars lose their
    gaps and value labels and only every k-th is labelled.
    """
    sid = _sid(chart_id)
    vals = [max(v, 0.0) if math.isfinite(v) else 0.0 for v in values[: len(labels)]]
    n, total = len(vals), sum(vals)
    if not n or total <= 0:
        return _empty(sid, "pareto", title, desc, empty_text)
    ticks = nice_ticks(0.0, max(vals))
    left = 10 + max(_w(value_format(t)) for t in ticks)
    right = WIDTH - 12 - max(_w(percent_format(p)) for p in (0, 50, 100))
    top, bottom = 16.0, HEIGHT - 26.0
    y, yp = _scale(ticks[0], ticks[-1], bottom, top), _scale(0, 100, bottom, top)
    band = (right - left) / n
    bar_w = band * 0.8 if n <= MAX_X_LABELS else band * 0.9

    def x_of(i: int) -> float:
        return left + band * (i + 0.5)

    body = [*_value_grid(ticks, y, value_format, left, right, False), *_x_labels(labels[:n], x_of, band, bottom + 16, 6),
            f'<line x1="{_n(right)}" x2="{_n(right)}" y1="{_n(top)}" y2="{_n(bottom)}" stroke="currentColor" stroke-opacity=".6"/>']
    for p in range(0, 101, 20):
        body.append(f'<text class="tick" x="{_n(right + 5)}" y="{_n(yp(p) + 4)}">{escape(percent_format(p))}</text>')
    body.append('<g class="series series-0">')
    for i, v in enumerate(vals):
        label = value_format(v)
        body.append(f'<rect class="bar" x="{_n(x_of(i) - bar_w / 2)}" y="{_n(y(v))}" width="{_n(bar_w)}" height="{_n(bottom - y(v))}" '
                    f'fill="currentColor" fill-opacity=".55"><title>{escape(labels[i])}: {escape(label)}</title></rect>')
        if n <= MAX_X_LABELS and _w(label) <= bar_w + 4:
            body.append(f'<text class="value" x="{_n(x_of(i))}" y="{_n(y(v) - 4)}" text-anchor="middle">{escape(label)}</text>')
    body.append('</g><g class="series series-1 cumulative">')
    running, d, points = 0.0, [], []
    for i, v in enumerate(vals):
        running += v
        share = 100.0 if i == n - 1 else min(running / total * 100, 100.0)
        d.append(f"{'L' if i else 'M'}{_n(x_of(i))},{_n(yp(share))}")
        points.append(f'<circle class="point" cx="{_n(x_of(i))}" cy="{_n(yp(share))}" r="{2.5 if n <= 60 else 1.5}">'
                      f"<title>{escape(cumulative_name)}, {escape(labels[i])}: {escape(percent_format(share))}</title></circle>")
    body.append(f'<path d="{"".join(d)}" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round"/>{"".join(points)}</g>')
    for t in thresholds:
        at = _n(yp(t))
        body.append(f'<g class="threshold"><line x1="{_n(left)}" x2="{_n(right)}" y1="{at}" y2="{at}" stroke="currentColor" stroke-dasharray="5 4"/>'
                    f'<text x="{_n(right - 4)}" y="{_n(yp(t) + 12)}" text-anchor="end">{escape(percent_format(t))}</text></g>')
    return _svg(sid, "pareto", HEIGHT, title, desc, body)
