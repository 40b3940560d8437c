"""Queueing messages the way the rest of the portal does, and reading them back."""

from __future__ import annotations

import itertools

from portal import db as portal_db
from portal.mail.service import queue_email
from portal.mail.tables import EmailMessage

_seq = itertools.count(1)


async def queue(*, to: str = "ana@client.test", subject: str | None = None, body: str = "Please pay invoice INV-2025-00001.",
                client_id: int | None = None, key: str | None = None) -> dict:
    """One message queued in its own transaction, as dunning queues them; returns its row."""
    n = next(_seq)
    key = key or f"test-mail-{n}"
    async with portal_db.transaction():
        await queue_email(key=key, to_address=to, subject=subject or f"Reminder {n}", body=body, client_id=client_id)
    return await EmailMessage.select().where(EmailMessage.key == key).first()


async def row(message_id: int) -> dict:
    return await EmailMessage.select().where(EmailMessage.id == message_id).first()
