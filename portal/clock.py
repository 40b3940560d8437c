"""Time, once: now in UTC, and the firm's local day and time (every "today" of the portal is the
firm's, FIRM_TIMEZONE: 23:30 UTC is already tomorrow in Bucharest)."""

from __future__ import annotations

import contextvars
import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

_firm_timezone: contextvars.ContextVar[str] = contextvars.ContextVar("firm_timezone", default="Europe/Bucharest")
# The reader's zone, where it is known: staff work in the firm's; a client, a visitor of a share
# link or an email's reader may be elsewhere (clients keep no zone), so a time they read names the firm's.
_reader_timezone: contextvars.ContextVar[str | None] = contextvars.ContextVar("reader_timezone", default=None)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def set_firm_timezone(name: str) -> None:
    """Set per request and per dunning run from settings.firm_timezone."""
    _firm_timezone.set(name)


def firm_timezone() -> str:
    return _firm_timezone.get()


def set_reader_timezone(name: str | None) -> None:
    """Set per request: the firm's zone for staff, None (not known) for anyone else."""
    _reader_timezone.set(name)


def reader_in_firm_zone() -> bool:
    """Whether a time in the firm's zone reads right without its zone named."""
    return _reader_timezone.get() == firm_timezone()


def local_date(moment: dt.datetime, tz: str | None = None) -> dt.date:
    """The firm's (or `tz`'s) calendar day at `moment`."""
    return moment.astimezone(zone(tz or firm_timezone())).date()


@lru_cache(maxsize=65536)
def local_at(day: dt.date, at: dt.time, tz: str) -> dt.datetime:
    """`day` at the local time `at` in `tz`, as UTC."""
    return dt.datetime.combine(day, at, tzinfo=zone(tz)).astimezone(dt.UTC)


def firm_today(tz: str | None = None, now: dt.datetime | None = None) -> dt.date:
    """Today in the firm's time zone."""
    return local_date(now or utcnow(), tz)


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)
