"""Share links (/s/<token>) as pure rules: no I/O, no clock (`now` is an argument).

A token is `<random>.<signature>`: 32 random bytes (secrets.token_urlsafe) and an HMAC-SHA256,
keyed with the app's SECRET_KEY, over the random part, the schedule and the version the link is
bound to. Only the token's SHA-256 is stored, so the database alone never yields a working link;
the signature binds the stored row to its schedule version, so a link cannot be moved onto
another offer, and a token minted under another secret is refused.

A link's state, in order of precedence: used (it signed once, never again), revoked (withdrawn
by staff), expired, superseded (the schedule moved on to a newer version since it was made),
closed (the schedule no longer waits for the client: accepted in the portal, rejected...), active.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

from portal import signing
from portal.messages import N_
from portal.negotiation.tables import ScheduleStatus

RANDOM_BYTES = 32
SIGNATURE_BYTES = 16
WINDOW = dt.timedelta(hours=1)  # failed openings are counted per IP over this window
# token_urlsafe(32) is 43 characters, the signature 22: nothing longer is looked up
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}$")


class LinkState(StrEnum):
    """A share link's life."""

    ACTIVE = "active"
    USED = "used"
    REVOKED = "revoked"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"
    CLOSED = "closed"


STATES = tuple(LinkState)
STATE_LABELS = {
    LinkState.ACTIVE: N_("Active"),
    LinkState.USED: N_("Used: accepted"),
    LinkState.REVOKED: N_("Revoked"),
    LinkState.EXPIRED: N_("Expired"),
    LinkState.SUPERSEDED: N_("Replaced by a newer version"),
    LinkState.CLOSED: N_("Schedule no longer open"),
}
STATE_TONES = {LinkState.ACTIVE: "ok", LinkState.USED: "info", LinkState.REVOKED: "danger", LinkState.EXPIRED: "warn",
               LinkState.SUPERSEDED: "warn", LinkState.CLOSED: "neutral"}
# the schedule statuses a link can be accepted in (a draft is offered when its first link is made)
ACCEPTING = (ScheduleStatus.WITH_CLIENT,)
SHAREABLE = (ScheduleStatus.DRAFT, ScheduleStatus.WITH_CLIENT)


@dataclass(frozen=True)
class Refusal:
    """What the holder of a refused link is told (never any of the schedule's data)."""

    reason: str  # invalid, expired, revoked, used, superseded, closed, limited
    status_code: int
    title: str
    message: str


_ASK = N_("Ask your contact at our firm for a new link.")
REFUSALS = {
    "invalid": Refusal("invalid", 404, N_("This link is not valid."),
                       N_("Check that you copied the whole link from the message you received.")),
    LinkState.EXPIRED: Refusal(LinkState.EXPIRED, 410, N_("This link has expired."), _ASK),
    LinkState.REVOKED: Refusal(LinkState.REVOKED, 410, N_("This link was withdrawn."), _ASK),
    LinkState.USED: Refusal(LinkState.USED, 410, N_("This link was already used."),
                            N_("The repayment schedule it showed has been accepted. Your contact at our firm has the signed copy.")),
    LinkState.SUPERSEDED: Refusal(LinkState.SUPERSEDED, 410, N_("The offer changed since this link was made."), _ASK),
    LinkState.CLOSED: Refusal(LinkState.CLOSED, 410, N_("This offer is no longer open."), _ASK),
    "limited": Refusal("limited", 429, N_("Too many attempts."),
                       N_("Too many links that do not work were opened from your network. Try again in an hour.")),
}


def new_random() -> str:
    return secrets.token_urlsafe(RANDOM_BYTES)


def make_token(secret: str, schedule_id: int, version: int, random_part: str | None = None) -> str:
    """A new token for this schedule version (`random_part` only for tests)."""
    random_part = random_part or new_random()
    return f"{random_part}.{signing.sign(secret, 'share-link', random_part, schedule_id, version, size=SIGNATURE_BYTES)}"


def well_formed(token: str) -> bool:
    return bool(token) and _TOKEN.match(token) is not None


def token_hash(token: str) -> str:
    """What is stored and looked up: the SHA-256 of the whole token, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def signed_for(secret: str, token: str, schedule_id: int, version: int) -> bool:
    """The token's signature is ours and names this schedule version (compared in constant time)."""
    if not well_formed(token):
        return False
    random_part, signature = token.split(".", 1)
    return signing.verify(signature, secret, "share-link", random_part, schedule_id, version, size=SIGNATURE_BYTES)


def state_of(link: dict, now: dt.datetime, *, current_version: int, schedule_status: str) -> str:
    """The link's state (see the module docstring) from its row and its schedule's position."""
    if link.get("used_at") is not None:
        return LinkState.USED
    if link.get("revoked_at") is not None:
        return LinkState.REVOKED
    if link["expires_at"] <= now:
        return LinkState.EXPIRED
    if link["version"] != current_version:
        return LinkState.SUPERSEDED
    if schedule_status not in ACCEPTING:
        return LinkState.CLOSED
    return LinkState.ACTIVE


def expires_at(now: dt.datetime, days: int) -> dt.datetime:
    return now + dt.timedelta(days=max(1, days))


def window_start(now: dt.datetime) -> dt.datetime:
    return now - WINDOW


def limited(failures: int, max_failures: int) -> bool:
    """After `max_failures` failed openings within the window every opening is refused (429)."""
    return failures >= max_failures


def share_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/s/{token}"
