"""The email outbox. `queue_email` is how anything in the portal sends mail: it writes a row in
the caller's transaction (exactly once per `key`); a sender delivers it later through SMTP."""

from __future__ import annotations

import datetime as dt

from piccolo.query.functions.aggregate import Count
from piccolo.query.mixins import OnConflictAction

from portal import bulk, db
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.clock import utcnow
from portal.mail import rules
from portal.mail.tables import EmailMessage, EmailStatus
from portal.web.pagination import Page, decode_cursor, encode_cursor


async def queue_email(
    *, key: str, to_address: str, subject: str, body: str, client_id: int | None = None,
    invoice_id: int | None = None,
) -> bool:
    """Queue one message; a second call with the same key does nothing. Returns whether it was
    queued now. Without SMTP settings it stays queued, readable at /staff/outbox."""
    now = utcnow()
    rows = await EmailMessage.insert(
        EmailMessage(
            key=key[:80], to_address=to_address[:254], subject=" ".join(subject.split())[:300], body=body,
            client=client_id, invoice_id=invoice_id, status=EmailStatus.QUEUED, attempts=0,
            next_attempt_at=now, created_at=now,
        )
    ).on_conflict(target=EmailMessage.key, action=OnConflictAction.do_nothing).returning(EmailMessage.id)
    return bool(rows)


# --- the outbox as staff see it --------------------------------------------------------------

PAGE_SIZE = 50
_LISTED = (
    EmailMessage.id, EmailMessage.to_address, EmailMessage.subject, EmailMessage.status, EmailMessage.attempts,
    EmailMessage.last_error, EmailMessage.next_attempt_at, EmailMessage.created_at, EmailMessage.sent_at,
    EmailMessage.client, EmailMessage.invoice_id,
)


async def list_outbox(filter_key: str, cursor: str | None = None) -> Page:
    """Newest first, PAGE_SIZE at a time, keyset-paged on (created_at, id) descending."""
    statuses = rules.OUTBOX_FILTERS[rules.outbox_filter(filter_key)][1]
    query = EmailMessage.select(*_LISTED, EmailMessage.client.name, EmailMessage.client.language)
    if statuses:
        query = query.where(EmailMessage.status.is_in(list(statuses)))
    key = decode_cursor(cursor, (str, int))
    after = _cursor_time(key[0]) if key else None
    if after is not None:
        query = query.where((EmailMessage.created_at < after) | ((EmailMessage.created_at == after) & (EmailMessage.id < key[1])))
    rows = await query.order_by(EmailMessage.created_at, ascending=False).order_by(EmailMessage.id, ascending=False).limit(PAGE_SIZE + 1)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    next_cursor = encode_cursor([rows[-1]["created_at"].isoformat(), rows[-1]["id"]]) if more else None
    return Page(rows=rows, next_cursor=next_cursor, is_first=after is None)


def _cursor_time(raw: str) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


async def outbox_counts() -> dict[str, int]:
    """How many messages each filter tab shows."""
    rows = await EmailMessage.select(EmailMessage.status, Count(EmailMessage.id, alias="n")).group_by(EmailMessage.status)
    by_status = {row["status"]: row["n"] for row in rows}
    return {
        key: sum(n for status, n in by_status.items() if not statuses or status in statuses)
        for key, (_label, statuses) in rules.OUTBOX_FILTERS.items()
    }


async def get_message(message_id: int) -> dict | None:
    return await EmailMessage.select(EmailMessage.all_columns(), EmailMessage.client.name, EmailMessage.client.language).where(
        EmailMessage.id == message_id).first()


async def retry_failed(message_id: int, actor: Actor, *, now: dt.datetime | None = None) -> bool:
    """Put a failed message back in the queue, due now, with its attempts reset. False when the
    message is not (or no longer) failed: nothing changes then."""
    now = now or utcnow()
    async with db.transaction():
        message = await EmailMessage.select(EmailMessage.id, EmailMessage.status, EmailMessage.attempts, EmailMessage.client).where(
            EmailMessage.id == message_id
        ).first()
        if message is None or message["status"] not in rules.RETRYABLE:
            return False
        await EmailMessage.update({
            EmailMessage.status: EmailStatus.QUEUED, EmailMessage.attempts: 0, EmailMessage.next_attempt_at: now,
        }).where((EmailMessage.id == message_id) & EmailMessage.status.is_in(list(rules.RETRYABLE)))
        await audit.record(actor, "email_retried", "email", message_id, client_id=message["client"],
                           before={"status": message["status"], "attempts": message["attempts"]}, after={"status": EmailStatus.QUEUED, "attempts": 0})
    return True


# Columns of queue_many's rows, in order.
QUEUED_COLUMNS = (EmailMessage.key, EmailMessage.to_address, EmailMessage.subject, EmailMessage.body, EmailMessage.client,
                  EmailMessage.invoice_id, EmailMessage.status, EmailMessage.attempts, EmailMessage.next_attempt_at,
                  EmailMessage.created_at)


async def queue_many(rows: list[tuple]) -> None:
    """Many messages in one statement (the dunning tick): rows of QUEUED_COLUMNS; a key already
    queued is kept as it is (exactly once per key). Joins the caller's transaction."""
    await bulk.insert_many(EmailMessage, QUEUED_COLUMNS, rows, on_conflict="ON CONFLICT (key) DO NOTHING")


async def cancel_for_invoices(invoice_ids: list[int], reason: str) -> None:
    """The messages still queued about these invoices are not sent (they were paid or cancelled)."""
    if invoice_ids:
        await EmailMessage.update({EmailMessage.status: EmailStatus.CANCELLED, EmailMessage.last_error: reason}).where(
            EmailMessage.invoice_id.is_in(invoice_ids) & (EmailMessage.status == EmailStatus.QUEUED)
        )
