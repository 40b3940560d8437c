"""Accepted schedules steer the ladder: each tick reminds of installments coming due (the ladder's
own pre-due reminder, moved onto the installment), breaks a plan whose installment passed its
date plus grace unpaid (the ladder goes one step further at once and the negotiator gets a task),
and closes a plan whose invoices are settled. Payments mark installments paid as they arrive.

Every write is guarded by the row's old value (`WHERE reminded_at IS NULL`, `WHERE status =
'accepted'`), so runners ticking at once do each thing once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal import db
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.billing.rules import InvoiceStatus
from portal.clients.notices import client_language, notify_client, speaking
from portal.dunning.engine import rules as ladder_rules
from portal.dunning.escalation import service as escalation
from portal.dunning.escalation.rules import EscalationState
from portal.dunning.ladders.service import effective_ladder_id
from portal.dunning.ladders.tables import LadderStep
from portal.messages import N_
from portal.negotiation.schedules import rules, service
from portal.negotiation.tables import Installment, Schedule, ScheduleInvoice, ScheduleStatus
from portal.tasks import notifications, service as tasks
from portal.web import i18n

DEFAULT_LEAD = (3, dt.time(9, 0))  # when a ladder has no reminder before the due date
BATCH = 200


@dataclass
class PlansReport:
    reminded: int = 0
    broken: int = 0
    completed: int = 0
    installments_paid: int = 0


async def run(as_of: dt.datetime, ctx: service.Context) -> PlansReport:
    report = PlansReport()
    today = ctx.today(as_of)
    after = 0
    while True:
        rows = await Schedule.raw(_NEEDING_ATTENTION, after, today + dt.timedelta(days=MAX_LEAD_DAYS),
                                  today - dt.timedelta(days=ctx.policy.grace_days), BATCH)
        for row in rows:
            await _steer(row["id"], as_of, ctx, report)
        if len(rows) < BATCH:
            return report
        after = rows[-1]["id"]


# Only the running plans with an unpaid installment whose reminder may be due or that may be
# missed are looked at (a tick must not read every plan every five minutes); their invoices being
# settled completes them on payment (after_payment), or here once one of them is looked at.
MAX_LEAD_DAYS = 60  # no ladder reminds earlier than this before a due date
_NEEDING_ATTENTION = f"""SELECT DISTINCT s.id FROM repayment_schedules s
JOIN repayment_schedule_versions v ON v.schedule = s.id AND v.number = s.accepted_version
JOIN repayment_installments i ON i.version = v.id
WHERE s.status = '{ScheduleStatus.ACCEPTED}' AND s.id > {{}} AND i.paid_at IS NULL
  AND ((i.reminded_at IS NULL AND i.due_date <= {{}}) OR i.due_date < {{}})
ORDER BY s.id LIMIT {{}}"""


async def plan_view(schedule: dict, today: dt.date, grace_days: int) -> dict:
    """The accepted version's installments with what is paid of each, the next one due and the
    debt left: what both sides' pages show."""
    versions = await service.versions_of(schedule["id"])
    invoices = await service.invoices_of(schedule["id"])
    rows = service.current_rows(versions, schedule["accepted_version"])
    installments = next((v["installments"] for v in versions if v["number"] == schedule["accepted_version"]), [])
    progress = rules.progress(rows, service.paid_since(invoices), today, grace_days)
    for index, item in enumerate(installments):
        item["paid_part"] = progress.paid[index]
        item["is_paid"] = progress.paid[index] >= item["amount_minor"]
        item["is_next"] = index == progress.next_index
        item["due_now_minor"] = item["amount_minor"] - progress.paid[index]
    return {"installments": installments, "progress": progress, "invoices": invoices}


async def _steer(schedule_id: int, as_of: dt.datetime, ctx: service.Context, report: PlansReport) -> None:
    schedule = await service.get(schedule_id)
    if schedule is None or schedule["status"] != ScheduleStatus.ACCEPTED:
        return
    view = await plan_view(schedule, ctx.today(as_of), ctx.policy.grace_days)
    progress, installments = view["progress"], view["installments"]
    open_ids = [i["invoice"] for i in view["invoices"] if i["status"] == InvoiceStatus.ISSUED]
    if not open_ids or progress.completed:
        report.completed += await _complete(schedule, as_of)
        return
    if progress.missed_index is not None:
        report.broken += await _break(schedule, installments[progress.missed_index], open_ids, as_of, ctx)
        return
    lead_days, at = await _reminder_lead(schedule["client"])
    for item in installments[progress.next_index:]:
        if item["reminded_at"] is not None:
            continue
        if ladder_rules.local_at(item["due_date"] - dt.timedelta(days=lead_days), at, ctx.tz) > as_of:
            break
        report.reminded += await _remind(schedule, item, as_of)


async def _reminder_lead(client_id: int) -> tuple[int, dt.time]:
    """The client's ladder's first reminder before the due date: how many days before, at what time."""
    ladder_id = await effective_ladder_id(client_id)
    if ladder_id is None:
        return DEFAULT_LEAD
    step = await LadderStep.select(LadderStep.offset_days, LadderStep.time_of_day).where(
        (LadderStep.ladder == ladder_id) & (LadderStep.offset_days < 0) & (LadderStep.is_active == True)  # noqa: E712
    ).order_by(LadderStep.position).first()
    if step is None:
        return DEFAULT_LEAD
    return -step["offset_days"], ladder_rules.parse_time(step["time_of_day"])


async def _remind(schedule: dict, item: dict, as_of: dt.datetime) -> int:
    async with db.transaction():
        won = await Installment.update({Installment.reminded_at: as_of}).where(
            (Installment.id == item["id"]) & Installment.reminded_at.is_null()
        ).returning(Installment.id)
        if not won:
            return 0
        with speaking(await client_language(schedule["client"])):
            message = i18n.gettext(
                "Reminder: installment %(number)s of your repayment schedule, %(amount)s, is due on %(date)s.",
                number=item["number"], amount=i18n.format_money(item["amount_minor"] - item.get("paid_part", 0), schedule["currency"]),
                date=i18n.format_date(item["due_date"]),
            )
        await notify_client(schedule["client"], "installment", message, link=f"/client/schedules/{schedule['id']}",
                            email_key=f"installment-reminder-{item['id']}", now=as_of)
        await audit.record_system_events([("installment_reminded", "schedule", schedule["id"], schedule["client"], {},
                                           {"installment": item["number"], "due_date": item["due_date"].isoformat()})])
    return 1


async def _break(schedule: dict, item: dict, open_ids: list[int], as_of: dt.datetime, ctx: service.Context) -> int:
    """A missed installment ends the plan: the ladder goes one step further at once."""
    async with db.transaction():
        won = await Schedule.update({Schedule.status: ScheduleStatus.BROKEN, Schedule.ended_at: as_of, Schedule.updated_at: as_of}).where(
            (Schedule.id == schedule["id"]) & (Schedule.status == ScheduleStatus.ACCEPTED)
        ).returning(Schedule.id)
        if not won:
            return 0
        await Installment.update({Installment.missed_at: as_of}).where(Installment.id == item["id"])
        states = await escalation.states_of(open_ids)
        on_plan = tuple(i for i in open_ids if states.get(i) == EscalationState.ON_PLAN)
        if on_plan:
            await escalation.feed(escalation.Event(
                "plan_broken", on_plan, Actor.system(), reason=f"installment {item['number']} due {item['due_date'].isoformat()} missed",
                source_type="schedule", source_id=schedule["id"], now=as_of,
            ))
        await audit.record_system_events([("schedule_broken", "schedule", schedule["id"], schedule["client"], {"status": ScheduleStatus.ACCEPTED},
                                           {"status": ScheduleStatus.BROKEN, "installment": item["number"]})])
        assignee = schedule["negotiator"] or await service._negotiator_for(schedule["client"])
        if assignee is not None:
            with i18n.in_language(await notifications.language_of(assignee)):
                title = i18n.gettext("%(client)s missed installment %(number)s of schedule %(id)s", client=schedule["client_name"],
                                     number=item["number"], id=schedule["id"])
                note = i18n.gettext("The plan is broken and the ladder resumed one step further. Call the client: what happened, "
                                    "what now?")
            await tasks.create("negotiation", assignee, title=title, note=note, due_at=as_of, client=schedule["client"],
                               schedule=schedule["id"])
            await notifications.notify(assignee, title, f"/staff/schedules/{schedule['id']}")
        with speaking(await client_language(schedule["client"])):
            message = i18n.gettext(
                "Installment %(number)s of your repayment schedule was not paid by %(date)s: the schedule no longer holds "
                "and the usual reminders resume.", number=item["number"], date=i18n.format_date(item["due_date"]),
            )
        await notify_client(schedule["client"], "schedule", message, link=f"/client/schedules/{schedule['id']}",
                            email_key=f"schedule-broken-{schedule['id']}", now=as_of)
    return 1


async def _complete(schedule: dict, as_of: dt.datetime) -> int:
    async with db.transaction():
        won = await Schedule.update({Schedule.status: ScheduleStatus.COMPLETED, Schedule.ended_at: as_of, Schedule.updated_at: as_of}).where(
            (Schedule.id == schedule["id"]) & (Schedule.status == ScheduleStatus.ACCEPTED)
        ).returning(Schedule.id)
        if won:
            await audit.record_system_events([("schedule_completed", "schedule", schedule["id"], schedule["client"],
                                               {"status": ScheduleStatus.ACCEPTED}, {"status": ScheduleStatus.COMPLETED})])
            await tasks.close_for_schedule(schedule["id"], N_("Paid: the schedule is completed."), as_of)
    return len(won)


async def after_payment(invoice_ids: list[int], actor: Actor, now: dt.datetime) -> int:
    """In the payment's transaction: installments of accepted plans covering these invoices that
    the money has now paid in full are marked paid (an `installment_paid` event each); a plan whose
    invoices are all settled is completed. Returns how many installments became paid."""
    schedules = await ScheduleInvoice.select(ScheduleInvoice.schedule).where(
        ScheduleInvoice.invoice.is_in(invoice_ids or [0]) & (ScheduleInvoice.schedule.status == ScheduleStatus.ACCEPTED)
    )
    newly = 0
    for schedule_id in sorted({r["schedule"] for r in schedules}):
        schedule = await service.get(schedule_id)
        view = await plan_view(schedule, now.date(), 0)  # only what is paid counts here, not what is missed
        for item in view["installments"]:
            if item["is_paid"] and item["paid_at"] is None:
                await Installment.update({Installment.paid_at: now}).where(Installment.id == item["id"])
                await audit.record(actor, "installment_paid", "schedule", schedule_id, client_id=schedule["client"],
                                   after={"installment": item["number"], "amount_minor": item["amount_minor"]})
                newly += 1
        if not [i for i in view["invoices"] if i["status"] == InvoiceStatus.ISSUED] or view["progress"].completed:
            await _complete(schedule, now)
    return newly


async def client_summary(client_id: int, today: dt.date, grace_days: int) -> list[dict]:
    """The client's live schedules for its home page: what waits for its answer, and the next
    installment of each running plan."""
    rows = await Schedule.select(Schedule.all_columns()).where(
        (Schedule.client == client_id) & Schedule.status.is_in([ScheduleStatus.WITH_CLIENT, ScheduleStatus.WITH_STAFF, ScheduleStatus.ACCEPTED])
    ).order_by(Schedule.id)
    for schedule in rows:
        schedule["next"] = None
        if schedule["status"] == ScheduleStatus.ACCEPTED:
            view = await plan_view(schedule, today, grace_days)
            schedule["next"] = next((i for i in view["installments"] if i["is_next"]), None)
    return rows
