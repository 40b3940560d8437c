"""rules.decide stepped through time with random payments, promises and pauses (hypothesis):
payment in full always stops every later action; the ladder never skips or repeats a step;
nothing is taken before its time or while paused."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings, strategies as st

from portal.dunning.engine import rules

TZ = "Europe/Bucharest"
DUE = dt.date(2026, 12, 10)
STEPS = [
    rules.Step(1, 10, "reminder", -3, dt.time(10), "email"),
    rules.Step(2, 20, "call", 0, dt.time(12), "call"),
    rules.Step(3, 30, "penalty", 1, dt.time(9), "email"),
    rules.Step(4, 40, "pay today", 1, dt.time(11), "call"),
    rules.Step(5, 50, "letter", 2, dt.time(10), "letter", skip_if_deferral=True),
    rules.Step(6, 60, "warning", 7, dt.time(10), "court_warning", deadline_days=7),
    rules.Step(7, 70, "lawyers", 15, dt.time(10), "legal_handover"),
]
START = rules.local_at(DUE - dt.timedelta(days=5), dt.time(8), TZ)

events = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=40 * 24),  # hour of the event from START
        st.sampled_from(["partial", "full", "promise", "pause", "lift"]),
        st.integers(min_value=0, max_value=10),  # days (promise / pause length)
    ),
    max_size=6,
)


def _run(event_list, privileged=False, tick_hours=1):
    balance = 1000
    taken: list[rules.Taken] = []
    pauses: list[rules.PauseFacts] = []
    deferral = False
    log = []
    paid_at = None
    by_hour = {}
    for hour, kind, days in event_list:
        by_hour.setdefault(hour, []).append((kind, days))
    invoice = lambda: rules.InvoiceFacts(1, 1, DUE, balance, "issued" if balance > 0 else "paid", privileged, 5 if privileged else 0)  # noqa: E731
    for hour in range(0, 45 * 24, tick_hours):
        now = START + dt.timedelta(hours=hour)
        for kind, days in by_hour.get(hour, []):
            if kind == "partial" and balance > 1:
                balance = balance // 2
            elif kind == "full" and balance > 0:
                balance, paid_at = 0, now
            elif kind == "promise":
                until = rules.local_at(rules.local_date(now, TZ) + dt.timedelta(days=days + 1), dt.time(0), TZ)
                pauses.append(rules.PauseFacts(len(pauses) + 1, "promise", now, until))
                deferral = True
            elif kind == "pause":
                pauses.append(rules.PauseFacts(len(pauses) + 1, "dispute", now, None))
            elif kind == "lift":
                pauses = [p if p.ended_at or p.until else rules.PauseFacts(p.id, p.kind, p.starts_at, p.until, now) for p in pauses]
        decision = rules.decide(invoice(), STEPS, taken, pauses, now, TZ, deferral_requested=deferral)
        for due in decision.due:
            assert due.scheduled_at <= now, "a step taken before its time"
            assert not any(p.active_at(now) for p in pauses), "a step taken while paused"
            taken.append(rules.Taken(due.step.id, due.status, now))
            log.append((now, due.step, due.status))
    return log, paid_at


@settings(max_examples=120, deadline=None)
@given(events, st.booleans())
def test_ladder_in_order_never_twice_never_after_payment(event_list, privileged):
    log, paid_at = _run(event_list, privileged)
    positions = [step.position for _, step, _ in log]
    assert positions == sorted(positions), "out of order"
    assert len(set(positions)) == len(positions), "a step taken twice"
    expected = [s.position for s in STEPS][: len(positions)]
    assert positions == expected, "a step skipped without a record"
    if paid_at is not None:
        assert all(at < paid_at for at, _, _ in log), "an action after payment in full"
    if privileged:
        assert all(status != "pending" for _, step, status in log if step.channel == "legal_handover")


def test_without_events_every_step_at_its_exact_time():
    log, _ = _run([], tick_hours=1)
    assert [(at, step.position) for at, step, _ in log] == [
        (rules.nominal_at(s, rules.InvoiceFacts(1, 1, DUE, 1000), TZ), s.position) for s in STEPS
    ]


def test_broken_promise_resumes_at_the_next_step_when_the_promise_runs_out():
    promise_at = rules.local_at(DUE, dt.time(13), TZ)
    until = rules.local_at(DUE + dt.timedelta(days=6), dt.time(0), TZ)
    taken = [rules.Taken(1, "done", rules.local_at(DUE - dt.timedelta(days=3), dt.time(10), TZ)),
             rules.Taken(2, "done", rules.local_at(DUE, dt.time(12), TZ))]
    pause = rules.PauseFacts(1, "promise", promise_at, until)
    invoice = rules.InvoiceFacts(1, 1, DUE, 1000)
    paused = rules.decide(invoice, STEPS, taken, [pause], until - dt.timedelta(minutes=1), TZ, deferral_requested=True)
    assert paused.due == [] and paused.paused_by == pause and paused.next_at == until
    resumed = rules.decide(invoice, STEPS, taken, [pause], until, TZ, deferral_requested=True)
    assert [d.step.name for d in resumed.due] == ["penalty"] and resumed.expired_pauses == [pause]


def test_catch_up_after_downtime_moves_one_day_at_a_time():
    invoice = rules.InvoiceFacts(1, 1, DUE, 1000)
    late = rules.local_at(DUE + dt.timedelta(days=10), dt.time(12), TZ)
    first = rules.decide(invoice, STEPS, [], [], late, TZ)
    # the reminder before the due date is passed over (it would say "falls due on" days after), the call is made
    assert [(d.step.name, d.status) for d in first.due] == [("reminder", "skipped"), ("call", "pending")]
    assert first.next_at == rules.local_at(DUE + dt.timedelta(days=11), dt.time(9), TZ)  # the penalty email, a day later
