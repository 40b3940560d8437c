"""Pure decisions about callbacks: reading the typed date and time in the firm's time zone,
refusing what cannot be meant, and sorting open tasks into overdue / today / upcoming.

Times are typed in the firm's time zone (settings.firm_timezone) and stored in UTC. "Today"
is the firm's local day, so 23:30 UTC is already tomorrow in Bucharest.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from portal.clock import local_date
from portal.web.forms import Checked
from portal.web.i18n import gettext as _
from portal.web.local_input import date_input_value, parse_date

MAX_NOTE = 1000
MAX_OUTCOME = 1000
MAX_DAYS_AHEAD = 730  # two years: further than that is a typo, not a callback
TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
ID = re.compile(r"^\d{1,9}$")

OVERDUE, TODAY, UPCOMING = "overdue", "today", "upcoming"


def local_day_start(day: dt.date, tz: str) -> dt.datetime:
    """Midnight of `day` in the firm's zone, as UTC."""
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=ZoneInfo(tz)).astimezone(dt.UTC)




def end_of_today(now: dt.datetime, tz: str) -> dt.datetime:
    """The first instant of tomorrow (firm's zone), as UTC: everything before it is due by today."""
    return local_day_start(local_date(now, tz) + dt.timedelta(days=1), tz)


def bucket(due_at: dt.datetime, now: dt.datetime, tz: str) -> str:
    """Overdue once its time has passed; today while still ahead today; upcoming after that."""
    if due_at < now:
        return OVERDUE
    if due_at < end_of_today(now, tz):
        return TODAY
    return UPCOMING


def to_local(value: dt.datetime, tz: str) -> dt.datetime:
    return value.astimezone(ZoneInfo(tz))


def local_label(value: dt.datetime, tz: str) -> str:
    """How the audit trail writes a due time: local, to the minute, with its offset."""
    return to_local(value, tz).isoformat(sep=" ", timespec="minutes")


def form_values(due_at: dt.datetime, tz: str) -> dict[str, str]:
    """A stored due time as the date and time inputs show it."""
    local = to_local(due_at, tz)
    return {"date": date_input_value(local.date()), "time": local.strftime("%H:%M")}


def parse_time(raw: str) -> dt.time | None:
    match = TIME.match(raw or "")
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        return None
    return dt.time(hour, minute)


def parse_id(raw: str) -> int | None:
    return int(raw) if ID.match(raw or "") and int(raw) > 0 else None


def check_due(form: dict[str, str], now: dt.datetime, tz: str) -> Checked:
    """The date and time fields: valid, existing on the firm's clock, not in the past.
    values["due_at"] is the UTC instant when there are no errors."""
    out = Checked()
    v, e = out.values, out.errors
    v["date"], v["time"] = form.get("date", "").strip(), form.get("time", "").strip()
    day = parse_date(v["date"])
    at = parse_time(v["time"])
    if not v["date"]:
        e["date"] = _("Enter the day to call back.")
    elif day is None:
        e["date"] = _("Enter a date such as %(example)s.", example=date_input_value(local_date(now, tz)))
    if not v["time"]:
        e["time"] = _("Enter the time to call, such as %(example)s.", example="10:00")
    elif at is None:
        e["time"] = _("Enter a time such as %(example)s.", example="09:30")
    if day is None or at is None:
        return out
    zone = ZoneInfo(tz)
    today = local_date(now, tz)
    if day > today + dt.timedelta(days=MAX_DAYS_AHEAD):
        e["date"] = _("Pick a day within the next two years.")
        return out
    local = dt.datetime.combine(day, at, tzinfo=zone)
    due_at = local.astimezone(dt.UTC)
    if due_at.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        e["time"] = _("The clocks change at that hour; pick another time.")
        return out
    if due_at < now:
        if day < today:
            e["date"] = _("That day has passed; pick today or a later day.")
        else:
            e["time"] = _("That time has passed; pick a later time.")
        return out
    v["due_at"] = due_at
    return out


def check_callback(form: dict[str, str], now: dt.datetime, tz: str) -> Checked:
    """A new callback: what it is about (a client and/or an order), when, and a note."""
    out = check_due(form, now, tz)
    v, e = out.values, out.errors
    v["client_id"] = parse_id(form.get("client_id", "").strip())
    v["order_id"] = parse_id(form.get("order_id", "").strip())
    typed_client, typed_order = form.get("client_id", "").strip(), form.get("order_id", "").strip()
    if (typed_client and v["client_id"] is None) or (typed_order and v["order_id"] is None):
        e["subject"] = _("This callback names no client or order we know.")
    elif v["client_id"] is None and v["order_id"] is None:
        e["subject"] = _("A callback belongs to a client or an order.")
    v["note"] = form.get("note", "").strip()
    if len(v["note"]) > MAX_NOTE:
        e["note"] = _("Keep the note under %(max)s characters.", max=MAX_NOTE)
    return out


def check_outcome(form: dict[str, str]) -> Checked:
    """Completing a task needs what came of it."""
    out = Checked()
    out.values["outcome"] = form.get("outcome", "").strip()
    if not out.values["outcome"]:
        out.errors["outcome"] = _("Write what came of the call.")
    elif len(out.values["outcome"]) > MAX_OUTCOME:
        out.errors["outcome"] = _("Keep the outcome under %(max)s characters.", max=MAX_OUTCOME)
    return out


def may_act(task_assignee: int, user_id: int, is_admin: bool) -> bool:
    """Only the assignee or an admin completes or moves a task."""
    return is_admin or task_assignee == user_id


def title_for(client_name: str, order_number: str) -> str:
    """The stored title (screens show a translated label for callbacks; other kinds show this)."""
    subject = order_number or client_name
    return f"Call back {subject}".strip()[:200]
