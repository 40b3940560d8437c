"""The four sales factors, computed by hand on small examples (no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.reports import rules as metrics
from portal.reports.rules import Period

MARCH = Period(dt.date(2025, 3, 1), dt.date(2025, 3, 30))  # 30 days
BEFORE = Period(dt.date(2025, 1, 30), dt.date(2025, 2, 28))  # the 30 days before


def inv(day: int, client: int, total: int, currency: str = "RON", order: int | None = None, stage: str | None = None,
        month: int = 3, **extra) -> dict:
    return {"issue_date": dt.date(2025, month, day), "client": client, "currency": currency, "total_minor": total,
            "order": order, "order_stage": stage, **extra}


CURRENT = [
    inv(2, client=1, total=100_000, order=11, stage="in_production"),
    inv(5, client=1, total=50_000, order=12, stage="spec_sent"),
    inv(9, client=2, total=20_000, currency="EUR", order=13, stage="delivered"),
    inv(30, client=2, total=30_001, currency="EUR"),  # no order: not part of conversion
]
NOT_SALES = [
    inv(10, client=3, total=99_999, order=14, stage="closed", status="cancelled"),
    inv(11, client=3, total=-5_000, kind="credit_note"),
    inv(31, client=4, total=77_777),  # the day after the period
]
PREVIOUS = [
    inv(28, client=1, total=60_000, order=21, stage="closed", month=2),
    inv(1, client=1, total=40_000, order=22, stage="request", month=2),
]


def test_the_previous_period_has_the_same_length_and_ends_the_day_before():
    assert MARCH.days == 30
    assert MARCH.previous() == BEFORE
    assert metrics.query_range(MARCH) == (dt.date(2025, 1, 30), dt.date(2025, 3, 30))
    assert metrics.default_period(dt.date(2025, 3, 30)) == MARCH


def test_four_invoices_two_of_three_orders_in_production_two_clients():
    f = metrics.sales_figures(CURRENT + NOT_SALES + PREVIOUS, MARCH)
    assert f.invoices == 4
    assert (f.converted, f.with_order) == (2, 3)
    assert f.conversion == pytest.approx(2 / 3)  # 66.7 %
    assert f.clients == 2 and f.repeat == 2.0
    # one average per currency, never added across currencies; half a minor unit rounds up
    assert f.averages == {"EUR": 25_001, "RON": 75_000}
    assert f.totals == {"RON": 150_000, "EUR": 50_001}


def test_each_factor_against_the_previous_period():
    c = metrics.compare(CURRENT + NOT_SALES + PREVIOUS, MARCH)
    assert c.previous.invoices == 2 and c.previous.conversion == 0.5 and c.previous.repeat == 2.0
    assert c.invoices_change == pytest.approx(100.0)  # 4 against 2
    assert c.conversion_change == pytest.approx(33.333, abs=0.01)  # 66.7 % against 50 %
    assert c.repeat_change == pytest.approx(0.0)  # 2.0 against 2.0
    assert c.average_changes["RON"] == pytest.approx(50.0)  # 75 000 against 50 000
    assert c.average_changes["EUR"] is None  # no EUR invoice before: nothing to compare


def test_a_fall_is_negative():
    c = metrics.compare([*PREVIOUS, inv(3, client=1, total=40000, order=31, stage="layout")], MARCH)
    assert c.invoices_change == pytest.approx(-50.0)
    assert c.conversion_change == pytest.approx(-100.0)  # 0 of 1 against 1 of 2
    assert c.average_changes == {"RON": pytest.approx(-20.0)}  # 40 000 against 50 000


def test_nothing_to_divide_by():
    empty = metrics.compare([], MARCH)
    f = empty.current
    assert f.invoices == 0 and f.conversion is None and f.repeat is None and f.averages == {}
    assert empty.invoices_change is None and empty.conversion_change is None and empty.repeat_change is None
    assert empty.average_changes == {}
    # invoices now, none before: no percentage against zero
    first = metrics.compare([inv(2, client=1, total=100)], MARCH)
    assert first.invoices_change is None and first.current.conversion is None  # no invoice had an order
    # invoices before, none now: a fall of 100 %, conversion not comparable
    gone = metrics.compare(PREVIOUS, MARCH)
    assert gone.invoices_change == pytest.approx(-100.0)
    assert gone.conversion_change is None and gone.repeat_change is None


def test_change_pct():
    assert metrics.change_pct(3, 2) == pytest.approx(50.0)
    assert metrics.change_pct(1, 2) == pytest.approx(-50.0)
    assert metrics.change_pct(5, 0) is None
    assert metrics.change_pct(None, 2) is None and metrics.change_pct(2, None) is None


def test_the_period_a_person_types():
    today = dt.date(2025, 3, 30)
    assert metrics.parse_period("", "", today) == (MARCH, {})
    assert metrics.parse_period("2025-03-01", "2025-03-30", today) == (MARCH, {})
    assert metrics.parse_period("", "2025-02-28", today) == (BEFORE, {})  # 30 days up to the end
    period, errors = metrics.parse_period("2025-13-01", "", today)
    assert period == MARCH and errors == {"from": "Enter a date such as 30/03/2025."}
    period, errors = metrics.parse_period("2025-03-30", "2025-03-01", today)
    assert period == MARCH and errors == {"from": "The start must not be after the end."}
    one_day, errors = metrics.parse_period("2025-03-05", "2025-03-05", today)
    assert one_day.days == 1 and one_day.previous() == Period(dt.date(2025, 3, 4), dt.date(2025, 3, 4)) and not errors
