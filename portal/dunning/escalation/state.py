"""Reading where escalation stands: one invoice (derived live from the facts by rules.decide, so
the page never shows a stale stored state) and a client's worst state over its open invoices."""

from __future__ import annotations

import datetime as dt

from portal.billing.rules import InvoiceKind, InvoiceStatus
from portal.billing.tables import Invoice
from portal.clients.tables import Client
from portal.dunning.engine import rules
from portal.dunning.engine.planner import load_ladders
from portal.dunning.engine.tables import DunningAction, DunningState
from portal.dunning.escalation.prepayment import ladder_ids_for_invoices
from portal.dunning.escalation.tables import Pause, PauseKind
from portal.dunning.ladders.tables import Ladder
from portal.dunning.reasons.tables import CallOutcome


async def for_invoice(invoice_id: int, now: dt.datetime, tz: str) -> dict | None:
    """Current step, next step and when, paused and why, blocked for approval, and the history."""
    invoice = await Invoice.select(
        Invoice.id, Invoice.client, Invoice.due_date, Invoice.total_minor, Invoice.paid_minor, Invoice.status, Invoice.kind,
    ).where(Invoice.id == invoice_id).first()
    if invoice is None or invoice["kind"] != InvoiceKind.INVOICE:
        return None
    client = await Client.select(Client.id, Client.segment, Client.privileged, Client.forgiveness_days).where(
        Client.id == invoice["client"]
    ).first()
    ladder_id = (await ladder_ids_for_invoices([invoice_id]))[invoice_id]
    ladders = await load_ladders()
    ladder = ladders.get(ladder_id) if ladder_id else None
    history = await DunningAction.select(
        DunningAction.id, DunningAction.step, DunningAction.step.name.as_alias("step_name"), DunningAction.channel,
        DunningAction.status, DunningAction.scheduled_at, DunningAction.taken_at, DunningAction.done_at, DunningAction.outcome,
        DunningAction.reason, DunningAction.last_error, DunningAction.attempts, DunningAction.task,
        DunningAction.task.assignee.name.as_alias("task_assignee"), DunningAction.task.done_at.as_alias("task_done_at"),
        DunningAction.task.outcome.as_alias("task_outcome"), DunningAction.created_by.name.as_alias("by_name"),
    ).where(DunningAction.invoice == invoice_id).order_by(DunningAction.taken_at).order_by(DunningAction.id)
    pauses = await Pause.select().where(Pause.invoice == invoice_id).order_by(Pause.starts_at, ascending=False)
    calls = await CallOutcome.select(
        CallOutcome.recorded_at, CallOutcome.reached, CallOutcome.promised_date, CallOutcome.note,
        CallOutcome.delay_reason.name.as_alias("reason"), CallOutcome.user.name.as_alias("by_name"),
    ).where(CallOutcome.invoice == invoice_id).order_by(CallOutcome.recorded_at, ascending=False)
    facts = rules.InvoiceFacts(
        invoice_id=invoice_id, client_id=client["id"], due_date=invoice["due_date"],
        balance_minor=invoice["total_minor"] - invoice["paid_minor"], status=invoice["status"],
        privileged=client["privileged"], forgiveness_days=client["forgiveness_days"],
    )
    decision = rules.decide(
        facts, ladder.steps if ladder else [], [rules.Taken(a["step"], a["status"], a["taken_at"]) for a in history],
        [rules.PauseFacts(p["id"], p["kind"], p["starts_at"], p["until"], p["ended_at"], p["end_reason"]) for p in pauses], now, tz,
        deferral_requested=any(p["kind"] in (PauseKind.PROMISE, PauseKind.PROPOSAL, PauseKind.PLAN) for p in pauses),
    )
    ladder_name = ""
    if ladder_id:
        row = await Ladder.select(Ladder.name).where(Ladder.id == ladder_id).first()
        ladder_name = row["name"] if row else ""
    last = history[-1] if history else None
    return {
        "ladder_id": ladder_id, "ladder_name": ladder_name, "open": facts.balance_minor > 0 and invoice["status"] == InvoiceStatus.ISSUED,
        "current": last, "due_now": decision.due, "next_step": decision.next_step, "next_at": decision.next_at,
        "paused_by": next((p for p in pauses if decision.paused_by and p["id"] == decision.paused_by.id), None),
        "blocked": decision.blocked, "history": history, "pauses": pauses, "calls": calls,
        "channel_labels": rules.CHANNEL_LABELS,
    }


async def worst_for_client(client_id: int) -> dict | None:
    """The heaviest step reached on the client's open invoices (stored state; one query)."""
    row = await DunningState.select(
        DunningState.severity, DunningState.invoice, DunningState.invoice.code.as_alias("code"),
        DunningState.last_step.name.as_alias("step_name"), DunningState.last_step.channel.as_alias("channel"),
    ).where(
        (DunningState.client == client_id) & (DunningState.invoice.status == InvoiceStatus.ISSUED) & (DunningState.severity > 0)
    ).order_by(DunningState.severity, ascending=False).order_by(DunningState.last_position, ascending=False).first()
    return row
