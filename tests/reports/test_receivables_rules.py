"""The receivables formulas as pure functions: hand-computed cases, and properties that must hold
for any data (the aging buckets sum to the open balance, CEI stays within 0..100, the ABC classes
partition the clients)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, strategies as st

from portal.reports.abc import rules as abc
from portal.reports.receivables import rules

D = dt.date


@pytest.mark.parametrize(("days", "bucket"), [(-5, "not_due"), (0, "not_due"), (1, "d1_30"), (30, "d1_30"), (31, "d31_60"),
                                              (60, "d31_60"), (61, "d61_90"), (90, "d61_90"), (91, "d91_180"), (180, "d91_180"),
                                              (181, "over_180"), (4000, "over_180")])
def test_the_bucket_edges(days, bucket):
    assert rules.bucket_of(days) == bucket


def test_a_balance_on_a_day_counts_the_payments_received_by_its_end():
    item = rules.Receivable(1, 1, "RON", D(2025, 3, 10), D(2025, 4, 9), 100_000, D(2025, 5, 25),
                            ((D(2025, 4, 20), 40_000), (D(2025, 5, 25), 60_000)))
    assert item.balance_on(D(2025, 3, 9)) == 0  # not issued yet
    assert item.balance_on(D(2025, 4, 19)) == 100_000
    assert item.balance_on(D(2025, 4, 20)) == 60_000
    assert item.balance_on(D(2025, 5, 25)) == 0  # settled that day
    found = rules.aging([item], D(2025, 4, 30))["RON"]
    assert found.amounts["d1_30"] == 60_000 and found.total == 60_000 and found.invoices == 1
    assert found.overdue_days_minor == 60_000 * 21 and found.days_late == 21


def test_count_back_dso_uses_whole_months_then_a_share_of_the_last():
    # 150 open; this month's sales 100 (31 days) are used up, then half of last month's 100 (30 days)
    assert rules.dso_count_back(150, [(100, 31), (100, 30)]) == rules.CountBack(46.0, True)
    # a month without sales adds its days and goes on
    assert rules.dso_count_back(50, [(0, 31), (100, 30)]) == rules.CountBack(46.0, True)
    # more open than the months' sales: at least all their days
    assert rules.dso_count_back(250, [(100, 31), (100, 30)]) == rules.CountBack(61.0, False)
    assert rules.dso_count_back(0, [(100, 31)]) == rules.CountBack(0.0, True)


def test_simple_dso_cei_and_add_by_hand():
    assert rules.dso_simple(150, 100, 31) == pytest.approx(46.5)
    assert rules.dso_simple(150, 0, 31) is None
    # begin 200 + sales 100 = 300 collectable at most; 150 still open of which 50 not due: (300-150)/(300-50)
    assert rules.cei(200, 100, 150, 50) == pytest.approx(60.0)
    assert rules.cei(0, 0, 0, 0) is None
    months = [rules.Month(D(2025, 1, 1), 31, 100, 0, 100, 100), rules.Month(D(2025, 2, 1), 28, 100, 100, 150, 50)]
    january, february = rules.collection(months)
    assert january.dso == pytest.approx(31.0) and january.best_dso == pytest.approx(31.0) and january.add == pytest.approx(0.0)
    # February: 150 open = Feb's 100 (28 days) + half of January's (15.5) -> 43.5; not due 50 -> half of February: 14
    assert february.dso == pytest.approx(43.5) and february.best_dso == pytest.approx(14.0) and february.add == pytest.approx(29.5)
    assert february.cei == pytest.approx((100 + 100 - 150) / (100 + 100 - 50) * 100)
    assert february.dso_simple == pytest.approx(150 / 100 * 28)


def test_a_month_with_nothing_has_no_figures():
    empty, = rules.collection([rules.Month(D(2025, 1, 1), 31, 0, 0, 0, 0)])
    assert empty.dso is None and empty.cei is None and empty.add is None


def test_months_and_their_days():
    assert rules.months_between(D(2025, 11, 20), D(2026, 2, 3)) == [D(2025, 11, 1), D(2025, 12, 1), D(2026, 1, 1), D(2026, 2, 1)]
    assert rules.add_months(D(2025, 1, 1), -1) == D(2024, 12, 1)
    assert rules.days_in(D(2024, 2, 1)) == 29
    assert rules.days_in(D(2025, 6, 1), as_of=D(2025, 6, 15)) == 15


receivable = st.builds(
    lambda inv, client, cur, issued, terms, total, settle_after, payments: rules.Receivable(
        inv, client, cur, issued, issued + dt.timedelta(days=terms), total,
        None if settle_after is None else issued + dt.timedelta(days=settle_after),
        tuple((issued + dt.timedelta(days=d), amount) for d, amount in payments)),
    st.integers(1, 10**6), st.integers(1, 5), st.sampled_from(["RON", "EUR"]), st.dates(D(2024, 1, 1), D(2025, 12, 31)),
    st.integers(0, 90), st.integers(1, 10**9), st.one_of(st.none(), st.integers(0, 400)),
    st.lists(st.tuples(st.integers(0, 400), st.integers(-10**8, 10**8)), max_size=4),
)


@given(st.lists(receivable, max_size=30), st.dates(D(2024, 1, 1), D(2026, 6, 30)))
def test_aging_buckets_sum_to_the_open_balance_of_each_currency(items, day):
    found = rules.aging(items, day)
    for currency in ("RON", "EUR"):
        expected = sum(b for i in items if i.currency == currency and (b := i.balance_on(day)) > 0)
        got = found[currency].total if currency in found else 0
        assert got == expected == (sum(found[currency].amounts.values()) if currency in found else 0)
        if currency in found:
            assert found[currency].overdue <= found[currency].total


@given(st.integers(0, 10**12), st.integers(-10**11, 10**12), st.integers(0, 10**12), st.integers(0, 10**12))
def test_cei_stays_within_0_and_100(begin, sales, end_open, end_current):
    value = rules.cei(begin, sales, end_open, min(end_current, end_open))
    assert value is None or 0 <= value <= 100


@given(st.lists(st.tuples(st.integers(0, 10**12), st.integers(0, 10**9)), max_size=60))
def test_count_back_never_exceeds_the_days_of_its_months(data):
    open_minor = sum(s for s, _ in data[:3])
    months = [(s, 28 + d % 4) for s, d in data]
    found = rules.dso_count_back(open_minor, months)
    assert 0 <= found.days <= sum(days for _, days in months) + 1e-9


@given(st.lists(st.integers(-10**6, 10**9), max_size=80), st.integers(1, 90), st.integers(1, 90))
def test_abc_classes_partition_the_clients_and_follow_the_ranking(values, a, b):
    if abc.check_shares(a, b):
        return
    ranked = abc.classify(list(enumerate(values, 1)), (a, b))
    assert sorted(r.client_id for r in ranked) == list(range(1, len(values) + 1))  # each client once
    assert all(r.cls in abc.CLASSES for r in ranked)
    order = [abc.CLASSES.index(r.cls) for r in ranked]
    assert order == sorted(order)  # A before B before C down the ranking
    assert [r.value for r in ranked] == sorted(values, reverse=True)
    if any(v > 0 for v in values):
        assert ranked[0].cls == "A"
        assert max(r.cumulative for r in ranked) == pytest.approx(100.0)
    assert all(r.cls == "C" for r in ranked if r.value <= 0)


def test_abc_by_hand_and_the_client_that_crosses_the_line_is_still_a():
    ranked = abc.classify([(1, 500), (2, 300), (3, 100), (4, 60), (5, 40), (6, 0)])
    assert [(r.client_id, r.cls) for r in ranked] == [(1, "A"), (2, "A"), (3, "B"), (4, "B"), (5, "C"), (6, "C")]
    assert [round(r.cumulative) for r in ranked] == [50, 80, 90, 96, 100, 100]
    assert abc.check_shares(80, 20) and abc.check_shares(0, 15) and abc.check_shares(80, 15) is None


def test_discipline_score():
    assert abc.Discipline(paid=0, on_time=0, days_late=0).score is None
    assert abc.Discipline(paid=4, on_time=4, days_late=0).score == 100
    # 2 of 4 on time (50), average 20 days late (-10), one broken promise (-10)
    assert abc.Discipline(paid=4, on_time=2, days_late=40, broken_promises=1).score == 30
    assert abc.Discipline(paid=1, on_time=0, days_late=300, broken_plans=9).score == 0
