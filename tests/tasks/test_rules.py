"""Callback rules without a database: reading the typed day and time in the firm's zone,
refusing what cannot be meant, and which list a task belongs in."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.clock import local_date
from portal.tasks import rules

TZ = "Europe/Bucharest"  # UTC+2 in winter, UTC+3 in summer (clocks go forward on 2025-03-30)
UTC = dt.UTC
NOW = dt.datetime(2025, 3, 14, 12, 0, tzinfo=UTC)  # 14:00 in Bucharest


def due(date: str, time: str, now: dt.datetime = NOW):
    return rules.check_due({"date": date, "time": time}, now, TZ)


def test_a_typed_local_time_is_stored_in_utc():
    assert due("2025-03-15", "10:00").values["due_at"] == dt.datetime(2025, 3, 15, 8, 0, tzinfo=UTC)
    assert due("2025-07-01", "10:00").values["due_at"] == dt.datetime(2025, 7, 1, 7, 0, tzinfo=UTC)  # summer time
    assert due("2025-03-15", "9:05").values["due_at"] == dt.datetime(2025, 3, 15, 7, 5, tzinfo=UTC)


@pytest.mark.parametrize("date,time,field,message", [
    ("", "10:00", "date", "Enter the day to call back."),
    ("2025-02-30", "10:00", "date", "Enter a date such as 14/03/2025."),
    ("15.13.2025", "10:00", "date", "Enter a date such as 14/03/2025."),
    ("2025-03-15", "", "time", "Enter the time to call, such as 10:00."),
    ("2025-03-15", "25:00", "time", "Enter a time such as 09:30."),
    ("2025-03-15", "10.30", "time", "Enter a time such as 09:30."),
    ("2025-03-15", "10:60", "time", "Enter a time such as 09:30."),
    ("2025-03-13", "10:00", "date", "That day has passed; pick today or a later day."),
    ("2025-03-14", "13:59", "time", "That time has passed; pick a later time."),
    ("2025-03-30", "03:30", "time", "The clocks change at that hour; pick another time."),
    ("2031-01-01", "10:00", "date", "Pick a day within the next two years."),
], ids=["no-date", "feb-30", "dotted-date", "no-time", "hour-25", "dotted-time", "minute-60", "past-day",
        "earlier-today", "dst-gap", "far-future"])
def test_a_mistyped_or_past_time_is_refused_beside_its_field(date, time, field, message):
    checked = due(date, time)
    assert not checked.ok
    assert checked.errors[field] == message
    assert checked.values["date"] == date and checked.values["time"] == time  # typed values kept
    assert "due_at" not in checked.values


def test_later_today_is_fine():
    assert due("2025-03-14", "14:30").ok


def test_a_callback_needs_a_client_or_an_order_and_a_short_note():
    base = {"date": "15/03/2025", "time": "10:00"}
    assert rules.check_callback({**base, "client_id": "7"}, NOW, TZ).values["client_id"] == 7
    assert rules.check_callback({**base, "order_id": "9"}, NOW, TZ).ok
    assert "subject" in rules.check_callback(base, NOW, TZ).errors
    assert "subject" in rules.check_callback({**base, "client_id": "abc"}, NOW, TZ).errors
    long = rules.check_callback({**base, "client_id": "7", "note": "x" * 1001}, NOW, TZ)
    assert long.errors == {"note": "Keep the note under 1000 characters."}
    assert rules.check_callback({**base, "client_id": "7", "note": "x" * 1000}, NOW, TZ).ok


def test_completing_needs_an_outcome():
    assert rules.check_outcome({"outcome": "  "}).errors == {"outcome": "Write what came of the call."}
    assert rules.check_outcome({"outcome": "Pays on Friday"}).values == {"outcome": "Pays on Friday"}
    assert "outcome" in rules.check_outcome({"outcome": "x" * 1001}).errors


def test_tomorrow_morning_is_upcoming_until_the_firms_day_turns():
    tomorrow_10 = due("2025-03-15", "10:00").values["due_at"]  # 08:00 UTC
    assert rules.bucket(tomorrow_10, NOW, TZ) == rules.UPCOMING
    # 21:59 UTC is 23:59 in Bucharest: still the 14th
    assert rules.bucket(tomorrow_10, dt.datetime(2025, 3, 14, 21, 59, tzinfo=UTC), TZ) == rules.UPCOMING
    # 23:30 UTC on the 14th is already 01:30 on the 15th in Bucharest
    assert rules.bucket(tomorrow_10, dt.datetime(2025, 3, 14, 23, 30, tzinfo=UTC), TZ) == rules.TODAY
    assert rules.bucket(tomorrow_10, dt.datetime(2025, 3, 15, 7, 59, tzinfo=UTC), TZ) == rules.TODAY
    # once its time has passed it is overdue
    assert rules.bucket(tomorrow_10, dt.datetime(2025, 3, 15, 8, 1, tzinfo=UTC), TZ) == rules.OVERDUE
    assert rules.bucket(tomorrow_10, dt.datetime(2025, 3, 20, 8, 0, tzinfo=UTC), TZ) == rules.OVERDUE


def test_the_firms_day_not_utcs_decides_today():
    assert local_date(dt.datetime(2025, 3, 14, 23, 30, tzinfo=UTC), TZ) == dt.date(2025, 3, 15)
    assert rules.end_of_today(NOW, TZ) == dt.datetime(2025, 3, 14, 22, 0, tzinfo=UTC)
    assert rules.end_of_today(dt.datetime(2025, 7, 1, 12, 0, tzinfo=UTC), TZ) == dt.datetime(2025, 7, 1, 21, 0, tzinfo=UTC)


def test_only_the_assignee_or_an_admin_may_act():
    assert rules.may_act(5, 5, False)
    assert not rules.may_act(5, 6, False)
    assert rules.may_act(5, 6, True)


def test_due_times_read_back_as_the_form_shows_them():
    due_at = dt.datetime(2025, 3, 15, 8, 0, tzinfo=UTC)
    assert rules.form_values(due_at, TZ) == {"date": "15/03/2025", "time": "10:00"}
    assert rules.local_label(due_at, TZ) == "2025-03-15 10:00+02:00"
