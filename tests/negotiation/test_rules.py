"""The negotiation rules, pure, explored with hypothesis: installments always sum to the debt; a
schedule never extends the horizon; a missed installment always resumes escalation at least one
step further; no pause lasts beyond its limit. And the escalation state diagram in
docs/escalation.md is the one the code runs."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

from hypothesis import assume, given, settings, strategies as st

from portal.dunning.engine import rules as ladder
from portal.dunning.escalation import rules as transitions, service as escalation
from portal.negotiation.schedules import rules

TZ = "Europe/Bucharest"
TODAY = dt.date(2026, 12, 1)
POLICY = rules.Policy(min_installment_minor=5000, horizon_days={"A": 365, "B": 180, "C": 90}, grace_days=3,
                      review_days=7, dispute_days=30, promise_days=30, promise_grace_days=1)
ROOT = Path(__file__).resolve().parents[2]

debts = st.integers(min_value=1, max_value=10**11)
segments = st.sampled_from(["A", "B", "C"])


@given(debts, st.integers(min_value=1, max_value=36), st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2030, 12, 31)))
def test_equal_monthly_installments_sum_exactly_to_the_debt_a_month_apart(debt, count, first):
    rows = rules.equal_monthly(debt, count, first)
    assert len(rows) == count and sum(r.amount_minor for r in rows) == debt
    assert len({r.amount_minor for r in rows[1:]}) <= 1  # the odd cents go to the first one
    for before, after in itertools.pairwise(rows):
        assert 28 <= (after.due_date - before.due_date).days <= 31


rows_strategy = st.lists(
    st.tuples(st.integers(min_value=-5, max_value=500), st.integers(min_value=0, max_value=10**9)), min_size=1, max_size=40,
)


@settings(max_examples=300)
@given(rows_strategy, debts, segments)
def test_an_accepted_schedule_sums_to_the_debt_and_never_extends_the_horizon(raw, debt, segment):
    rows = [rules.Row(TODAY + dt.timedelta(days=d), amount) for d, amount in raw]
    checked = rules.check(rows, debt, TODAY, POLICY, segment)
    if checked.ok:
        assert sum(r.amount_minor for r in rows) == debt
        assert rules.within_horizon(rows, TODAY, POLICY, segment)
        assert all(r.due_date > TODAY for r in rows)
        assert all(a.due_date < b.due_date for a, b in itertools.pairwise(rows))
    else:
        assert all(isinstance(message, str) and message for message in checked.errors.values())


@given(debts, st.integers(min_value=1, max_value=12), segments)
def test_equal_installments_within_the_horizon_pass_the_check(debt, count, segment):
    assume(debt >= count * POLICY.min_installment_minor)
    rows = rules.equal_monthly(debt, count, TODAY + dt.timedelta(days=1))
    assume(rules.within_horizon(rows, TODAY, POLICY, segment))
    assert rules.check(rows, debt, TODAY, POLICY, segment).ok


@given(st.lists(st.integers(min_value=5000, max_value=10**7), min_size=1, max_size=12), st.integers(min_value=0, max_value=10**8),
       st.integers(min_value=0, max_value=400))
def test_progress_covers_installments_in_order_and_names_the_first_missed(amounts, paid, days_later):
    rows = [rules.Row(TODAY + dt.timedelta(days=30 * (k + 1)), a) for k, a in enumerate(amounts)]
    today = TODAY + dt.timedelta(days=days_later)
    p = rules.progress(rows, paid, today, POLICY.grace_days)
    assert sum(p.paid) == min(paid, sum(amounts)) and p.remaining_minor == sum(amounts) - sum(p.paid)
    assert all(p.paid[k] == rows[k].amount_minor for k in range(p.covered))
    if p.missed_index is not None:
        assert p.missed_index == p.covered
        assert today >= rules.missed_on(rows[p.missed_index], POLICY.grace_days)
    elif p.next_index is not None:
        assert today < rules.missed_on(rows[p.next_index], POLICY.grace_days)


STEPS = [
    ladder.Step(1, 10, "reminder", -3, dt.time(10), "email"),
    ladder.Step(2, 20, "call", 0, dt.time(12), "call"),
    ladder.Step(3, 30, "penalty", 1, dt.time(9), "email"),
    ladder.Step(4, 40, "letter", 2, dt.time(10), "letter"),
    ladder.Step(5, 50, "warning", 7, dt.time(10), "court_warning"),
    ladder.Step(6, 60, "claim", 40, dt.time(10), "formal_claim"),
    ladder.Step(7, 70, "lawyers", 90, dt.time(10), "legal_handover"),
]
DUE = dt.date(2026, 11, 1)


@settings(max_examples=300)
@given(st.integers(min_value=0, max_value=len(STEPS) - 1), st.integers(min_value=0, max_value=200),
       st.integers(min_value=2, max_value=400), st.integers(min_value=0, max_value=23), st.booleans())
def test_a_missed_installment_always_resumes_escalation_at_least_one_step_further(taken_count, plan_after_hours, plan_days,
                                                                                 tick_hour, recorded):
    """Whatever step the plan paused the ladder at, and however long it ran, the tick that breaks
    it takes the next step at once (recorded as broken, or found run out). A plan lasts at least
    until the midnight two days after it was signed: its first installment is after that day and
    is missed the day after its date."""
    invoice = ladder.InvoiceFacts(1, 1, DUE, 100000)
    start = ladder.local_at(DUE - dt.timedelta(days=3), dt.time(10), TZ)
    taken = [ladder.Taken(s.id, "done", start + dt.timedelta(days=k)) for k, s in enumerate(STEPS[:taken_count])]
    last_at = taken[-1].taken_at if taken else start - dt.timedelta(days=1)
    plan_start = last_at + dt.timedelta(hours=plan_after_hours)
    missed = ladder.local_at(ladder.local_date(plan_start, TZ) + dt.timedelta(days=plan_days), dt.time(0), TZ)
    tick_at = missed + dt.timedelta(hours=tick_hour)
    pause = (ladder.PauseFacts(9, "plan", plan_start, missed + dt.timedelta(days=400), missed, "broken") if recorded
             else ladder.PauseFacts(9, "plan", plan_start, missed, None))
    decision = ladder.decide(invoice, STEPS, taken, [pause], tick_at, TZ)
    assert decision.due, "the ladder must move at once"
    assert decision.due[0].step == STEPS[taken_count]
    assert decision.due[0].scheduled_at <= tick_at


@given(st.sampled_from(["proposal", "dispute", "plan", "promise"]), segments, st.integers(min_value=0, max_value=3000),
       st.integers(min_value=1, max_value=36))
def test_no_pause_lasts_beyond_its_limit(kind, segment, promised_in, count):
    rows = rules.equal_monthly(10**6, count, TODAY + dt.timedelta(days=1))
    assume(kind != "plan" or rules.within_horizon(rows, TODAY, POLICY, segment))
    end = rules.pause_until(kind, TODAY, POLICY, rows=rows, promised=TODAY + dt.timedelta(days=promised_in))
    assert TODAY < end <= TODAY + dt.timedelta(days=rules.pause_limit_days(kind, POLICY, segment))


# --- the state diagram ----------------------------------------------------------------------------

def test_the_documented_state_diagram_is_the_one_the_code_runs():
    documented = (ROOT / "docs" / "escalation.md").read_text()
    assert documented == transitions.markdown(), "run: python -m portal.dunning.escalation.rules > docs/escalation.md"


def test_every_event_has_one_way_in_and_every_state_is_documented():
    fed = set(escalation._HANDLERS)
    by_money = set(escalation.EVENTS_OF_MONEY)  # through portal.settlement -> escalation.money_moved
    by_tick = set(transitions.EXPIRY_EVENTS.values())
    assert not fed & by_money and fed | by_money | by_tick == set(transitions.EVENTS)
    for t in transitions.TRANSITIONS:
        assert set(t.sources) <= set(transitions.STATES) and t.target in (*transitions.STATES, "same")


@given(st.sets(st.sampled_from(["dispute", "plan", "proposal", "promise", "manual"])), st.booleans())
def test_the_state_names_the_strongest_pause_as_the_ladder_does(kinds, blocked):
    state = transitions.state_of(kinds, settled=False, blocked=blocked)
    if kinds:
        strongest = min(kinds, key=ladder.PAUSE_RANK.index)
        assert state == {"dispute": "disputed", "plan": "on_plan", "proposal": "proposal", "promise": "promised",
                         "manual": "paused"}[strongest]
    else:
        assert state == ("awaiting_approval" if blocked else "running")
