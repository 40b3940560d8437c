"""Delivers the outbox through SMTP. The dunning tick calls `send_due(settings, now=...)`.

Claiming is one short transaction: due messages (queued, or left "sending" by a sender that
stopped past its lease) become "sending" with `next_attempt_at` = now + LEASE. On PostgreSQL
the rows are selected FOR UPDATE SKIP LOCKED, on SQLite the transaction takes the write lock
up front; either way two senders never claim the same message. Each outcome (sent, retry
later, failed) is then written in its own transaction, guarded by status = 'sending'.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime

import aiosmtplib

from portal import db
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.clock import utcnow
from portal.mail import rules
from portal.mail.tables import EmailMessage, EmailStatus
from portal.settings import Settings

log = logging.getLogger(__name__)
SMTP_TIMEOUT = 30  # seconds, for connecting and for each command
SEND_ERRORS = (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError)
MESSAGE_ERRORS = (*SEND_ERRORS, ValueError)  # ValueError: a message that cannot be written (e.g. a line break in an address)


async def send_due(settings: Settings, *, now: dt.datetime | None = None, limit: int = 200,
                   lease: dt.timedelta = rules.LEASE) -> dict[str, int]:
    """Send what is due; returns how many were sent, will be retried, were given up. Without
    SMTP_HOST nothing is sent: messages stay queued in the outbox."""
    counts = {"sent": 0, "retrying": 0, "failed": 0}
    if not settings.smtp_host:
        return counts
    now = now or utcnow()
    claimed = await claim_due(now, limit=limit, lease=lease)
    if claimed:
        await _deliver(settings, claimed, now, lease, counts)
    return counts


async def claim_due(now: dt.datetime, *, limit: int = 200, lease: dt.timedelta = rules.LEASE) -> list[dict]:
    """Mark up to `limit` due messages 'sending' until now + lease, oldest first, and return them."""
    due = (EmailMessage.status.is_in([EmailStatus.QUEUED, EmailStatus.SENDING])) & (EmailMessage.next_attempt_at <= now)
    async with db.transaction():
        query = EmailMessage.select(
            EmailMessage.id, EmailMessage.key, EmailMessage.to_address, EmailMessage.subject, EmailMessage.body,
            EmailMessage.attempts, EmailMessage.client,
        ).where(due).order_by(EmailMessage.created_at).order_by(EmailMessage.id).limit(limit)
        if db.is_postgres():
            query = query.lock_rows(skip_locked=True)
        rows = await query
        if rows:
            await EmailMessage.update({EmailMessage.status: EmailStatus.SENDING, EmailMessage.next_attempt_at: now + lease}).where(
                EmailMessage.id.is_in([row["id"] for row in rows])
            )
    return rows


async def _deliver(settings: Settings, claimed: list[dict], now: dt.datetime, lease: dt.timedelta, counts: dict[str, int]) -> None:
    """One SMTP connection for the batch (a new one if the server drops it between messages).
    Messages left when the lease is nearly over are given back instead of being sent late."""
    started = time.monotonic()
    smtp: aiosmtplib.SMTP | None = None
    try:
        for index, message in enumerate(claimed):
            if time.monotonic() - started > lease.total_seconds() * 0.8:  # our claim is running out
                await _release([m["id"] for m in claimed[index:]], now)
                break
            if smtp is None or not smtp.is_connected:
                try:
                    smtp = await _connect(settings)
                except SEND_ERRORS as exc:  # counts as one attempt for every message not sent yet
                    error = describe(exc)
                    log.warning("SMTP %s:%s unreachable: %s", settings.smtp_host, settings.smtp_port, error)
                    for rest in claimed[index:]:
                        await _record_failure(rest, error, now, settings.email_max_attempts, counts)
                    return
            message_id = rules.message_id_for(message["key"], settings.base_url)
            try:
                await smtp.send_message(_mime(message, settings, message_id, now))
            except MESSAGE_ERRORS as exc:
                await _record_failure(message, describe(exc), now, settings.email_max_attempts, counts)
            else:
                await _record_sent(message["id"], message_id, now, counts)
    finally:
        if smtp is not None and smtp.is_connected:
            try:
                await smtp.quit()
            except SEND_ERRORS:
                smtp.close()


async def _connect(settings: Settings) -> aiosmtplib.SMTP:
    mode = rules.tls_mode(settings.smtp_tls, settings.smtp_port)
    smtp = aiosmtplib.SMTP(
        hostname=settings.smtp_host, port=settings.smtp_port, timeout=SMTP_TIMEOUT,
        use_tls=mode == "implicit", start_tls=mode == "starttls",
        username=settings.smtp_user or None, password=(settings.smtp_password or None) if settings.smtp_user else None,
    )
    await smtp.connect()
    return smtp


def _mime(message: dict, settings: Settings, message_id: str, now: dt.datetime) -> MimeMessage:
    mime = MimeMessage()
    mime["From"] = rules.sender_address(settings.smtp_from, settings.base_url)
    mime["To"] = message["to_address"]
    mime["Subject"] = message["subject"]
    mime["Message-ID"] = message_id
    mime["Date"] = format_datetime(now)
    mime.set_content(message["body"], subtype="plain", charset="utf-8")
    return mime


def describe(exc: BaseException) -> str:
    """What went wrong, in one short line (never a traceback)."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return rules.short_error("; ".join(describe(e) for e in exc.recipients) or "recipients refused")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return rules.short_error(f"SMTP {exc.code}: {exc.message}")
    if isinstance(exc, (asyncio.TimeoutError, aiosmtplib.SMTPTimeoutError)):
        return rules.short_error(f"timed out: {exc}" if str(exc) else "timed out")
    return rules.short_error(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


async def _record_sent(row_id: int, message_id: str, now: dt.datetime, counts: dict[str, int]) -> None:
    async with db.transaction():
        changed = await EmailMessage.update({
            EmailMessage.status: EmailStatus.SENT, EmailMessage.sent_at: now, EmailMessage.message_id: message_id,
            EmailMessage.last_error: "",
        }).where((EmailMessage.id == row_id) & (EmailMessage.status != EmailStatus.SENT)).returning(EmailMessage.id)
    if changed:  # delivered is the truth, even if the message was cancelled or re-claimed meanwhile
        counts["sent"] += 1


async def _record_failure(message: dict, error: str, now: dt.datetime, max_attempts: int, counts: dict[str, int]) -> None:
    outcome = rules.after_failure(message["attempts"], max_attempts, now)
    async with db.transaction():
        changed = await EmailMessage.update({
            EmailMessage.status: outcome.status, EmailMessage.attempts: outcome.attempts,
            EmailMessage.next_attempt_at: outcome.next_attempt_at, EmailMessage.last_error: error,
        }).where((EmailMessage.id == message["id"]) & (EmailMessage.status == EmailStatus.SENDING)).returning(EmailMessage.id)
        if changed and outcome.status == EmailStatus.FAILED:
            await audit.record(Actor.system(), "email_failed", "email", message["id"], client_id=message["client"],
                               before={"status": EmailStatus.SENDING},
                               after={"status": EmailStatus.FAILED, "attempts": outcome.attempts, "last_error": error})
    if changed:
        counts["failed" if outcome.status == EmailStatus.FAILED else "retrying"] += 1


async def _release(ids: list[int], now: dt.datetime) -> None:
    """Give back messages this sender had no time left for: due again at once, no attempt counted."""
    async with db.transaction():
        await EmailMessage.update({EmailMessage.status: EmailStatus.QUEUED, EmailMessage.next_attempt_at: now}).where(
            EmailMessage.id.is_in(ids) & (EmailMessage.status == EmailStatus.SENDING)
        )
