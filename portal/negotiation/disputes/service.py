"""Invoice disputes (and what the client's invoice page shows of promises and disputes).

A client disputes an invoice with a reason from the catalogue: one transaction stores the dispute,
gives a credit controller a task, feeds `dispute_opened` to the escalation (the ladder waits, at
most DISPUTE_MAX_DAYS) and audits it. Staff resolve it in one transaction each:
- credit note: billing cancels the invoice with a full credit note, then `dispute_credited`;
- correction: the same, plus a corrected invoice for the corrected amount (due after the client's
  payment terms, followed by the ladder from the day it is issued), then `dispute_corrected`;
- rejected: with an answer, `dispute_rejected` (the ladder goes on) and the dispute counts
  against the client's payment discipline.
Each resolution closes the task, leaves an audit event and tells the client (a notice on the
client's home page, an email to its primary contact).
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from portal import (
    db,
    settlement,  # a credit note or a correction is money moving (the one settlement path)
)
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.audit.tables import AuditEvent
from portal.billing import service as billing
from portal.billing.tables import Invoice, InvoiceKind, InvoiceStatus
from portal.clients import notices
from portal.clock import local_date, utcnow
from portal.dunning.engine import people
from portal.dunning.escalation import service as escalation
from portal.dunning.escalation.rules import EscalationState
from portal.dunning.escalation.tables import Pause, PauseKind
from portal.messages import N_
from portal.negotiation.disputes import rules
from portal.negotiation.tables import Dispute, DisputeResolution, DisputeStatus
from portal.tasks import notifications, service as tasks
from portal.tasks.tables import Task
from portal.web import i18n
from portal.web.forms import Checked
from portal.web.i18n import gettext as _
from portal.web.pagination import Page, decode_cursor, encode_cursor

PAGE_SIZE = 25
TASK_KIND = "dispute"


def dispute_path(dispute_id: int) -> str:
    return f"/staff/disputes/{dispute_id}"


async def _locked_invoice(invoice_id: int) -> dict | None:
    query = Invoice.select(
        Invoice.id, Invoice.client, Invoice.code, Invoice.kind, Invoice.status, Invoice.currency, Invoice.total_minor,
        Invoice.paid_minor, Invoice.order, Invoice.client.name.as_alias("client_name"),
        Invoice.client.sales_manager.as_alias("sales_manager"),
    ).where(Invoice.id == invoice_id)
    if db.is_postgres():  # two disputes of one invoice at once: the second waits, then sees the first
        query = query.lock_rows(of=(Invoice,))
    return await query.first()


def _is_unique_violation(exc: Exception) -> bool:
    return isinstance(exc, sqlite3.IntegrityError) or type(exc).__name__ == "UniqueViolationError"


async def _resolver() -> int | None:
    """Who resolves disputes: the first credit controller, else a negotiator, else an admin."""
    staff = await people.staff_by_role()
    for role in ("credit_controller", "negotiator", "admin"):
        if staff.get(role):
            return staff[role][0]
    return None


# --- the client: dispute an invoice ------------------------------------------------------------

async def open_dispute(client_id: int, invoice_id: int, form: dict[str, str], actor: Actor, *, max_days: int,
                       now: dt.datetime | None = None) -> Checked:
    """The client disputes one of its invoices. Raises LookupError when the invoice is not this
    client's; returns the form checked (values["dispute_id"] when it was opened)."""
    now = now or utcnow()
    checked = rules.check_dispute(form)
    try:
        async with db.transaction():
            invoice = await _locked_invoice(invoice_id)
            if invoice is None or invoice["client"] != client_id:
                raise LookupError(invoice_id)
            if not checked.ok:
                return checked
            earlier = await Dispute.select(Dispute.status).where(Dispute.invoice == invoice_id)
            refusal = rules.dispute_refusal(
                invoice["kind"], invoice["status"], open_dispute=any(d["status"] == DisputeStatus.OPEN for d in earlier),
                answered_before=any(d["status"] == DisputeStatus.RESOLVED for d in earlier),
            )
            if refusal:
                checked.errors["reason"] = _(refusal)
                return checked
            v = checked.values
            dispute = Dispute(invoice=invoice_id, client=client_id, reason=v["reason"], comment=v["comment"], status=DisputeStatus.OPEN,
                              opened_by=actor.user_id, opened_at=now)
            await dispute.save()
            label = rules.reason_label(v["reason"])
            await escalation.feed(escalation.Event(
                "dispute_opened", (invoice_id,), actor, reason=f"disputed by the client: {label}",
                until=rules.dispute_until(now, max_days), source_type="dispute", source_id=dispute.id, now=now,
            ))
            task_id = await _task_for(dispute.id, invoice, label, v["comment"], actor, now)
            if task_id:
                await Dispute.update({Dispute.task: task_id}).where(Dispute.id == dispute.id)
            await audit.record(actor, "dispute_opened", "invoice", invoice_id, client_id=client_id,
                               after={"dispute_id": dispute.id, "reason": v["reason"], "comment": v["comment"]})
            v["dispute_id"] = dispute.id
    except escalation.EscalationError as exc:
        checked.errors["reason"] = _(str(exc))
    except Exception as exc:
        if not _is_unique_violation(exc):
            raise
        checked.errors["reason"] = _(rules.dispute_refusal(InvoiceKind.INVOICE, InvoiceStatus.ISSUED, open_dispute=True, answered_before=False))
    return checked


async def _task_for(dispute_id: int, invoice: dict, label: str, comment: str, actor: Actor, now: dt.datetime) -> int | None:
    """A task for the person who resolves disputes; the client's sales manager is told too."""
    assignee = await _resolver()
    names = {"client": invoice["client_name"], "invoice": invoice["code"]}
    if assignee is not None:
        with i18n.in_language(await notifications.language_of(assignee)):
            reason = i18n.gettext(label)
            title = i18n.gettext("Resolve dispute: %(client)s, %(invoice)s", **names)
            note = i18n.gettext("%(reason)s. %(comment)s\nOpen the dispute: %(path)s", reason=reason, comment=comment,
                                path=dispute_path(dispute_id)).strip()
        task_id = await tasks.create(TASK_KIND, assignee, title=title, note=note, due_at=now, client=invoice["client"],
                                     invoice=invoice["id"], created_by=actor.user_id, now=now)
        await notifications.tell(assignee, N_("%(client)s disputes %(invoice)s: %(reason)s. Resolve it within the pause."),
                                 dispute_path(dispute_id), reason=reason, **names)
    if invoice["sales_manager"] and invoice["sales_manager"] != assignee:
        with i18n.in_language(await notifications.language_of(invoice["sales_manager"])):
            reason = i18n.gettext(label)
        await notifications.tell(invoice["sales_manager"], N_("%(client)s disputes %(invoice)s: %(reason)s. The reminders wait."),
                                 f"/staff/invoices/{invoice['id']}", reason=reason, **names)
    return task_id if assignee is not None else None


# --- staff: resolve a dispute ------------------------------------------------------------------

async def _dispute_with_invoice(dispute_id: int, *, lock: bool = False) -> dict | None:
    query = Dispute.select(
        Dispute.all_columns(), Dispute.invoice.code.as_alias("invoice_code"), Dispute.invoice.currency.as_alias("currency"),
        Dispute.invoice.total_minor.as_alias("invoice_total_minor"), Dispute.invoice.status.as_alias("invoice_status"),
        Dispute.invoice.order.as_alias("invoice_order"), Dispute.client.name.as_alias("client_name"),
        Dispute.client.language.as_alias("language"), Dispute.client.payment_terms_days.as_alias("terms_days"),
        Dispute.opened_by.name.as_alias("opened_by_name"), Dispute.resolved_by.name.as_alias("resolved_by_name"),
    ).where(Dispute.id == dispute_id)
    if lock and db.is_postgres():  # two resolutions at once: the second waits, then sees it resolved
        query = query.lock_rows(of=(Dispute,))
    return await query.first()


async def resolve(dispute_id: int, resolution: str, form: dict[str, str], actor: Actor, *, tz: str,
                  now: dt.datetime | None = None) -> Checked:
    """Resolve an open dispute: "credit_note", "correction" (form: amount, answer) or "rejected"
    (form: answer, required). Raises LookupError for a missing dispute. One transaction."""
    if resolution not in rules.RESOLUTIONS:
        raise ValueError(resolution)
    now = now or utcnow()
    dispute = await _dispute_with_invoice(dispute_id)
    if dispute is None:
        raise LookupError(dispute_id)
    checked, lines = await _checked_resolution(dispute, resolution, form)
    if not checked.ok:
        return checked
    field = "amount" if resolution == DisputeResolution.CORRECTION else "answer"
    try:
        async with db.transaction():
            dispute = await _dispute_with_invoice(dispute_id, lock=True)
            if dispute["status"] != DisputeStatus.OPEN:
                checked.errors[field] = _("This dispute is already resolved.")
                return checked
            checked.values.update(await _carry_out(dispute, resolution, checked.values, lines, actor, tz, now))
    except (billing.BillingError, escalation.EscalationError) as exc:
        checked.errors[field] = _(str(exc))
    return checked


async def _checked_resolution(dispute: dict, resolution: str, form: dict[str, str]) -> tuple[Checked, list]:
    if resolution == DisputeResolution.REJECTED:
        return rules.check_answer(form, required=True), []
    if resolution == DisputeResolution.CREDIT_NOTE:
        return rules.check_answer(form, required=False), []
    checked = rules.check_correction(form, dispute["currency"], dispute["invoice_total_minor"])
    if not checked.ok:
        return checked, []
    try:
        return checked, rules.correction_lines(await billing.lines_of(dispute["invoice"]), checked.values["amount_minor"],
                                               dispute["invoice_code"])
    except rules.CorrectionRefused as refused:
        checked.errors["amount"] = _(
            "With this invoice's VAT no total comes to exactly that amount; the nearest are %(below)s and %(above)s.",
            below=i18n.format_money(refused.below, dispute["currency"]), above=i18n.format_money(refused.above, dispute["currency"]),
        )
        return checked, []


async def _carry_out(dispute: dict, resolution: str, values: dict, lines: list, actor: Actor, tz: str, now: dt.datetime) -> dict:
    invoice_id, answer = dispute["invoice"], values["answer"]
    label = rules.reason_label(dispute["reason"])
    done: dict = {"resolution": resolution}
    amount = 0
    if resolution in (DisputeResolution.CREDIT_NOTE, DisputeResolution.CORRECTION):
        why = f"Dispute {dispute['id']} ({label}): {answer}" if answer else f"Dispute {dispute['id']}: {label}"
        event = "dispute_credited" if resolution == DisputeResolution.CREDIT_NOTE else "dispute_corrected"
        credit_note = await settlement.cancel_invoice(invoice_id, why, actor, dispute=(event, dispute["id"]))
        done["credit_note"] = credit_note["code"]
        amount = dispute["invoice_total_minor"]
        if resolution == DisputeResolution.CORRECTION:
            today = local_date(now, tz)
            corrected = await billing.issue_invoice(
                client_id=dispute["client"], currency=dispute["currency"], lines=lines, issue_date=today,
                terms_days=dispute["terms_days"], order_id=dispute["invoice_order"], actor=actor,
            )
            done.update(corrected_invoice_id=corrected["id"], corrected_code=corrected["code"],
                        corrected_due=corrected["due_date"].isoformat())
            amount = corrected["total_minor"]
    elif (await escalation.states_of([invoice_id]))[invoice_id] == EscalationState.DISPUTED:  # a pause that ran out: the ladder runs on
        await escalation.feed(escalation.Event("dispute_rejected", (invoice_id,), actor, reason=answer or label, source_type="dispute",
                                               source_id=dispute["id"], now=now))
    await Dispute.update({
        Dispute.status: DisputeStatus.RESOLVED, Dispute.resolution: resolution, Dispute.answer: answer, Dispute.amount_minor: amount,
        Dispute.resolved_by: actor.user_id, Dispute.resolved_at: now, Dispute.counts_against: resolution == DisputeResolution.REJECTED,
    }).where(Dispute.id == dispute["id"])
    if dispute["task"]:
        await tasks.finish_open(dispute["task"], f"Resolved: {resolution.replace('_', ' ')}. {answer}".strip(), now)
    await audit.record(actor, "dispute_resolved", "invoice", invoice_id, client_id=dispute["client"],
                       before={"status": DisputeStatus.OPEN},
                       after={"dispute_id": dispute["id"], **done, "answer": answer, **({"amount_minor": amount} if amount else {})})
    await _tell_client(dispute, done, answer, amount, now)
    return done


async def _tell_client(dispute: dict, done: dict, answer: str, amount: int, now: dt.datetime) -> None:
    code, currency = dispute["invoice_code"], dispute["currency"]
    with notices.speaking(dispute["language"] or "en"):
        if done["resolution"] == DisputeResolution.CREDIT_NOTE:
            message = i18n.gettext("Your dispute of invoice %(code)s: we agree. Credit note %(note)s cancels the invoice; you owe nothing on it.",
                                   code=code, note=done["credit_note"])
        elif done["resolution"] == DisputeResolution.CORRECTION:
            message = i18n.gettext(
                "Your dispute of invoice %(code)s: we cancelled it and issued the corrected invoice %(new)s for %(amount)s, due on %(due)s.",
                code=code, new=done["corrected_code"], amount=i18n.format_money(amount, currency),
                due=i18n.format_date(dt.date.fromisoformat(done["corrected_due"])),
            )
        else:
            message = i18n.gettext("Your dispute of invoice %(code)s was not upheld; the invoice stands and reminders continue.", code=code)
        if answer:
            message += " " + i18n.gettext("Our answer: %(answer)s", answer=answer)
        subject = i18n.gettext("Your dispute of invoice %(code)s", code=code)
    link = f"/client/invoices/{done.get('corrected_invoice_id') or dispute['invoice']}"
    await notices.notify_client(dispute["client"], "dispute_answered", message, link=link, subject=subject,
                                email_key=f"dispute-{dispute['id']}-answered", now=now)


# --- reading -----------------------------------------------------------------------------------

def _shape(row: dict, now: dt.datetime) -> dict:
    row["reason_label"] = rules.reason_label(row["reason"])
    row["days_open"] = rules.days_open(row["opened_at"], row["resolved_at"] or now)
    return row


async def list_disputes(status_filter: str, cursor: str | None, now: dt.datetime) -> Page:
    """Open disputes first, then resolved ones, newest first within each; keyset-paged on (status, id)."""
    query = Dispute.select(
        Dispute.id, Dispute.reason, Dispute.comment, Dispute.status, Dispute.resolution, Dispute.opened_at, Dispute.resolved_at,
        Dispute.counts_against, Dispute.client, Dispute.client.name.as_alias("client_name"), Dispute.invoice,
        Dispute.invoice.code.as_alias("invoice_code"), Dispute.invoice.total_minor.as_alias("invoice_total_minor"),
        Dispute.invoice.currency.as_alias("currency"),
    )
    if status_filter in (DisputeStatus.OPEN, DisputeStatus.RESOLVED):
        query = query.where(Dispute.status == status_filter)
    key = decode_cursor(cursor, (str, int))
    if key:
        query = query.where((Dispute.status > key[0]) | ((Dispute.status == key[0]) & (Dispute.id < key[1])))
    rows = await query.order_by(Dispute.status).order_by(Dispute.id, ascending=False).limit(PAGE_SIZE + 1)
    more = len(rows) > PAGE_SIZE
    rows = [_shape(row, now) for row in rows[:PAGE_SIZE]]
    return Page(rows=rows, next_cursor=encode_cursor([rows[-1]["status"], rows[-1]["id"]]) if more else None, is_first=key is None)


async def open_count() -> int:
    return await Dispute.count().where(Dispute.status == DisputeStatus.OPEN)


async def dispute_page(dispute_id: int, now: dt.datetime) -> dict | None:
    """One dispute with its invoice's figures and state, its task, and what resolved it."""
    dispute = await _dispute_with_invoice(dispute_id)
    if dispute is None:
        return None
    _shape(dispute, now)
    invoice_id = dispute["invoice"]
    task = await Task.select(Task.id, Task.assignee.name.as_alias("assignee_name"), Task.done_at, Task.outcome).where(
        Task.id == dispute["task"]).first() if dispute["task"] else None
    invoice = await billing.get_invoice(invoice_id)
    return {
        "dispute": dispute, "invoice": invoice, "lines": await billing.lines_of(invoice_id),
        "state": (await escalation.states_of([invoice_id]))[invoice_id], "task": task,
        "outcome": await _outcome(dispute), "timeline": await audit.timeline("invoice", invoice_id),
    }


async def _outcome(dispute: dict) -> dict:
    """What the resolution produced (the credit note, the corrected invoice), from its audit event."""
    if dispute["status"] != DisputeStatus.RESOLVED:
        return {}
    rows = await AuditEvent.select(AuditEvent.after).where(
        (AuditEvent.object_type == "invoice") & (AuditEvent.object_id == dispute["invoice"]) & (AuditEvent.action == "dispute_resolved")
    ).order_by(AuditEvent.id, ascending=False).output(load_json=True)
    for row in rows:
        after = row["after"] if isinstance(row["after"], dict) else {}
        if after.get("dispute_id") == dispute["id"]:
            return after
    return {}


async def invoice_panel(client_id: int, invoice_id: int) -> dict | None:
    """What the client's invoice page shows of promises and disputes, and which forms it offers."""
    invoice = await Invoice.select(Invoice.id, Invoice.kind, Invoice.status, Invoice.code, Invoice.due_date).where(
        (Invoice.id == invoice_id) & (Invoice.client == client_id)
    ).first()
    if invoice is None or invoice["kind"] != InvoiceKind.INVOICE:
        return None
    state = (await escalation.states_of([invoice_id]))[invoice_id]
    promise = await Pause.select(Pause.promised_date, Pause.until).where(
        (Pause.invoice == invoice_id) & (Pause.kind == PauseKind.PROMISE) & Pause.ended_at.is_null()
    ).first()
    disputes = await Dispute.select(
        Dispute.id, Dispute.reason, Dispute.comment, Dispute.status, Dispute.resolution, Dispute.answer, Dispute.opened_at,
        Dispute.resolved_at,
    ).where((Dispute.invoice == invoice_id) & (Dispute.client == client_id)).order_by(Dispute.id, ascending=False)
    for row in disputes:
        row["reason_label"] = rules.reason_label(row["reason"])
    is_open = rules.open_invoice(invoice["kind"], invoice["status"])
    refusal = rules.dispute_refusal(invoice["kind"], invoice["status"], open_dispute=any(d["status"] == DisputeStatus.OPEN for d in disputes),
                                    answered_before=any(d["status"] == DisputeStatus.RESOLVED for d in disputes))
    return {
        "invoice_id": invoice_id, "state": state, "state_text": rules.CLIENT_STATES.get(state, ""), "promise": promise,
        "disputes": disputes, "can_promise": is_open and promise is None and state in rules.PROMISE_STATES,
        "can_dispute": refusal is None and state in rules.DISPUTE_STATES, "reasons": rules.REASONS,
        "values": {}, "errors": {}, "form": "", "done": "",
        "overdue": is_open and invoice["due_date"] < local_date(utcnow(), i18n.current_timezone()),
    }


async def payment_discipline(client_id: int) -> dict:
    """How the client kept its word: promises broken, disputes rejected (they held the ladder without cause)."""
    broken = await Pause.count().where((Pause.client == client_id) & (Pause.kind == PauseKind.PROMISE) & (Pause.end_reason == "broken"))
    rejected = await Dispute.count().where((Dispute.client == client_id) & (Dispute.counts_against == True))  # noqa: E712
    return {"broken_promises": broken, "rejected_disputes": rejected}

