"""Pure decisions about outgoing email: when to try again, when to give up, what the envelope
says. No I/O, no clock: `now` is always an argument."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from urllib.parse import urlparse

from portal.mail.tables import EmailStatus
from portal.messages import N_

# minutes to wait after the 1st, 2nd, 3rd... failed attempt; the last one repeats
BACKOFF_MINUTES = (1, 5, 15, 60, 240, 720)
# how long a sender owns the messages it claimed; past it they are claimable again
LEASE = dt.timedelta(minutes=5)
MAX_ERROR_LENGTH = 300

# status -> label; "sending" is a short-lived state and counts as queued for staff
STATUS_LABELS = {
    EmailStatus.QUEUED: N_("Queued"),
    EmailStatus.SENDING: N_("Sending"),
    EmailStatus.SENT: N_("Sent"),
    EmailStatus.FAILED: N_("Failed"),
    EmailStatus.CANCELLED: N_("Cancelled"),
}
# the outbox's filter tabs: key -> (label, statuses shown; empty: all)
OUTBOX_FILTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "all": (N_("All"), ()),
    "queued": (N_("Queued"), (EmailStatus.QUEUED, EmailStatus.SENDING)),
    "sent": (N_("Sent"), (EmailStatus.SENT,)),
    "failed": (N_("Failed"), (EmailStatus.FAILED,)),
    "cancelled": (N_("Cancelled"), (EmailStatus.CANCELLED,)),
}
RETRYABLE = (EmailStatus.FAILED,)


def retry_delay(attempts: int) -> dt.timedelta:
    """How long to wait after `attempts` failed attempts (1 or more) before the next one."""
    index = min(max(attempts, 1), len(BACKOFF_MINUTES)) - 1
    return dt.timedelta(minutes=BACKOFF_MINUTES[index])


def gives_up(attempts: int, max_attempts: int) -> bool:
    """After this many failed attempts the message is marked failed (staff may retry it)."""
    return attempts >= max(max_attempts, 1)


@dataclass(frozen=True)
class AfterFailure:
    status: str
    attempts: int
    next_attempt_at: dt.datetime


def after_failure(attempts_before: int, max_attempts: int, now: dt.datetime) -> AfterFailure:
    """Where a message stands after one more failed attempt."""
    attempts = attempts_before + 1
    if gives_up(attempts, max_attempts):
        return AfterFailure(EmailStatus.FAILED, attempts, now)
    return AfterFailure(EmailStatus.QUEUED, attempts, now + retry_delay(attempts))


def outbox_filter(raw: str) -> str:
    return raw if raw in OUTBOX_FILTERS else "all"


def short_error(text: str) -> str:
    """One line, at most MAX_ERROR_LENGTH characters: what staff read next to a failed message."""
    line = " ".join(str(text).split())
    return line if len(line) <= MAX_ERROR_LENGTH else line[: MAX_ERROR_LENGTH - 1] + "…"


def mail_domain(base_url: str) -> str:
    """The host of the portal's public address, the domain of its default sender address."""
    host = urlparse(base_url).hostname or "localhost"
    return host if "." in host else f"{host}.localdomain"


def sender_address(smtp_from: str, base_url: str) -> str:
    return smtp_from or f"no-reply@{mail_domain(base_url)}"


def message_id_for(key: str, base_url: str) -> str:
    """The same Message-ID on every attempt for one outbox key, so a receiving server can tell
    a repeated delivery (a sender stopped between SMTP's answer and our bookkeeping) apart."""
    readable = re.sub(r"[^A-Za-z0-9.-]", "-", key)[:40].strip("-.") or "mail"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"<{readable}.{digest}@{mail_domain(base_url)}>"


def tls_mode(use_tls: bool, port: int) -> str:
    """"implicit" (TLS from the first byte, port 465), "starttls" (upgrade after connecting) or "none"."""
    if not use_tls:
        return "none"
    return "implicit" if port == 465 else "starttls"
