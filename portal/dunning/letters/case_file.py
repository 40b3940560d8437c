"""The facts of a case file for the lawyers: one invoice's document, the client's statement of
account from the invoice's issue date to today, and the history of the debt in date order
(every dunning action, every call outcome, every audit event on the invoice), plus what the
cover page says (balance, days overdue, the letters sent, the lawyer's checklist).

Read only; the page that prints it (dunning.letters_staff) renders it to one PDF."""

from __future__ import annotations

import datetime as dt

from portal.audit import labels as audit_labels, service as audit
from portal.billing.documents import service as documents
from portal.billing.statements import service as statements
from portal.clients.tables import Contact
from portal.clock import local_date, utcnow
from portal.dunning.engine.rules import CHANNEL_LABELS
from portal.dunning.engine.tables import ActionStatus, DunningAction
from portal.dunning.letters.tables import Letter
from portal.dunning.reasons.tables import CallOutcome
from portal.messages import N_

HISTORY_LIMIT = 2000  # audit events of one invoice; far more than one debt ever collects

ACTION_STATUS_LABELS = {
    ActionStatus.PENDING: N_("Pending"), ActionStatus.DONE: N_("Done"), ActionStatus.SKIPPED: N_("Skipped"),
    ActionStatus.AWAITING_APPROVAL: N_("Awaiting approval"), ActionStatus.REFUSED: N_("Refused"), ActionStatus.FAILED: N_("Failed"),
    ActionStatus.CANCELLED: N_("Cancelled"),
}
# What the lawyer checks before filing; printed with empty boxes on the cover page.
CHECKLIST = (
    N_("The contract and the payment terms the client agreed to"),
    N_("Proof the goods or services were delivered and accepted (signed delivery notes, acceptance records)"),
    N_("The invoice was received by the client and not disputed in time"),
    N_("The statement of account matches the client's records; payments and credit notes are allocated"),
    N_("Every reminder, call and letter in the history, and the deadline of the formal claim has passed"),
    N_("Penalties and interest due under the contract, calculated to the filing date"),
    N_("The client's registration details and legal address are current"),
    N_("Filing: the court, the fees and the documents to attach"),
)
_ORDER = {"action": 0, "call": 1, "event": 2}


def event_label(action: str) -> str:
    """The message id for an audit action, as the timelines name it."""
    return audit_labels.label(action)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def history(actions: list[dict], calls: list[dict], events: list[dict]) -> list[dict]:
    """Everything that happened to the debt, oldest first: {"at", "kind" (action, call, event), "row"}.
    On the same instant: the ladder's action, then the call, then the audit event."""
    entries = [{"at": _aware(a["taken_at"]), "kind": "action", "row": a} for a in actions]
    entries += [{"at": _aware(c["recorded_at"]), "kind": "call", "row": c} for c in calls]
    entries += [{"at": _aware(e["at"]), "kind": "event", "row": e} for e in events]
    return sorted(entries, key=lambda e: (e["at"], _ORDER[e["kind"]], e["row"]["id"]))


async def case_file(invoice_id: int, *, tz: str, now: dt.datetime | None = None) -> dict | None:
    """Everything the case file prints for one invoice; None when there is no such invoice."""
    document = await documents.invoice_document(invoice_id)
    if document is None:
        return None
    invoice, client = document["invoice"], document["client"]
    today = local_date(now or utcnow(), tz)
    period_from = min(invoice["issue_date"], today)
    actions = await DunningAction.select(
        DunningAction.id, DunningAction.position, DunningAction.channel, DunningAction.status, DunningAction.taken_at,
        DunningAction.scheduled_at, DunningAction.done_at, DunningAction.outcome, DunningAction.reason, DunningAction.last_error,
        DunningAction.step.name.as_alias("step_name"),
    ).where(DunningAction.invoice == invoice_id).order_by(DunningAction.taken_at).order_by(DunningAction.id)
    calls = await CallOutcome.select(
        CallOutcome.id, CallOutcome.recorded_at, CallOutcome.reached, CallOutcome.promised_date, CallOutcome.note,
        CallOutcome.delay_reason.name.as_alias("reason_name"), CallOutcome.user.name.as_alias("user_name"),
    ).where(CallOutcome.invoice == invoice_id).order_by(CallOutcome.recorded_at).order_by(CallOutcome.id)
    events = await audit.timeline("invoice", invoice_id, limit=HISTORY_LIMIT)
    letters = await Letter.select(
        Letter.id, Letter.kind, Letter.subject, Letter.deadline, Letter.status, Letter.created_at, Letter.sent_at,
        Letter.sent_by.name.as_alias("sent_by_name"),
    ).where(Letter.invoice == invoice_id).order_by(Letter.created_at).order_by(Letter.id)
    contacts = await Contact.select(Contact.name, Contact.position, Contact.email, Contact.phone, Contact.is_primary).where(
        Contact.client == client["id"]
    ).order_by(Contact.is_primary, ascending=False).order_by(Contact.id)
    return {
        **document,
        "today": today,
        "days_overdue": max(0, (today - invoice["due_date"]).days) if document["balance_minor"] > 0 else 0,
        "contacts": contacts,
        "letters": letters,
        "statement_from": period_from,
        "statement_to": today,
        "statements": await statements.statement(client["id"], period_from, today),
        "history": history(actions, calls, events),
        "action_count": len(actions),
        "call_count": len(calls),
        "checklist": CHECKLIST,
        "channel_labels": CHANNEL_LABELS,
        "action_status_labels": ACTION_STATUS_LABELS,
        "event_label": event_label,
    }
