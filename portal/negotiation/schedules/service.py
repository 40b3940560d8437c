"""Repayment schedules: propose, counter, accept, reject, draft and offer; every version kept.

Each use case is one transaction. Turns alternate: a schedule `with_staff` waits for the firm's
answer, `with_client` for the client's. Whoever's turn it is may accept the offer on the table,
counter it with new installments (a new version) or reject it. Every change reaches the ladder
through escalation.feed: a proposal pauses it (bounded by PROPOSAL_REVIEW_DAYS from the schedule's
opening, so countering cannot stall it for longer), an acceptance turns the pause into the plan's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal import db
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.billing import conditions
from portal.billing.rules import InvoiceKind, InvoiceStatus
from portal.billing.tables import Invoice
from portal.clients.notices import client_language, notify_client, speaking
from portal.clients.tables import Client
from portal.clock import local_date, utcnow
from portal.dunning.engine import rules as ladder_rules
from portal.dunning.engine.people import first_of_role
from portal.dunning.escalation import service as escalation
from portal.dunning.escalation.rules import EscalationState
from portal.dunning.escalation.tables import PauseKind
from portal.messages import N_
from portal.negotiation.schedules import rules
from portal.negotiation.tables import Installment, Schedule, ScheduleInvoice, ScheduleStatus, ScheduleVersion
from portal.tasks import notifications, service as tasks
from portal.web import i18n

LIVE = (ScheduleStatus.DRAFT, ScheduleStatus.WITH_STAFF, ScheduleStatus.WITH_CLIENT, ScheduleStatus.ACCEPTED)
OPEN = (ScheduleStatus.DRAFT, ScheduleStatus.WITH_STAFF, ScheduleStatus.WITH_CLIENT)
STATUS_LABELS = {
    ScheduleStatus.DRAFT: N_("Draft"),
    ScheduleStatus.WITH_STAFF: N_("Waiting for our answer"),
    ScheduleStatus.WITH_CLIENT: N_("Waiting for the client's answer"),
    ScheduleStatus.ACCEPTED: N_("Accepted: the plan runs"),
    ScheduleStatus.REJECTED: N_("Rejected"),
    ScheduleStatus.BROKEN: N_("Broken: an installment was missed"),
    ScheduleStatus.COMPLETED: N_("Completed: paid"),
}


class ScheduleError(Exception):
    """A request refused; `errors` maps form fields to messages shown next to them."""

    def __init__(self, errors: dict[str, str] | str, values: dict | None = None) -> None:
        self.errors = errors if isinstance(errors, dict) else {"form": errors}
        self.values = values or {}
        super().__init__("; ".join(self.errors.values()))


@dataclass(frozen=True)
class Context:
    """What every use case needs besides its own input: the policy and the firm's zone."""

    policy: rules.Policy
    tz: str

    def today(self, now: dt.datetime) -> dt.date:
        return local_date(now, self.tz)

    def midnight(self, day: dt.date) -> dt.datetime:
        return ladder_rules.local_at(day, dt.time(0, 0), self.tz)


# --- reading ----------------------------------------------------------------------------------

async def open_debts(client_id: int, today: dt.date) -> list[dict]:
    """The client's overdue open invoices a new schedule may cover: not already in a live schedule."""
    rows = await Invoice.select(
        Invoice.id, Invoice.code, Invoice.currency, Invoice.due_date, Invoice.total_minor, Invoice.paid_minor,
    ).where(
        (Invoice.client == client_id) & conditions.overdue(today)
    ).order_by(Invoice.due_date).order_by(Invoice.id)
    taken = await _in_live_schedules([r["id"] for r in rows])
    states = await escalation.states_of([r["id"] for r in rows])
    out = []
    for row in rows:
        if row["id"] in taken or states.get(row["id"]) == EscalationState.DISPUTED:
            continue
        row["balance_minor"] = row["total_minor"] - row["paid_minor"]
        row["days_overdue"] = (today - row["due_date"]).days
        out.append(row)
    return out


async def _in_live_schedules(invoice_ids: list[int], except_schedule: int | None = None) -> set[int]:
    if not invoice_ids:
        return set()
    query = ScheduleInvoice.select(ScheduleInvoice.invoice).where(
        ScheduleInvoice.invoice.is_in(invoice_ids) & ScheduleInvoice.schedule.status.is_in(list(LIVE))
    )
    if except_schedule is not None:
        query = query.where(ScheduleInvoice.schedule != except_schedule)
    return {r["invoice"] for r in await query}


async def get(schedule_id: int, *, client_id: int | None = None) -> dict | None:
    """A schedule with its client's name; None when missing or (with client_id) not that client's."""
    query = Schedule.select(Schedule.all_columns(), Schedule.client.name.as_alias("client_name"),
                            Schedule.client.segment.as_alias("segment"), Schedule.negotiator.name.as_alias("negotiator_name"))
    query = query.where(Schedule.id == schedule_id)
    if client_id is not None:
        query = query.where(Schedule.client == client_id)
    return await query.first()


async def versions_of(schedule_id: int) -> list[dict]:
    """Every version, oldest first, each with its installments (two queries)."""
    versions = await ScheduleVersion.select(
        ScheduleVersion.all_columns(), ScheduleVersion.author.name.as_alias("author_name")
    ).where(ScheduleVersion.schedule == schedule_id).order_by(ScheduleVersion.number)
    rows = await Installment.select().where(Installment.schedule == schedule_id).order_by(Installment.number)
    by_version: dict[int, list[dict]] = {}
    for row in rows:
        by_version.setdefault(row["version"], []).append(row)
    for version in versions:
        version["installments"] = by_version.get(version["id"], [])
    return versions


async def invoices_of(schedule_id: int) -> list[dict]:
    rows = await ScheduleInvoice.select(
        ScheduleInvoice.invoice, ScheduleInvoice.balance_minor, ScheduleInvoice.paid_before_minor,
        ScheduleInvoice.invoice.code.as_alias("code"), ScheduleInvoice.invoice.due_date.as_alias("due_date"),
        ScheduleInvoice.invoice.total_minor.as_alias("total_minor"), ScheduleInvoice.invoice.paid_minor.as_alias("paid_minor"),
        ScheduleInvoice.invoice.status.as_alias("status"), ScheduleInvoice.invoice.currency.as_alias("currency"),
    ).where(ScheduleInvoice.schedule == schedule_id).order_by(ScheduleInvoice.invoice.due_date).order_by(ScheduleInvoice.invoice)
    for row in rows:
        row["open_minor"] = row["total_minor"] - row["paid_minor"] if row["status"] == InvoiceStatus.ISSUED else 0
    return rows


def current_rows(versions: list[dict], number: int | None) -> list[rules.Row]:
    for version in versions:
        if version["number"] == number:
            return [rules.Row(i["due_date"], i["amount_minor"]) for i in version["installments"]]
    return []


def paid_since(invoices: list[dict]) -> int:
    """What the covered invoices received since the plan started (a cancelled one counts as
    settled: it no longer owes anything)."""
    total = 0
    for row in invoices:
        paid_now = row["total_minor"] if row["status"] == InvoiceStatus.CANCELLED else row["paid_minor"]
        total += max(0, paid_now - row["paid_before_minor"])
    return total


async def list_for_client(client_id: int) -> list[dict]:
    return await Schedule.select(
        Schedule.id, Schedule.status, Schedule.current_version, Schedule.currency, Schedule.debt_minor, Schedule.updated_at,
        Schedule.created_at,
    ).where((Schedule.client == client_id) & (Schedule.status != ScheduleStatus.DRAFT)).order_by(Schedule.id, ascending=False).limit(100)


# --- writing ----------------------------------------------------------------------------------

async def _debts(client_id: int, invoice_ids: list[int], today: dt.date, *, schedule_id: int | None = None) -> list[dict]:
    ids = sorted(set(invoice_ids))
    if not ids:
        raise ScheduleError({"invoices": N_("Choose at least one overdue invoice.")})
    rows = await Invoice.select(
        Invoice.id, Invoice.code, Invoice.client, Invoice.currency, Invoice.status, Invoice.kind, Invoice.due_date,
        Invoice.total_minor, Invoice.paid_minor,
    ).where(Invoice.id.is_in(ids))
    if len(rows) != len(ids) or any(r["client"] != client_id or r["kind"] != InvoiceKind.INVOICE for r in rows):
        raise LookupError(ids)
    if any(r["status"] != InvoiceStatus.ISSUED for r in rows):
        raise ScheduleError({"invoices": N_("One of the chosen invoices is already settled.")})
    if len({r["currency"] for r in rows}) != 1:
        raise ScheduleError({"invoices": N_("Choose invoices in one currency.")})
    if EscalationState.DISPUTED in (await escalation.states_of(ids)).values():
        raise ScheduleError({"invoices": N_("A disputed invoice cannot go into a repayment schedule until the dispute is resolved.")})
    if await _in_live_schedules(ids, except_schedule=schedule_id):
        raise ScheduleError({"invoices": N_("One of the chosen invoices is already in a repayment schedule.")})
    for row in rows:
        row["balance_minor"] = row["total_minor"] - row["paid_minor"]
    return rows


async def segment_of(client_id: int) -> str:
    row = await Client.select(Client.segment).where(Client.id == client_id).first()
    return row["segment"] if row else "B"


def _checked(rows: list[rules.Row], debt: int, today: dt.date, ctx: Context, segment: str) -> None:
    checked = rules.check(rows, debt, today, ctx.policy, segment)
    if not checked.ok:
        raise ScheduleError(checked.errors)


async def _add_version(schedule_id: int, number: int, side: str, actor: Actor, note: str, rows: list[rules.Row],
                       now: dt.datetime) -> int:
    version = ScheduleVersion(schedule=schedule_id, number=number, side=side, author=actor.user_id, note=note.strip()[:2000],
                              total_minor=sum(r.amount_minor for r in rows), created_at=now)
    await version.save()
    await Installment.insert(*[
        Installment(version=version.id, schedule=schedule_id, number=k + 1, due_date=r.due_date, amount_minor=r.amount_minor)
        for k, r in enumerate(rows)
    ])
    return version.id


async def _negotiator_for(client_id: int) -> int | None:
    negotiator = await first_of_role("negotiator")
    if negotiator is not None:
        return negotiator
    row = await Client.select(Client.sales_manager).where(Client.id == client_id).first()
    return row["sales_manager"] if row else None


async def _task(assignee: int | None, schedule_id: int, client_id: int, title: str, note: str, now: dt.datetime,
                **values: object) -> None:
    """The negotiator's task for the schedule's turn: `title` a message id (N_) worded in their language."""
    if assignee is None:
        return
    await tasks.close_for_schedule(schedule_id, N_("Superseded by the schedule's next turn."), now)
    with i18n.in_language(await notifications.language_of(assignee)):
        worded = i18n.gettext(title, **values)
    await tasks.create("negotiation", assignee, title=worded, note=note, due_at=now, client=client_id, schedule=schedule_id, now=now)
    await notifications.notify(assignee, worded, f"/staff/schedules/{schedule_id}")


async def _pause_for_review(schedule: dict, invoice_ids: list[int], actor: Actor, ctx: Context, now: dt.datetime) -> None:
    """The ladder waits while the schedule is negotiated, counted from the schedule's opening."""
    until = ctx.midnight(rules.pause_until(PauseKind.PROPOSAL, ctx.today(schedule["created_at"]), ctx.policy))
    if until <= now:
        return  # the review time is used up: the ladder runs while the talks go on
    states = await escalation.states_of(invoice_ids)
    waiting = (EscalationState.RUNNING, EscalationState.PAUSED, EscalationState.PROMISED, EscalationState.PROPOSAL,
               EscalationState.AWAITING_APPROVAL)
    chosen = tuple(i for i in invoice_ids if states.get(i) in waiting)
    if chosen:
        await escalation.feed(escalation.Event("proposal", chosen, actor, until=until, reason="repayment schedule proposed",
                                               source_type="schedule", source_id=schedule["id"], now=now))


async def propose(client_id: int, invoice_ids: list[int], rows: list[rules.Row], note: str, actor: Actor, ctx: Context,
                  *, now: dt.datetime | None = None) -> int:
    """The client proposes how it will pay the chosen overdue invoices."""
    now = now or utcnow()
    today = ctx.today(now)
    async with db.transaction():
        debts = await _debts(client_id, invoice_ids, today)
        if any(d["due_date"] >= today for d in debts):
            raise ScheduleError({"invoices": N_("Only overdue invoices can go into a repayment schedule.")})
        debt = sum(d["balance_minor"] for d in debts)
        _checked(rows, debt, today, ctx, await segment_of(client_id))
        negotiator = await _negotiator_for(client_id)
        schedule_id = await _open_schedule(client_id, debts, rows, note, actor, now, status=ScheduleStatus.WITH_STAFF, side="client",
                                           negotiator=negotiator, action="schedule_proposed")
        row = await get(schedule_id)
        await _pause_for_review(row, [d["id"] for d in debts], actor, ctx, now)
        await _task(negotiator, schedule_id, client_id, N_("Review the repayment schedule proposed by %(client)s"),
                    note.strip(), now, client=row["client_name"])
    return schedule_id


async def draft(client_id: int, invoice_ids: list[int], rows: list[rules.Row], note: str, actor: Actor, ctx: Context,
                *, now: dt.datetime | None = None) -> int:
    """A negotiator drafts a schedule to offer (in the portal or through a link). Nothing pauses
    until it is offered."""
    now = now or utcnow()
    today = ctx.today(now)
    async with db.transaction():
        debts = await _debts(client_id, invoice_ids, today)
        debt = sum(d["balance_minor"] for d in debts)
        _checked(rows, debt, today, ctx, await segment_of(client_id))
        return await _open_schedule(client_id, debts, rows, note, actor, now, status=ScheduleStatus.DRAFT, side="staff",
                                    negotiator=actor.user_id, action="schedule_drafted")


async def _open_schedule(client_id: int, debts: list[dict], rows: list[rules.Row], note: str, actor: Actor, now: dt.datetime,
                         *, status: str, side: str, negotiator: int | None, action: str) -> int:
    """The schedule, the invoices it covers (with their balances now) and its first version."""
    debt = sum(d["balance_minor"] for d in debts)
    schedule = Schedule(client=client_id, status=status, current_version=1, currency=debts[0]["currency"], debt_minor=debt,
                        negotiator=negotiator, created_by=actor.user_id, created_at=now, updated_at=now)
    await schedule.save()
    await ScheduleInvoice.insert(*[
        ScheduleInvoice(schedule=schedule.id, invoice=d["id"], balance_minor=d["balance_minor"], paid_before_minor=d["paid_minor"])
        for d in debts
    ])
    await _add_version(schedule.id, 1, side, actor, note, rows, now)
    await audit.record(actor, action, "schedule", schedule.id, client_id=client_id,
                       after={"invoices": [d["code"] for d in debts], "installments": len(rows), "total_minor": debt})
    return schedule.id


async def _locked(schedule_id: int, client_id: int | None) -> dict:
    query = Schedule.select().where(Schedule.id == schedule_id)
    if client_id is not None:
        query = query.where(Schedule.client == client_id)
    if db.is_postgres():
        query = query.lock_rows()
    row = await query.first()
    if row is None:
        raise LookupError(schedule_id)
    return row


def _turn(schedule: dict, side: str) -> None:
    expected = ScheduleStatus.WITH_CLIENT if side == "client" else ScheduleStatus.WITH_STAFF
    if side == "staff" and schedule["status"] == ScheduleStatus.DRAFT:
        return
    if schedule["status"] != expected:
        raise ScheduleError(N_("It is not your turn on this schedule any more: the page shows where it stands."))


async def chosen_debt(client_id: int, ticked: list, today: dt.date) -> tuple[int, str]:
    """What the ticked invoices of a form (their ids as sent) owe together, and in which currency."""
    debts = await open_debts(client_id, today) if client_id else []
    ids = {str(v) for v in ticked}
    return sum(d["balance_minor"] for d in debts if str(d["id"]) in ids), debts[0]["currency"] if debts else "EUR"


async def open_debt_of(schedule_id: int) -> int:
    """What the schedule's invoices still owe: what a counter-offer's installments must add up to."""
    return (await _open_debt(schedule_id))[0]


async def _open_debt(schedule_id: int) -> tuple[int, list[int]]:
    invoices = await invoices_of(schedule_id)
    return sum(i["open_minor"] for i in invoices), [i["invoice"] for i in invoices if i["status"] == InvoiceStatus.ISSUED]


async def offer(schedule_id: int, actor: Actor, ctx: Context, *, now: dt.datetime | None = None) -> None:
    """A negotiator's draft goes to the client (in the portal; links work without this)."""
    now = now or utcnow()
    async with db.transaction():
        schedule = await _locked(schedule_id, None)
        if schedule["status"] != ScheduleStatus.DRAFT:
            raise ScheduleError(N_("Only a draft can be offered."))
        await _to_client(schedule, actor, ctx, now)


async def _to_client(schedule: dict, actor: Actor, ctx: Context, now: dt.datetime) -> None:

    await Schedule.update({Schedule.status: ScheduleStatus.WITH_CLIENT, Schedule.updated_at: now}).where(Schedule.id == schedule["id"])
    _, open_ids = await _open_debt(schedule["id"])
    await _pause_for_review(schedule, open_ids, actor, ctx, now)
    await audit.record(actor, "schedule_offered", "schedule", schedule["id"], client_id=schedule["client"],
                       after={"version": schedule["current_version"]})
    with speaking(await client_language(schedule["client"])):
        message = i18n.gettext("We sent you a repayment schedule: please look at it and answer.")
    await notify_client(schedule["client"], "schedule", message, link=f"/client/schedules/{schedule['id']}", now=now)


async def counter(schedule_id: int, side: str, rows: list[rules.Row], note: str, actor: Actor, ctx: Context, *,
                  client_id: int | None = None, now: dt.datetime | None = None) -> int:
    """A new version with other installments; the turn passes to the other side. Returns its number."""
    now = now or utcnow()
    today = ctx.today(now)
    async with db.transaction():
        schedule = await _locked(schedule_id, client_id)
        _turn(schedule, side)
        debt, open_ids = await _open_debt(schedule_id)
        _checked(rows, debt, today, ctx, await segment_of(schedule["client"]))
        number = schedule["current_version"] + 1
        await _add_version(schedule_id, number, side, actor, note, rows, now)
        drafting = schedule["status"] == ScheduleStatus.DRAFT
        status = ScheduleStatus.DRAFT if drafting else ScheduleStatus.WITH_CLIENT if side == "staff" else ScheduleStatus.WITH_STAFF
        await Schedule.update({Schedule.current_version: number, Schedule.status: status, Schedule.debt_minor: debt,
                               Schedule.updated_at: now}).where(Schedule.id == schedule_id)
        await audit.record(actor, "schedule_countered", "schedule", schedule_id, client_id=schedule["client"],
                           after={"version": number, "side": side, "installments": len(rows), "total_minor": debt})
        schedule = await get(schedule_id)
        if drafting:
            pass  # still the negotiator's draft: nothing is offered yet
        elif side == "staff":
            await _to_client(schedule, actor, ctx, now)
        else:
            await _pause_for_review(schedule, open_ids, actor, ctx, now)
            await _task(schedule["negotiator"], schedule_id, schedule["client"],
                        N_("%(client)s countered the repayment schedule (version %(version)s)"), note.strip(), now,
                        client=schedule["client_name"], version=number)
    return number


async def accept(schedule_id: int, side: str, actor: Actor, ctx: Context, *, version: int, name: str, ip: str = "",
                 via: str = "portal", client_id: int | None = None, now: dt.datetime | None = None) -> None:
    """Accept the version on the table, recorded like a signature (name, time, IP, version).
    From then on the installments steer the ladder (plans.py)."""
    now = now or utcnow()
    today = ctx.today(now)
    name = " ".join((name or "").split())[:200]
    if len(name) < 2:
        raise ScheduleError({"name": N_("Type your full name to sign.")})
    async with db.transaction():
        schedule = await _locked(schedule_id, client_id)
        _turn(schedule, side)
        if version != schedule["current_version"]:
            raise ScheduleError(N_("This offer was replaced by a newer version: read the new one before accepting."))
        rows = current_rows(await versions_of(schedule_id), version)
        debt, open_ids = await _open_debt(schedule_id)
        if not open_ids:
            raise ScheduleError(N_("These invoices are already settled: there is nothing left to schedule."))
        if sum(r.amount_minor for r in rows) != debt:
            raise ScheduleError(N_("A payment arrived since this offer, so its amounts no longer add up: a new offer is needed."))
        if rows[0].due_date <= today:
            raise ScheduleError(N_("The first date of this offer has passed: a new offer is needed."))
        for invoice in await invoices_of(schedule_id):
            await ScheduleInvoice.update({ScheduleInvoice.paid_before_minor: invoice["paid_minor"]}).where(
                (ScheduleInvoice.schedule == schedule_id) & (ScheduleInvoice.invoice == invoice["invoice"])
            )
        await Schedule.update({
            Schedule.status: ScheduleStatus.ACCEPTED, Schedule.accepted_version: version, Schedule.accepted_at: now,
            Schedule.accepted_name: name, Schedule.accepted_ip: ip[:64], Schedule.accepted_via: via, Schedule.updated_at: now,
        }).where(Schedule.id == schedule_id)
        await audit.record(actor, "schedule_accepted", "schedule", schedule_id, client_id=schedule["client"],
                           after={"version": version, "name": name, "ip": ip, "via": via, "side": side})
        until = ctx.midnight(rules.pause_until(PauseKind.PLAN, today, ctx.policy, rows=rows))
        try:
            await escalation.feed(escalation.Event("plan_accepted", tuple(open_ids), actor, until=until,
                                                   reason=f"repayment schedule {schedule_id}, version {version}",
                                                   source_type="schedule", source_id=schedule_id, now=now))
        except escalation.EscalationError:
            raise ScheduleError(N_("An invoice in this schedule is disputed: the dispute must be resolved first.")) from None
        await tasks.close_for_schedule(schedule_id, N_("Accepted."), now)
        if side == "client" and schedule["negotiator"]:
            await notifications.tell(schedule["negotiator"], N_("The repayment schedule %(id)s was accepted by %(name)s."),
                                     f"/staff/schedules/{schedule_id}", id=schedule_id, name=name)


async def reject(schedule_id: int, side: str, reason: str, actor: Actor, *, client_id: int | None = None,
                 now: dt.datetime | None = None) -> None:
    """No agreement: the schedule is closed with the reason and the ladder goes on."""
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise ScheduleError({"reason": N_("Say why, so the other side knows what to change.")})
    async with db.transaction():
        schedule = await _locked(schedule_id, client_id)
        _turn(schedule, side)
        await Schedule.update({Schedule.status: ScheduleStatus.REJECTED, Schedule.reject_reason: reason[:2000], Schedule.ended_at: now,
                               Schedule.updated_at: now}).where(Schedule.id == schedule_id)
        await audit.record(actor, "schedule_rejected", "schedule", schedule_id, client_id=schedule["client"],
                           after={"reason": reason, "side": side})
        _, open_ids = await _open_debt(schedule_id)
        states = await escalation.states_of(open_ids)
        paused = tuple(i for i in open_ids if states.get(i) == EscalationState.PROPOSAL)
        if paused:
            await escalation.feed(escalation.Event("schedule_rejected", paused, actor, reason=reason, now=now))
        await tasks.close_for_schedule(schedule_id, f"Rejected: {reason}", now)
        if side == "client" and schedule["negotiator"]:
            await notifications.tell(schedule["negotiator"], N_("The client rejected repayment schedule %(id)s: %(reason)s"),
                                     f"/staff/schedules/{schedule_id}", id=schedule_id, reason=reason)
        elif side == "staff":
            with speaking(await client_language(schedule["client"])):
                message = i18n.gettext("We could not accept your repayment schedule: %(reason)s", reason=reason)
            await notify_client(schedule["client"], "schedule", message, link=f"/client/schedules/{schedule_id}", now=now)


async def save_preparation(schedule_id: int, ideal: str, acceptable: str, notes: str, actor: Actor) -> None:
    """The negotiator's checklist before the meeting; only staff ever read it."""
    async with db.transaction():
        schedule = await _locked(schedule_id, None)
        await Schedule.update({Schedule.ideal_terms: ideal.strip()[:4000], Schedule.acceptable_terms: acceptable.strip()[:4000],
                               Schedule.prep_notes: notes.strip()[:4000], Schedule.updated_at: utcnow()}).where(
            Schedule.id == schedule_id)
        await audit.record(actor, "schedule_prepared", "schedule", schedule_id, client_id=schedule["client"], after={})
