"""The SVG charts, read back as XML the way a reader would look at them (no database)."""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings, strategies as st
from markupsafe import Markup

from portal.reports.charts import Series, bar_chart, line_chart, nice_ticks, pareto_chart

NS = "{http://www.w3.org/2000/svg}"
HOSTILE = '<b>&"x"'
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun"]


def days(v: float) -> str:
    return f"{v:g} d"


def money(v: float) -> str:
    return f"{v:,.0f} RON"


def parse(markup: Markup) -> ET.Element:
    assert isinstance(markup, Markup)
    root = ET.fromstring(str(markup))
    assert root.tag == f"{NS}svg"
    return root


def find(root: ET.Element, tag: str, cls: str | None = None) -> list[ET.Element]:
    return [e for e in root.iter(f"{NS}{tag}") if cls is None or cls in (e.get("class") or "").split()]


def texts(root: ET.Element, cls: str) -> list[str]:
    return ["".join(e.itertext()) if e.find(f"{NS}title") is None else (e.text or "") for e in find(root, "text", cls)]


def tip(e: ET.Element) -> str:
    title = e.find(f"{NS}title")
    assert title is not None
    return title.text or ""


def grid_span(root: ET.Element) -> tuple[float, float]:
    ys = [float(line.get("y1", "nan")) for line in find(root, "line", "grid")]
    return min(ys), max(ys)


def dso() -> Markup:
    return line_chart("dso", "Days sales outstanding", "DSO from 41 to 37 days", MONTHS,
                      [Series("DSO", [41, 40, None, 39, 38, 37])], y_format=days, y_min=30)


def test_svg_is_labelled_by_its_title_and_description():
    root = parse(dso())
    assert root.get("viewBox") == "0 0 640 260" and root.get("width") == "100%" and root.get("role") == "img"
    assert root.get("font-family") == "inherit" and 11 <= float(root.get("font-size", "0")) <= 12
    ids = {e.get("id"): e for e in root.iter() if e.get("id")}
    title_id, desc_id = (root.get("aria-labelledby") or "").split()
    assert ids[title_id].tag == f"{NS}title" and ids[title_id].text == "Days sales outstanding"
    assert ids[desc_id].tag == f"{NS}desc" and ids[desc_id].text == "DSO from 41 to 37 days"


def test_line_has_a_point_per_value_and_breaks_at_none():
    root = parse(dso())
    points = find(root, "circle", "point")
    assert len(points) == 5
    assert [tip(p) for p in points][:2] == ["DSO, Jan: 41 d", "DSO, Feb: 40 d"]
    (path,) = find(root, "path")
    assert path.get("d", "").count("M") == 2
    assert len(texts(root, "value")) == 5  # one series with room: the values are printed


def test_y_ticks_are_nice_and_formatted_with_y_format():
    root = parse(dso())
    labels = texts(root, "tick")
    assert 4 <= len(labels) <= 6 and all(label.endswith(" d") for label in labels)
    values = [float(label.removesuffix(" d")) for label in labels]
    assert values[0] == 30 and values[-1] >= 41
    step = values[1] - values[0]
    assert all(math.isclose(b - a, step) for a, b in itertools.pairwise(values))
    low, high = grid_span(root)
    assert all(low <= float(p.get("cy", "nan")) <= high for p in find(root, "circle"))


def test_y_axis_starts_at_zero_or_below_the_data_by_default():
    up = parse(line_chart("a", "t", "d", MONTHS[:3], [Series("s", [5, 7, 9])], y_format=str))
    assert texts(up, "tick")[0] == "0.0"
    down = parse(line_chart("b", "t", "d", MONTHS[:3], [Series("s", [-12, 3, 9])], y_format=str))
    assert float(texts(down, "tick")[0]) <= -12 and find(down, "line", "zero")


@pytest.mark.parametrize("lo, hi", [(0, 1), (0, 1.1), (0, 7), (-3, 41), (30, 41), (0, 123_456), (-0.004, 0.002), (5, 5), (0, 0)])
def test_nice_ticks(lo, hi):
    ticks = nice_ticks(lo, hi)
    assert 4 <= len(ticks) <= 6 and ticks[0] <= lo and ticks[-1] >= hi
    step = ticks[1] - ticks[0]
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(math.isclose(mantissa, m) for m in (1, 2, 2.5, 5))


def test_hostile_text_is_escaped_everywhere():
    hostile = Series(HOSTILE, [1, None])
    outputs = [
        line_chart("x", HOSTILE, HOSTILE, [HOSTILE, "b"], [hostile, Series("y", [2, 3])], y_format=lambda v: HOSTILE),
        bar_chart("x", HOSTILE, HOSTILE, [HOSTILE, "b"], [hostile, Series("y", [2, 3])], value_format=lambda v: HOSTILE),
        bar_chart("x", HOSTILE, HOSTILE, [HOSTILE, "b"], [hostile], value_format=lambda v: HOSTILE, horizontal=True),
        pareto_chart("x", HOSTILE, HOSTILE, [HOSTILE], [1.0], value_format=lambda v: HOSTILE, cumulative_name=HOSTILE),
        line_chart("x", HOSTILE, HOSTILE, [], [], y_format=str, empty_text=HOSTILE),
    ]
    for markup in outputs:
        assert "<b>" not in markup and "&lt;b&gt;&amp;" in markup
        root = parse(markup)
        assert root.find(f"{NS}title").text == HOSTILE  # type: ignore[union-attr]
        assert HOSTILE in {"".join(e.itertext()) for e in root.iter(f"{NS}text")} | {e.text for e in root.iter(f"{NS}title")}


def test_legend_only_with_more_than_one_series_and_lines_differ_in_black_and_white():
    one = parse(dso())
    assert not find(one, "g", "legend")
    two = parse(line_chart("two", "t", "d", MONTHS[:3], [Series("RON", [1, 2, 3]), Series("EUR", [3, 2, 1]), Series("USD", [2, 2, 2])],
                           y_format=str))
    (legend,) = find(two, "g", "legend")
    assert ["".join(e.itertext()) for e in legend.iter(f"{NS}text")] == ["RON", "EUR", "USD"]
    paths = [g.find(f"{NS}path") for g in find(two, "g", "series")]
    assert [g.get("class") for g in find(two, "g", "series")] == ["series series-0", "series series-1", "series series-2"]
    assert len({p.get("stroke-dasharray") for p in paths if p is not None}) == 3
    assert not texts(two, "value")  # several series: no value labels on the points


def test_empty_data_shows_the_empty_text():
    cases = [
        line_chart("e", "t", "d", [], [], y_format=str),
        line_chart("e", "t", "d", MONTHS, [Series("s", [None] * 6)], y_format=str),
        bar_chart("e", "t", "d", [], [Series("s", [])], value_format=str),
        bar_chart("e", "t", "d", ["a"], [Series("s", [None])], value_format=str, horizontal=True),
        pareto_chart("e", "t", "d", [], [], value_format=str),
        pareto_chart("e", "t", "d", ["a", "b"], [0, 0], value_format=str),
    ]
    for markup in cases:
        root = parse(markup)
        assert texts(root, "empty") == ["No data"] and not find(root, "rect") and not find(root, "circle")
    assert texts(parse(line_chart("e", "t", "d", [], [], y_format=str, empty_text="Nimic")), "empty") == ["Nimic"]


def test_grouped_bars_one_rect_per_value_negative_below_zero():
    root = parse(bar_chart("sales", "Sales", "d", ["North", "South", "East"], [Series("2024", [10, -4, None]), Series("2025", [12, 3, 5])],
                           value_format=money))
    bars = find(root, "rect", "bar")
    assert len(bars) == 5
    assert tip(bars[1]) == "2024, South: -4 RON"
    (zero,) = find(root, "line", "zero")
    zero_y = float(zero.get("y1", "nan"))
    assert float(bars[1].get("y", "nan")) == pytest.approx(zero_y, abs=0.1)  # hangs from the zero line
    assert float(bars[0].get("y", "nan")) + float(bars[0].get("height", "nan")) == pytest.approx(zero_y, abs=0.1)
    fills = {b.get("fill") for b in bars}
    assert fills == {"url(#sales-pat-0)", "url(#sales-pat-1)"}  # a pattern per series (black and white)
    assert "12 RON" in texts(root, "value") and find(root, "g", "legend")


def test_stacked_bars_stack_and_clamp_negatives():
    root = parse(bar_chart("st", "t", "d", ["Q1", "Q2"], [Series("A", [10, 5]), Series("B", [6, -5])], value_format=money, stacked=True))
    a1, _a2, b1, b2 = find(root, "rect", "bar")
    assert float(b1.get("y", "nan")) + float(b1.get("height", "nan")) == pytest.approx(float(a1.get("y", "nan")), abs=0.1)
    assert float(b2.get("height", "nan")) == 0 and tip(b2) == "B, Q2: -5 RON"  # drawn as 0, the tooltip says the value
    assert texts(root, "value") == ["16 RON", "5 RON"]  # stack totals


def test_horizontal_bars_grow_with_the_categories():
    def height(n: int) -> float:
        root = parse(bar_chart("h", "t", "d", [f"Client {i}" for i in range(n)], [Series("s", [float(i) for i in range(n)])],
                               value_format=money, horizontal=True))
        assert len(find(root, "rect", "bar")) == n and len(texts(root, "x-label")) == n
        return float(root.get("viewBox", "").split()[3])

    assert 18 * 10 <= height(20) - height(10) <= 26 * 10


def test_pareto_cumulative_reaches_100_percent_with_thresholds():
    values = [50.0, 30, 10, 6, 4]
    root = parse(pareto_chart("abc", "ABC", "d", ["A", "B", "C", "D", "E"], values, value_format=money))
    assert len(find(root, "rect", "bar")) == 5
    points = find(root, "circle", "point")
    assert [tip(p) for p in points] == ["Cumulative, A: 50 %", "Cumulative, B: 80 %", "Cumulative, C: 90 %", "Cumulative, D: 96 %",
                                        "Cumulative, E: 100 %"]
    ticks = find(root, "text", "tick")
    top_y = next(float(t.get("y", "nan")) - 4 for t in ticks if t.text == "100 %")
    assert float(points[-1].get("cy", "nan")) == pytest.approx(top_y, abs=0.1)
    guides = find(root, "g", "threshold")
    assert ["".join(g.itertext()) for g in guides] == ["80 %", "95 %"]
    assert all(g.find(f"{NS}line").get("stroke-dasharray") for g in guides)  # type: ignore[union-attr]


def test_pareto_with_hundreds_of_clients_thins_its_labels():
    n = 200
    root = parse(pareto_chart("many", "t", "d", [f"Client {i}" for i in range(n)], [1000 / (i + 1) for i in range(n)], value_format=money))
    assert len(find(root, "rect", "bar")) == n and len(find(root, "circle", "point")) == n
    labels = find(root, "text", "x-label")
    assert 0 < len(labels) < 35 and not texts(root, "value")
    assert labels[0].text == "Client 0" or tip(labels[0]) == "Client 0"


def test_x_labels_thin_out_on_long_line_charts():
    labels = [f"2025-{i:03d}" for i in range(60)]
    root = parse(line_chart("long", "t", "d", labels, [Series("s", [float(i) for i in range(60)])], y_format=str))
    shown = texts(root, "x-label")
    assert 2 <= len(shown) <= 12 and shown[0] == "2025-000" and set(shown) <= set(labels)


def test_ids_unique_and_prefixed_with_the_sanitised_chart_id():
    root = parse(bar_chart('sales chart/2025"<', "t", "d", ["a", "b"], [Series("x", [1, 2]), Series("y", [2, 1])], value_format=str))
    ids = [e.get("id") or "" for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids)) >= 4 and all(i.startswith("sales-chart-2025---") for i in ids)
    with pytest.raises(ValueError):
        line_chart("", "t", "d", ["a"], [Series("s", [1])], y_format=str)


def test_coordinates_have_at_most_one_decimal():
    markup = str(line_chart("r", "t", "d", MONTHS, [Series("s", [1 / 3, 2 / 7, None, 5 / 9, 1.0, 0.1])], y_format=lambda v: f"{v:.3f}"))
    numbers = re.findall(r' (?:cx|cy|x|y|x1|x2|y1|y2|width|height|d|transform)="([^"]*)"', markup)
    assert numbers and all(re.fullmatch(r"(-?\d+(\.\d)?)", n) for field in numbers for n in re.findall(r"-?[\d.]+", field))


values = st.lists(st.one_of(st.none(), st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)), min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(values, min_size=1, max_size=4), y_min=st.one_of(st.none(), st.floats(min_value=-1e9, max_value=1e9)))
def test_line_chart_is_well_formed_and_points_stay_in_the_plot(rows, y_min):
    labels = [f"P{i}" for i in range(max(len(r) for r in rows))]
    markup = line_chart("prop", "t", "d", labels, [Series(f"s{i}", r) for i, r in enumerate(rows)], y_format=lambda v: f"{v:.4g}", y_min=y_min)
    root = parse(markup)
    points = find(root, "circle", "point")
    assert len(points) == sum(v is not None for r in rows for v in r)
    if points:
        low, high = grid_span(root)
        assert all(low - 0.1 <= float(p.get("cy", "nan")) <= high + 0.1 for p in points)
        assert all(0 <= float(p.get("cx", "nan")) <= 640 for p in points)
    else:
        assert texts(root, "empty") == ["No data"]
