"""Pure decisions for the staff calendar: which local days a day or week view covers, which day
a task belongs to, how rows are sorted into "overdue" and day sections, and what a call's
outcome form must hold. No I/O, no clock: `now` and `today` are arguments.

A task belongs to the firm's local day of its due time: 23:30 in Bucharest on the 14th is the
14th, although it is already the 14th at 21:30 UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal.messages import N_
from portal.tasks.rules import local_day_start, parse_id, to_local
from portal.web.forms import Checked
from portal.web.i18n import data_words, format_date, gettext as _
from portal.web.local_input import parse_date

DAY, WEEK = "day", "week"
VIEWS = (DAY, WEEK)
MAX_NOTE = 1000
OVERDUE, OPEN, DONE = "overdue", "open", "done"

KIND_LABELS = {
    "callback": N_("Call back"),
    "call": N_("Call"),
    "negotiation": N_("Negotiation"),
    "approval": N_("Approval"),
    "letter": N_("Letter to sign"),
    "dispute": N_("Dispute"),
}
# Kinds done with a call outcome (reached, promised date, delay reason) when they name an invoice.
OUTCOME_KINDS = ("call", "negotiation", "letter")
CALLBACK = "callback"


@dataclass(frozen=True)
class CalendarRange:
    """The local days a view shows (first..last inclusive) and the UTC instants around them."""

    view: str
    day: dt.date  # the day asked for
    first: dt.date
    last: dt.date
    starts_at: dt.datetime  # UTC, inclusive
    ends_at: dt.datetime  # UTC, exclusive
    previous: dt.date
    following: dt.date

    @property
    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def parse_view(raw: str | None) -> str:
    return raw if raw in VIEWS else DAY


def parse_day(raw: str | None, today: dt.date) -> dt.date:
    """The typed date, or today when there is none or it is no date."""
    return parse_date((raw or "").strip()) or today


def range_for(view: str, day: dt.date, tz: str) -> CalendarRange:
    """A day view covers `day`; a week view the Monday to Sunday around it."""
    if view == WEEK:
        first = day - dt.timedelta(days=day.weekday())
        last, step = first + dt.timedelta(days=6), dt.timedelta(days=7)
    else:
        first = last = day
        step = dt.timedelta(days=1)
    return CalendarRange(
        view=view, day=day, first=first, last=last,
        starts_at=local_day_start(first, tz), ends_at=local_day_start(last + dt.timedelta(days=1), tz),
        previous=day - step, following=day + step,
    )


def local_day(moment: dt.datetime, tz: str) -> dt.date:
    return to_local(moment, tz).date()


def state_of(task: dict, now: dt.datetime) -> str:
    """done, overdue (open and its time has passed) or open."""
    if task["done_at"] is not None:
        return DONE
    return OVERDUE if task["due_at"] < now else OPEN


def arrange(rows: list[dict], rng: CalendarRange, now: dt.datetime, tz: str) -> dict:
    """Overdue open tasks on top (whatever their day), then each day of the range with its
    tasks by time. A done task shows on the day it was due, or (due outside the range) on the
    day it was done. Rows get `state`, `local_day` and `local_time`."""
    overdue: list[dict] = []
    days: dict[dt.date, list[dict]] = {day: [] for day in rng.days}
    for row in sorted(rows, key=lambda r: (r["due_at"], r["id"])):
        row["state"] = state_of(row, now)
        local = to_local(row["due_at"], tz)
        row["local_day"], row["local_time"] = local.date(), local.strftime("%H:%M")
        if row["state"] == OVERDUE:
            overdue.append(row)
            continue
        day = row["local_day"]
        if day not in days and row["done_at"] is not None:
            day = local_day(row["done_at"], tz)
        if day in days:
            days[day].append(row)
    return {"overdue": overdue, "days": list(days.items())}


def kind_label(kind: str, title: str) -> str:
    """The translated name of a kind; an unknown kind is shown by its title."""
    label = KIND_LABELS.get(kind)
    return _(label) if label else (title or kind)


def takes_call_outcome(task: dict) -> bool:
    """Calls, negotiations and letters about an invoice are done with a call outcome; callbacks,
    approvals and kinds we do not know with a plain written outcome."""
    return task.get("kind") in OUTCOME_KINDS and task.get("invoice") is not None


def check_call_outcome(form: dict[str, str], reason_ids: set[int], today: dt.date, max_days: int) -> Checked:
    """reached (yes/no), promised_date (optional, from today to `max_days` ahead), delay_reason
    (one of the active catalogue; needed when the client was reached or promised a date), note."""
    out = Checked()
    v, e = out.values, out.errors
    v["reached"] = form.get("reached", "").strip()
    if v["reached"] not in ("yes", "no"):
        e["reached"] = _("Say whether you reached the client.")
    raw_date = form.get("promised_date", "").strip()
    v["promised_date"] = raw_date
    promised = parse_date(raw_date) if raw_date else None
    if raw_date and promised is None:
        e["promised_date"] = _("Enter a date such as 2025-03-14.")
    elif promised is not None and promised < today:
        e["promised_date"] = _("A promised date cannot be in the past.")
    elif promised is not None and promised > today + dt.timedelta(days=max_days):
        e["promised_date"] = _("A promised date can be at most %(days)s days ahead.", days=max_days)
    raw_reason = form.get("delay_reason", "").strip()
    v["delay_reason"] = raw_reason
    reason = parse_id(raw_reason)
    if raw_reason and reason not in reason_ids:
        e["delay_reason"] = _("Pick a reason from the list.")
    elif reason is None and (raw_date or v["reached"] == "yes"):
        e["delay_reason"] = _("Pick the reason the client gives for the delay.")
    v["note"] = form.get("note", "").strip()
    if len(v["note"]) > MAX_NOTE:
        e["note"] = _("Keep the note under %(max)s characters.", max=MAX_NOTE)
    if out.ok:
        v["reached_bool"] = v["reached"] == "yes"
        v["promised"] = promised
        v["reason_id"] = reason
    return out


def outcome_summary(reached: bool, promised: dt.date | None, reason_name: str, note: str) -> str:
    """The task's outcome text, written from the call's facts."""
    parts = [_("Reached the client.") if reached else _("Did not reach the client.")]
    if promised is not None:
        parts.append(_("Promised to pay by %(date)s.", date=format_date(promised)))
    if reason_name:
        parts.append(_("Reason: %(reason)s.", reason=data_words(reason_name)))
    if note:
        parts.append(note)
    return " ".join(parts)


def may_view_other(is_admin: bool, is_credit_controller: bool) -> bool:
    """Admins and credit controllers look at anyone's calendar; others at their own only."""
    return is_admin or is_credit_controller


def feed_window(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """What the iCalendar feed holds: open tasks from 30 days back to 180 days ahead."""
    return now - dt.timedelta(days=30), now + dt.timedelta(days=180)
