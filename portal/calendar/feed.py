"""Each staff user's private iCalendar feed, to subscribe from Outlook or Google Calendar.

The URL is /calendar/<user id>.<nonce>.<signature>.ics. The nonce is random and stored (one
CalendarFeed row per user, made on first view); the signature is an HMAC of the user id and the
nonce with SECRET_KEY, compared in constant time. A new link stores a new nonce, so the old URL
stops working at once. The feed holds the user's open tasks from 30 days back to 180 days ahead.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
from urllib.parse import urlsplit

from icalendar import Calendar, Event

from portal import db, signing
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.auth.roles import Kind
from portal.calendar import rules
from portal.calendar.tables import CalendarFeed
from portal.clock import utcnow
from portal.tasks.tables import Task
from portal.web.i18n import gettext as _

SUFFIX = ".ics"
TOKEN = re.compile(r"^([1-9]\d{0,9})\.([A-Za-z0-9_-]{16,64})\.([A-Za-z0-9_-]{43})$")
EVENT_MINUTES = 30
FEED_LIMIT = 2000


# --- the token --------------------------------------------------------------------------------

def make_token(user_id: int, nonce: str, secret: str) -> str:
    return f"{user_id}.{nonce}.{signing.sign(secret, 'calendar-feed', user_id, nonce)}"


def read_token(token: str, secret: str) -> tuple[int, str] | None:
    """(user id, nonce) of a well-formed token whose signature is ours; else None."""
    match = TOKEN.match(token or "")
    if not match:
        return None
    user_id, nonce, signature = int(match.group(1)), match.group(2), match.group(3)
    if not signing.verify(signature, secret, "calendar-feed", user_id, nonce):
        return None
    return user_id, nonce


def feed_path(token: str) -> str:
    return f"/calendar/{token}{SUFFIX}"


def _new_nonce() -> str:
    return secrets.token_urlsafe(24)  # 32 characters


async def feed_token(user_id: int, secret: str) -> str:
    """The user's current token; the first view makes their feed row."""
    row = await CalendarFeed.select(CalendarFeed.nonce).where(CalendarFeed.user == user_id).first()
    if row is None:
        try:
            async with db.transaction():
                row = await CalendarFeed.select(CalendarFeed.nonce).where(CalendarFeed.user == user_id).first()
                if row is None:
                    row = {"nonce": _new_nonce()}
                    await CalendarFeed(user=user_id, nonce=row["nonce"], created_at=utcnow()).save()
        except Exception:  # the same person's other tab made it at the same moment (one row per user)
            row = await CalendarFeed.select(CalendarFeed.nonce).where(CalendarFeed.user == user_id).first()
            if row is None:
                raise
    return make_token(user_id, row["nonce"], secret)


async def renew_token(user_id: int, actor: Actor, secret: str) -> str:
    """A new link: the old one stops working at once."""
    nonce = _new_nonce()
    async with db.transaction():
        exists = await CalendarFeed.exists().where(CalendarFeed.user == user_id)
        if exists:
            await CalendarFeed.update({CalendarFeed.nonce: nonce, CalendarFeed.created_at: utcnow()}).where(
                CalendarFeed.user == user_id
            )
        else:
            await CalendarFeed(user=user_id, nonce=nonce, created_at=utcnow()).save()
        await audit.record(actor, "calendar_feed_renewed", "user", user_id, after={"renewed": True})
    return make_token(user_id, nonce, secret)


async def feed_owner(token: str, secret: str) -> dict | None:
    """The active staff user a current, untampered token belongs to; None for anything else."""
    if not token.endswith(SUFFIX):
        return None
    parsed = read_token(token[: -len(SUFFIX)], secret)
    if parsed is None:
        return None
    user_id, nonce = parsed
    row = await CalendarFeed.select(
        CalendarFeed.nonce, CalendarFeed.user.name.as_alias("name"), CalendarFeed.user.language.as_alias("language"),
        CalendarFeed.user.kind.as_alias("kind"), CalendarFeed.user.is_active.as_alias("is_active"),
    ).where(CalendarFeed.user == user_id).first()
    if row is None or not hmac.compare_digest(row["nonce"].encode(), nonce.encode()):
        return None
    if not row["is_active"] or row["kind"] != Kind.STAFF.value:
        return None
    return {"id": user_id, "name": row["name"], "language": row["language"]}


# --- the feed ---------------------------------------------------------------------------------

async def feed_tasks(user_id: int, now: dt.datetime) -> list[dict]:
    """The user's open tasks in the feed's window (overdue ones included): one query."""
    since, until = rules.feed_window(now)
    return await Task.select(
        Task.id, Task.kind, Task.title, Task.note, Task.due_at, Task.moved_count, Task.client, Task.invoice, Task.order,
        Task.client.name.as_alias("client_name"), Task.invoice.code.as_alias("invoice_code"),
        Task.order.number.as_alias("order_number"),
    ).where(
        (Task.assignee == user_id) & Task.done_at.is_null() & (Task.due_at >= since) & (Task.due_at < until)
    ).order_by(Task.due_at).order_by(Task.id).limit(FEED_LIMIT)


def summary(task: dict) -> str:
    """The event's title names the client: a calendar shows little else at a glance."""
    client = task.get("client_name") or ""
    if not client or client.casefold() in task["title"].casefold():
        return task["title"]
    return f"{client}: {task['title']}"


def _description(task: dict, base_url: str, tz: str) -> str:
    lines = [rules.kind_label(task["kind"], task["title"])]
    if task["client_name"]:
        lines.append(_("Client: %(name)s", name=task["client_name"]))
    if task["invoice_code"]:
        lines.append(_("Invoice: %(code)s", code=task["invoice_code"]))
        lines.append(f"{base_url}/staff/invoices/{task['invoice']}")
    elif task["order_number"]:
        lines.append(_("Order: %(number)s", number=task["order_number"]))
        lines.append(f"{base_url}/staff/orders/{task['order']}")
    if task["note"]:
        lines.append(task["note"])
    day = rules.local_day(task["due_at"], tz).isoformat()
    lines.append(_("Open in the calendar: %(url)s", url=f"{base_url}/staff/calendar?date={day}"))
    return "\n".join(lines)


def build_feed(tasks: list[dict], *, now: dt.datetime, base_url: str, tz: str, calendar_name: str) -> bytes:
    """An RFC 5545 calendar: one VEVENT per task, UID stable per task, times in UTC; a moved
    task's SEQUENCE goes up so calendar apps replace the old time."""
    base_url = base_url.rstrip("/")
    host = urlsplit(base_url).hostname or "portal"
    cal = Calendar()
    cal.add("prodid", "-//Portal//Staff calendar//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", calendar_name)
    cal.add("x-published-ttl", "PT1H")
    stamp = now.astimezone(dt.UTC).replace(microsecond=0)
    for task in tasks:
        starts = task["due_at"].astimezone(dt.UTC).replace(microsecond=0)
        event = Event()
        event.add("uid", f"task-{task['id']}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", starts)
        event.add("dtend", starts + dt.timedelta(minutes=EVENT_MINUTES))
        event.add("sequence", task["moved_count"] or 0)
        event.add("summary", summary(task))
        event.add("description", _description(task, base_url, tz))
        event.add("url", f"{base_url}/staff/calendar?date={rules.local_day(task['due_at'], tz).isoformat()}")
        event.add("status", "CONFIRMED")
        event.add("transp", "OPAQUE")
        cal.add_component(event)
    return cal.to_ical()


async def feed_for(owner: dict, *, base_url: str, tz: str, firm_name: str, now: dt.datetime | None = None) -> bytes:
    now = now or utcnow()
    tasks = await feed_tasks(owner["id"], now)
    name = _("%(firm)s tasks: %(name)s", firm=firm_name, name=owner["name"])
    return build_feed(tasks, now=now, base_url=base_url, tz=tz, calendar_name=name)

