"""Shared by the tasks and dashboard tests: callbacks at a chosen local time, and reading pages."""

from __future__ import annotations

import datetime as dt
import html
import re
from zoneinfo import ZoneInfo

from portal.audit.service import Actor
from portal.clock import local_date, utcnow
from portal.tasks import service

TZ = "Europe/Bucharest"  # the test settings' firm time zone (the default)
UTC = dt.UTC


def today() -> dt.date:
    return local_date(utcnow(), TZ)


async def callback(user_id: int, *, client_id: int | None = None, order_id: int | None = None, day: dt.date,
                   time: str = "10:00", note: str = "") -> int:
    """A callback for `day` at `time` (firm's zone), scheduled an hour before it is due, so a
    day in the past gives an overdue task."""
    local = dt.datetime.combine(day, dt.time.fromisoformat(time), tzinfo=ZoneInfo(TZ))
    form = {"client_id": str(client_id or ""), "order_id": str(order_id or ""), "date": day.isoformat(), "time": time, "note": note}
    task_id, checked = await service.create_callback(form, Actor(user_id, "Scheduler"), tz=TZ, now=local.astimezone(UTC) - dt.timedelta(hours=1))
    assert task_id, checked.errors
    return task_id


def form_html(page: str, action: str) -> str:
    match = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', page, re.S)
    assert match, f"no form posting to {action} in the page"
    return match.group(0)


def field_html(page: str, name: str) -> str:
    for match in re.finditer(r'<div class="field[^"]*"[^>]*>.*?</div>', page, re.S):
        if re.search(rf'<(?:input|select|textarea)[^>]*\sname="{re.escape(name)}"', match.group(0)):
            return match.group(0)
    raise AssertionError(f"no field {name!r} in the page")


def field_error(page: str, name: str) -> str | None:
    match = re.search(r'<p class="error"[^>]*>(.*?)</p>', field_html(page, name), re.S)
    return html.unescape(match.group(1).strip()) if match else None


def shown_value(page: str, name: str) -> str:
    div = field_html(page, name)
    if "<textarea" in div:
        return html.unescape(re.search(r"<textarea[^>]*>(.*?)</textarea>", div, re.S).group(1))
    match = re.search(r'<input[^>]*\svalue="([^"]*)"', div)
    return html.unescape(match.group(1)) if match else ""


def section(page: str, element_id: str) -> str:
    """The <section id=...> of a page, as HTML."""
    start = page.index(f'id="{element_id}"')
    return page[start:page.index("</section>", start)]


def row(page: str, task_id: int) -> str:
    """A task's row (<li id="task-N">) in a page or partial."""
    start = page.index(f'id="task-{task_id}"')
    return page[start:page.index("</li>", start)]


def timeline_events(page: str) -> list[str]:
    part = page[page.index('id="timeline"'):]
    part = part[:part.index("</section>")]
    return [html.unescape(e) for e in re.findall(r"<li>(.*?)</li>", part, re.S)]
