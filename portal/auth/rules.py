"""Pure decisions about sessions and login throttling (no I/O, no clock)."""

from __future__ import annotations

import datetime as dt
import hashlib
import math

TOUCH_EVERY = dt.timedelta(minutes=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_expired(last_seen_at: dt.datetime, now: dt.datetime, idle_minutes: int) -> bool:
    return now - last_seen_at > dt.timedelta(minutes=idle_minutes)


def should_touch(last_seen_at: dt.datetime, now: dt.datetime) -> bool:
    """Write last_seen_at at most once a minute, not on every request."""
    return now - last_seen_at >= TOUCH_EVERY


def lockout_minutes_left(failures: list[dt.datetime], now: dt.datetime, max_failures: int, window_minutes: int) -> int:
    """0 when a login may be tried; otherwise whole minutes until the oldest counted failure ages out."""
    window = dt.timedelta(minutes=window_minutes)
    recent = sorted(f for f in failures if now - f < window)
    if len(recent) < max_failures:
        return 0
    frees_at = recent[-max_failures] + window
    return max(1, math.ceil((frees_at - now).total_seconds() / 60))


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()
