"""The email outbox. `queue_email` is how anything in the portal sends mail: it writes a row in
the caller's transaction (exactly once per `key`); a sender delivers it later through SMTP."""

from __future__ import annotations

from piccolo.query.mixins import OnConflictAction

from portal.clock import utcnow
from portal.mail.tables import EmailMessage


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
            client=client_id, invoice_id=invoice_id, status="queued", attempts=0,
            next_attempt_at=now, created_at=now,
        )
    ).on_conflict(target=EmailMessage.key, action=OnConflictAction.do_nothing).returning(EmailMessage.id)
    return bool(rows)
