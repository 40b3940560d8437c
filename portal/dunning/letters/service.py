"""The print-and-send register: the letters, formal claims, court warnings and legal hand-overs
the dunning engine wrote (dunning.executor), what a printed letter shows, and marking one sent.

A letter waits as "to_send" until the person who signs it marks it sent: that records who and
when, closes the ladder's task for it (outcome "Sent") and leaves a "letter_sent" event on the
invoice's history, all in one transaction. The register lists the letters to send first, oldest
first, then the sent ones, most recently sent first; it is keyset-paged on that order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from piccolo.query.functions.aggregate import Count

from portal import db
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.billing import rules as billing_rules
from portal.billing.tables import Invoice
from portal.clients.tables import Client
from portal.clock import local_date, utcnow
from portal.dunning.letters.tables import Letter, LetterStatus
from portal.messages import N_
from portal.tasks import service as tasks
from portal.tasks.tables import Task
from portal.web.i18n import gettext as _
from portal.web.pagination import Page, decode_cursor, encode_cursor

PAGE_SIZE = 50
KIND_LABELS = {
    "letter": N_("Demand letter"),
    "formal_claim": N_("Formal claim"),
    "court_warning": N_("Warning of court"),
    "legal_handover": N_("Case file for the lawyers"),
}
STATUS_LABELS: dict[str, str] = {LetterStatus.TO_SEND: N_("To send"), LetterStatus.SENT: N_("Sent")}
# the kinds that give the client a date to pay by (printed in bold)
WITH_DEADLINE = ("formal_claim", "court_warning")
CASE_FILE = "legal_handover"
ALL = "all"


class LetterNotFound(LookupError):
    """No such letter (the route answers 404)."""


def kind_filter(raw: str | None) -> str:
    return raw if raw in KIND_LABELS else ALL


def status_filter(raw: str | None) -> str:
    return raw if raw in STATUS_LABELS else ALL


def pdf_filename(code: str, kind: str) -> str:
    """INV-2026-00012-formal-claim.pdf: letters, digits and dashes only, safe in a header."""
    stem = "case-file" if kind == CASE_FILE else kind.replace("_", "-")
    return "".join(c for c in f"{code}-{stem}" if c.isalnum() or c in "-_") + ".pdf"


def paragraphs(body: str) -> list[str]:
    """The letter's text in paragraphs (split at blank lines; single line breaks stay)."""
    blocks = [block.strip() for block in body.replace("\r\n", "\n").split("\n\n")]
    return [block for block in blocks if block]


# --- the register -------------------------------------------------------------------------------

_LISTED = (
    Letter.id, Letter.kind, Letter.language, Letter.subject, Letter.deadline, Letter.status, Letter.created_at, Letter.sent_at,
    Letter.invoice, Letter.client, Letter.action, Letter.invoice.code.as_alias("invoice_code"),
    Letter.client.name.as_alias("client_name"), Letter.sent_by.name.as_alias("sent_by_name"),
)


def _cursor_key(cursor: str | None) -> tuple[str, dt.datetime, int] | None:
    key = decode_cursor(cursor, (str, str, int))
    if key is None or key[0] not in STATUS_LABELS:
        return None
    try:
        at = dt.datetime.fromisoformat(key[1])
    except ValueError:
        return None
    return (key[0], at, key[2]) if at.tzinfo is not None else None


def _next_cursor(row: dict) -> str:
    at = row["created_at"] if row["status"] == LetterStatus.TO_SEND else row["sent_at"]
    return encode_cursor([row["status"], at.isoformat(), row["id"]])


async def register(kind: str = ALL, status: str = ALL, cursor: str | None = None) -> Page:
    """PAGE_SIZE letters: those to send (oldest first), then those sent (most recently sent first)."""
    kind, status = kind_filter(kind), status_filter(status)
    key = _cursor_key(cursor)
    groups = [g for g in (LetterStatus.TO_SEND, LetterStatus.SENT) if status in (ALL, g)]
    if key is not None and key[0] == LetterStatus.SENT:
        groups = [g for g in groups if g == LetterStatus.SENT]
    rows: list[dict] = []
    for group in groups:
        wanted = PAGE_SIZE + 1 - len(rows)
        if wanted <= 0:
            break
        query = Letter.select(*_LISTED).where(Letter.status == group)
        if kind != ALL:
            query = query.where(Letter.kind == kind)
        if group == LetterStatus.TO_SEND:
            if key is not None and key[0] == LetterStatus.TO_SEND:
                query = query.where((Letter.created_at > key[1]) | ((Letter.created_at == key[1]) & (Letter.id > key[2])))
            query = query.order_by(Letter.created_at, Letter.id)
        else:
            if key is not None and key[0] == LetterStatus.SENT:
                query = query.where((Letter.sent_at < key[1]) | ((Letter.sent_at == key[1]) & (Letter.id < key[2])))
            query = query.order_by(Letter.sent_at, Letter.id, ascending=False)
        rows += await query.limit(wanted)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return Page(rows=rows, next_cursor=_next_cursor(rows[-1]) if more else None, is_first=key is None)


async def register_counts() -> dict[str, int]:
    """How many letters wait to be sent and how many were sent."""
    rows = await Letter.select(Letter.status, Count(Letter.id, alias="n")).group_by(Letter.status)
    counts: dict[str, int] = {LetterStatus.TO_SEND: 0, LetterStatus.SENT: 0}
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


async def get_letter(letter_id: int) -> dict | None:
    """One letter as the register shows it."""
    return await Letter.select(*_LISTED, Letter.body).where(Letter.id == letter_id).first()


# --- marking a letter sent ----------------------------------------------------------------------

@dataclass(frozen=True)
class MarkResult:
    sent: bool  # False: it had been marked sent already, nothing changed
    task_closed: bool = False


async def mark_sent(letter_id: int, actor: Actor, *, now: dt.datetime | None = None) -> MarkResult:
    """Record that the letter went out (who, when), close its open task and audit it on the invoice.
    Raises LetterNotFound; a letter already sent is left as it is (MarkResult.sent is False)."""
    now = now or utcnow()
    async with db.transaction():
        query = Letter.select(Letter.id, Letter.action, Letter.invoice, Letter.client, Letter.kind, Letter.subject,
                              Letter.status).where(Letter.id == letter_id)
        if db.is_postgres():
            query = query.lock_rows()
        letter = await query.first()
        if letter is None:
            raise LetterNotFound(letter_id)
        if letter["status"] != LetterStatus.TO_SEND:
            return MarkResult(sent=False)
        await Letter.update({Letter.status: LetterStatus.SENT, Letter.sent_at: now, Letter.sent_by: actor.user_id}).where(
            (Letter.id == letter_id) & (Letter.status == LetterStatus.TO_SEND)
        )
        closed = await tasks.close_for_action(letter["action"], _("Sent"), now)
        await audit.record(actor, "letter_sent", "invoice", letter["invoice"], client_id=letter["client"],
                           before={"status": LetterStatus.TO_SEND},
                           after={"status": LetterStatus.SENT, "letter": letter["kind"], "subject": letter["subject"],
                                  "task_closed": closed})
    return MarkResult(sent=True, task_closed=closed)


# --- the printed letter -------------------------------------------------------------------------

async def letter_document(letter_id: int, *, tz: str, now: dt.datetime | None = None) -> dict | None:
    """What the printed letter shows: the letter (dated the day the ladder wrote it, in the firm's
    zone), its paragraphs, the client's name and address, the invoice's figures as they stand now,
    and who signs it (the person its task is assigned to, or who marked it sent)."""
    letter = await get_letter(letter_id)
    if letter is None:
        return None
    client = await Client.select(Client.id, Client.name, Client.tax_id, Client.address, Client.language).where(
        Client.id == letter["client"]
    ).first()
    invoice = await Invoice.select(
        Invoice.id, Invoice.code, Invoice.kind, Invoice.status, Invoice.currency, Invoice.issue_date, Invoice.due_date,
        Invoice.total_minor, Invoice.paid_minor,
    ).where(Invoice.id == letter["invoice"]).first()
    task = await Task.select(Task.assignee.name.as_alias("name")).where(Task.dunning_action == letter["action"]).first()
    signer = letter["sent_by_name"] or (task["name"] if task else "")
    today = local_date(now or utcnow(), tz)
    return {
        "letter": letter,
        "client": client,
        "invoice": invoice,
        "balance_minor": billing_rules.balance_of(invoice["kind"], invoice["status"], invoice["total_minor"], invoice["paid_minor"]),
        "days_overdue": max(0, (today - invoice["due_date"]).days),
        "letter_date": local_date(letter["created_at"], tz),
        "paragraphs": paragraphs(letter["body"]),
        "signer": signer or "",
        "with_deadline": letter["kind"] in WITH_DEADLINE and letter["deadline"] is not None,
    }
