"""What a timeline says about an audit event's fields: each key named in the reader's language and
each stored value written as people read it ("Bank transfer", not "bank_transfer"; "Romanian", not
"ro"; a person's name, not their id; dates as the language writes them). One place for the
timelines and the lawyers' case file.

It knows every area's vocabulary, so it sits with the templates, above the areas."""

from __future__ import annotations

import datetime as dt
import re

from portal.billing.tables import InvoiceKind, InvoiceStatus
from portal.dunning.engine import rules as dunning_rules
from portal.dunning.engine.tables import ActionStatus
from portal.dunning.escalation.tables import PauseKind
from portal.dunning.sanctions.rules import priority_text
from portal.mail.tables import EmailStatus
from portal.messages import N_
from portal.negotiation.disputes.rules import STATE_LABELS
from portal.orders.rules import STAGE_LABELS
from portal.orders.tables import SpecStatus
from portal.web import i18n

FIELD_LABELS = {
    "active": N_("Active"), "amount": N_("Amount"), "amount_minor": N_("Amount"), "answer": N_("Answer"),
    "assignee": N_("Assigned to"), "attempt": N_("Attempt"), "attempts": N_("Attempts"), "channel": N_("Channel"),
    "code": N_("Number"), "comment": N_("Comment"), "count": N_("Count"), "credit_limit_minor": N_("Credit limit"),
    "basis": N_("Ranked by"), "shares": N_("Shares of classes A and B"),
    "credit_note": N_("Credit note"), "credits": N_("Credits invoice"), "currency": N_("Currency"), "date": N_("Date"),
    "discount_bp": N_("Discount"), "dispute_id": N_("Dispute"), "due_at": N_("Due"), "due_date": N_("Due date"),
    "email": N_("Email"), "end_reason": N_("Why it ended"), "event": N_("Event"), "expires_at": N_("Expires"),
    "file": N_("File"), "forgiveness_days": N_("Forgiven days of delay"), "installment": N_("Installment"),
    "installments": N_("Installments"), "invoices": N_("Invoices"), "is_legal": N_("Lawyer"), "kind": N_("Kind"),
    "ladder": N_("Ladder"), "language": N_("Language"), "last_error": N_("Error"), "letter": N_("Letter"),
    "method": N_("Method"), "moved_count": N_("Times moved"), "name": N_("Name"), "note": N_("Note"), "number": N_("Number"),
    "on_credit_hold": N_("Credit hold"), "outcome": N_("Outcome"), "paid_minor": N_("Paid"), "payment_id": N_("Payment"),
    "payment_terms_days": N_("Payment terms (days)"), "position": N_("Position"), "privileged": N_("Privileged"),
    "product": N_("Product"), "promised_date": N_("Promised date"), "purpose": N_("For"), "quantity": N_("Quantity"),
    "reason": N_("Reason"), "reference": N_("Reference"), "reversed_minor": N_("Reversed"), "role": N_("Role"),
    "sales_manager": N_("Sales manager"), "sanction": N_("Sanction"), "segment": N_("Segment"),
    "service_priority": N_("Service priority"), "signature": N_("Signed by"), "stage": N_("Stage"), "state": N_("State"),
    "status": N_("Status"), "step": N_("Step"), "steps": N_("Steps"), "subject": N_("Subject"), "total_minor": N_("Total"),
    "until": N_("Until"), "variant": N_("Variant"), "variants": N_("Variants"), "version": N_("Version"), "via": N_("Through"),
}
# Stored ids of people: the timeline shows their names (audit.service.timeline looks them up).
_VALUE_WORDS: dict[str, dict[str, str]] = {
    "method": {"bank_transfer": N_("Bank transfer"), "cash": N_("Cash"), "card": N_("Card")},
    # the statuses stored by several areas, keyed by their stored value ("sent" and "failed" read the same
    # whichever area stored them)
    "status": {InvoiceStatus.ISSUED: N_("Open"), InvoiceStatus.PAID: N_("Paid"), InvoiceStatus.CANCELLED: N_("Cancelled"),
               SpecStatus.DRAFT: N_("Draft"), SpecStatus.SENT: N_("Sent"), SpecStatus.APPROVED: N_("Approved"),
               SpecStatus.CHANGES_REQUESTED: N_("Changes asked"), SpecStatus.SUPERSEDED: N_("Replaced by a newer version"),
               ActionStatus.DONE: N_("Done"), ActionStatus.SKIPPED: N_("Skipped"), ActionStatus.PENDING: N_("Pending"),
               ActionStatus.FAILED: N_("Failed"), EmailStatus.QUEUED: N_("Queued")},
    "kind": {PauseKind.PROMISE: N_("Promise to pay"), PauseKind.DISPUTE: N_("Dispute"), PauseKind.PROPOSAL: N_("Proposed repayment schedule"),
             PauseKind.PLAN: N_("Repayment plan"), PauseKind.MANUAL: N_("Paused by staff"), PauseKind.CALLBACK: N_("Callback agreed"),
             InvoiceKind.INVOICE: N_("Invoice"), InvoiceKind.CREDIT_NOTE: N_("Credit note")},
    "end_reason": {"paid": N_("Paid"), "broken": N_("Broken"), "expired": N_("Its time ran out"), "lifted": N_("Lifted by staff"),
                   "replaced": N_("Replaced"), "resolved": N_("Resolved"), "rejected": N_("Rejected"), "plan": N_("A plan was agreed"),
                   "done": N_("Done")},
    "purpose": {"debt": N_("Overdue invoices"), "prepayment": N_("Orders waiting for their prepayment")},
    "role": {"admin": N_("Administrator"), "sales_manager": N_("Sales manager"), "spec_coordinator": N_("Spec coordinator"),
             "designer": N_("Designer"), "credit_controller": N_("Credit controller"), "negotiator": N_("Negotiator"),
             "client": N_("Client")},
}
EVENT_LABELS = {
    "payment_partial": N_("Part payment"), "payment_full": N_("Paid in full"), "spec_approved": N_("Spec approved"),
    "promise": N_("Promise to pay"), "promise_broken": N_("Promise to pay broken"), "dispute_opened": N_("Dispute opened"),
    "dispute_rejected": N_("Dispute answered"), "dispute_credited": N_("Credit note for the dispute"),
    "dispute_corrected": N_("Corrected invoice issued"), "proposal": N_("Repayment schedule proposed"),
    "schedule_rejected": N_("Repayment schedule rejected"), "proposal_expired": N_("Review time ran out"),
    "plan_accepted": N_("Repayment plan agreed"), "installment_paid": N_("Installment paid"),
    "plan_broken": N_("Repayment plan broken"), "pause_expired": N_("Pause ran out"), "staff_pause": N_("Paused by staff"),
    "pause_lifted": N_("Pause lifted"), "callback_agreed": N_("Callback agreed"), "callback_done": N_("Callback made"),
    "callback_due": N_("Callback time came"),
}
# What the system stores in English about what it did (dunning outcomes, reasons): read back in the
# reader's language. A fixed phrase is its own message id; the others are recognised by their shape.
_STORED_PHRASES = (
    (re.compile(r"^email queued to (?P<address>\S+)$"), N_("email queued to %(address)s")),
    (re.compile(r"^negotiation window of (?P<days>\d+) days$"), N_("negotiation window of %(days)s days")),
    (re.compile(r"^Discount (?P<discount>.+) removed$"), N_("Discount %(discount)s removed")),
    (re.compile(r"^Service priority lowered from (?P<before>.+) to Low$"), N_("Service priority lowered from %(before)s to Low")),
    (re.compile(r"^Already in force: (?P<what>.+) \(nothing changed\)$"), N_("Already in force: %(what)s (nothing changed)")),
    (re.compile(r"^promised to pay by (?P<date>\d{4}-\d{2}-\d{2})$"), N_("promised to pay by %(date)s")),
    (re.compile(r"^installment (?P<number>\d+) due (?P<date>\d{4}-\d{2}-\d{2}) missed$"),
     N_("installment %(number)s due %(date)s missed")),
)
_STORED_WORDS = {"what": True, "before": True}  # parts that are message ids themselves


def stored_text(text: str) -> str:
    """An English phrase the system stored, in the reader's language (as it was when unknown)."""
    if not text:
        return text
    translated = i18n.translate(text)
    if translated != text:
        return translated
    for shape, message in _STORED_PHRASES:
        found = shape.match(text)
        if found:
            parts = {}
            for name, part in found.groupdict().items():
                if name == "date":
                    parts[name] = i18n.format_date(dt.date.fromisoformat(part))
                else:
                    parts[name] = i18n.translate(part) if name in _STORED_WORDS else part
            return i18n.gettext(message, **parts)
    return text


_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _words_for(key: str) -> dict:
    """Value words that live with their own area (stages, channels, sanctions, states, events)."""
    return {
        "stage": {stage.value: label for stage, label in STAGE_LABELS.items()},
        "channel": dunning_rules.CHANNEL_LABELS,
        "sanction": dunning_rules.SANCTION_LABELS,
        "state": STATE_LABELS,
        "event": EVENT_LABELS,
    }.get(key, _VALUE_WORDS.get(key, {}))


def field_label(key: str) -> str:
    return i18n.gettext(FIELD_LABELS[key]) if key in FIELD_LABELS else key.replace("_", " ").capitalize()


def value_text(key: str, value: object, currency: str | None = None) -> str:
    """One stored value as the reader reads it."""
    if value is None or value == "":
        return "—"
    if value is True or value is False:
        return i18n.gettext("yes") if value else i18n.gettext("no")
    if key.endswith("_minor") and currency and isinstance(value, int):
        return i18n.format_money(value, currency)
    if key.endswith("_bp") and isinstance(value, int):
        return i18n.format_percent_bp(value)
    if key == "language" and value in i18n.LANGUAGE_NAMES:
        return i18n.LANGUAGE_NAMES[value]
    if key == "service_priority" and isinstance(value, int):
        return i18n.gettext(priority_text(value))
    if isinstance(value, list):
        return ", ".join(value_text(key, item, currency) for item in value)
    if isinstance(value, str):
        words = _words_for(key)
        if value in words:
            return i18n.gettext(words[value])
        if key in ("outcome", "reason", "last_error", "error"):
            return stored_text(value)
        if _ISO_DAY.match(value):
            return i18n.format_date(dt.date.fromisoformat(value))
        if _ISO_MOMENT.match(value):
            try:
                return i18n.format_datetime(dt.datetime.fromisoformat(value.replace(" ", "T", 1)))
            except ValueError:
                return value
    if isinstance(value, int):
        return i18n.format_number(value)
    return str(value)


def changed(before: dict | None, key: str, value: object) -> bool:
    """Whether the timeline shows a before → after (not when the value stayed as it was)."""
    return bool(before) and key in before and before[key] != value
