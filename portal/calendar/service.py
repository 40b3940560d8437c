"""The staff calendar: one person's tasks for a day or a week (overdue ones always on top), and
finishing a ladder task with what came of the call.

A call, negotiation or letter about an invoice is done with a call outcome: reached or not, the
date the client promised to pay, the reason for the delay. The outcome row, the task's done
time and summary, the audit event and (with a promised date) the ladder's pause are written in
ONE transaction: when the promise is refused, nothing is written.
"""

from __future__ import annotations

import datetime as dt

from portal import db
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.auth.roles import Kind
from portal.auth.tables import User
from portal.calendar import rules
from portal.clock import local_date, utcnow
from portal.dunning.escalation import service as escalation
from portal.dunning.reasons.service import active_reasons
from portal.dunning.reasons.tables import CallOutcome
from portal.tasks import service as tasks
from portal.tasks.rules import check_outcome, may_act
from portal.tasks.service import TaskNotFound
from portal.tasks.tables import Task
from portal.web import i18n
from portal.web.forms import Checked
from portal.web.i18n import gettext as _

ROW_LIMIT = 1000  # one person's tasks in a week, overdue ones included: far more than anyone has


def _columns() -> tuple:
    return (
        Task.id, Task.kind, Task.title, Task.note, Task.due_at, Task.done_at, Task.outcome, Task.moved_count,
        Task.assignee, Task.client, Task.order, Task.invoice, Task.schedule,
        Task.client.name.as_alias("client_name"), Task.order.number.as_alias("order_number"),
        Task.invoice.code.as_alias("invoice_code"),
    )


async def staff_person(user_id: int) -> dict | None:
    """A staff user whose calendar may be shown (active or not: their tasks still exist)."""
    return await User.select(User.id, User.name, User.is_active).where(
        (User.id == user_id) & (User.kind == Kind.STAFF.value)
    ).first()


async def staff_choices() -> list[dict]:
    """Active staff users, for the "whose calendar" select."""
    return await User.select(User.id, User.name).where(
        (User.kind == Kind.STAFF.value) & (User.is_active == True)  # noqa: E712
    ).order_by(User.name).order_by(User.id)


async def calendar(user_id: int, rng: rules.CalendarRange, now: dt.datetime, tz: str) -> dict:
    """The person's tasks in the range (open and done), their open overdue ones whatever their
    day, and the ones done within the range: one query, sorted into sections by the rules."""
    in_range = (Task.due_at >= rng.starts_at) & (Task.due_at < rng.ends_at)
    done_in_range = (Task.done_at >= rng.starts_at) & (Task.done_at < rng.ends_at)
    overdue = Task.done_at.is_null() & (Task.due_at < now)
    rows = await Task.select(*_columns()).where((Task.assignee == user_id) & (in_range | done_in_range | overdue)).order_by(
        Task.due_at
    ).order_by(Task.id).limit(ROW_LIMIT)
    return rules.arrange(rows, rng, now, tz)


async def calendar_row(task_id: int, now: dt.datetime, tz: str) -> dict | None:
    """One task shaped like a calendar row (the answer to an htmx done)."""
    row = await Task.select(*_columns()).where(Task.id == task_id).first()
    if row is None:
        return None
    row["state"] = rules.state_of(row, now)
    row["local_day"] = rules.local_day(row["due_at"], tz)
    row["local_time"] = rules.to_local(row["due_at"], tz).strftime("%H:%M")
    return row


async def _locked_task(task_id: int, actor: Actor, is_admin: bool) -> dict:
    """The task to finish, locked on PostgreSQL (two clicks: the second sees the first's result).
    Someone else's task is TaskNotFound, exactly like a missing one."""
    query = Task.select(Task.id, Task.kind, Task.assignee, Task.client, Task.order, Task.invoice, Task.done_at, Task.title,
                        Task.dunning_action).where(
        Task.id == task_id
    )
    if db.is_postgres():
        query = query.lock_rows()
    task = await query.first()
    if task is None or actor.user_id is None or not may_act(task["assignee"], actor.user_id, is_admin):
        raise TaskNotFound(task_id)
    return task


async def task_for_actor(task_id: int, user_id: int, is_admin: bool) -> dict | None:
    """The task's kind and invoice, when this person may finish it (else None)."""
    task = await Task.select(Task.id, Task.kind, Task.assignee, Task.invoice).where(Task.id == task_id).first()
    if task is None or not may_act(task["assignee"], user_id, is_admin):
        return None
    return task


async def complete_with_outcome(
    task_id: int, form: dict[str, str], actor: Actor, *, tz: str, grace_days: int, max_days: int,
    is_admin: bool = False, now: dt.datetime | None = None,
) -> Checked:
    """Finish a call/negotiation/letter task with its outcome (form: reached yes/no,
    promised_date, delay_reason, note). Raises TaskNotFound for a task not there or not the
    actor's (admins may finish anyone's). On any error nothing is written."""
    now = now or utcnow()
    reasons = {r["id"]: r["name"] for r in await active_reasons()}
    checked = rules.check_call_outcome(form, set(reasons), local_date(now, tz), max_days)
    v = checked.values
    try:
        async with db.transaction():
            task = await _locked_task(task_id, actor, is_admin)
            if task["done_at"] is not None:
                checked.errors["reached"] = _("This task is already done.")
            elif not rules.takes_call_outcome(task):
                checked.errors["reached"] = _("This task is not about an invoice's payment.")
            if not checked.ok:
                return checked
            reason_name = reasons.get(v["reason_id"], "") if v["reason_id"] else ""
            outcome = CallOutcome(
                task=task_id, invoice=task["invoice"], client=task["client"], user=actor.user_id, reached=v["reached_bool"],
                promised_date=v["promised"], delay_reason=v["reason_id"], note=v["note"], recorded_at=now,
            )
            await outcome.save()
            summary = rules.outcome_summary(v["reached_bool"], v["promised"], reason_name, v["note"])
            await tasks.finish(task_id, summary, now)
            after = {"task": task["title"], "reached": v["reached_bool"], "reason": reason_name, "note": v["note"]}
            if v["promised"] is not None:
                after["promised_date"] = v["promised"].isoformat()
            await audit.record(actor, "call_outcome_recorded", "invoice", task["invoice"], client_id=task["client"], after=after)
            if v["promised"] is not None:
                await escalation.record_promise(
                    task["invoice"], v["promised"], actor, grace_days=grace_days, tz=tz, max_days=max_days,
                    source_type="call_outcome", source_id=outcome.id, now=now,
                )
    except escalation.EscalationError as refused:  # the transaction is rolled back: nothing written
        checked.errors["promised_date"] = i18n.translate(str(refused))
    return checked


async def complete_plain(task_id: int, outcome: str, actor: Actor, *, is_admin: bool = False,
                         now: dt.datetime | None = None) -> Checked:
    """Finish a task of another kind (an approval, a kind this page does not know) with a written
    outcome. Callbacks go through portal.tasks.service.complete instead."""
    checked = check_outcome({"outcome": outcome})
    async with db.transaction():
        task = await _locked_task(task_id, actor, is_admin)
        if task["done_at"] is not None:
            checked.errors["outcome"] = _("This task is already done.")
        elif task["kind"] == "approval" and task["dunning_action"] is not None:
            # the ladder waits for the decision itself, not for this task
            checked.errors["outcome"] = _("Approve or refuse the hand-over on the invoice's page: the ladder waits for that decision.")
        if not checked.ok:
            return checked
        await tasks.finish(task_id, checked.values["outcome"], now)
        object_type, object_id = (
            ("invoice", task["invoice"]) if task["invoice"] else ("order", task["order"]) if task["order"]
            else ("client", task["client"]) if task["client"] else ("task", task_id)
        )
        await audit.record(actor, "task_done", object_type, object_id, client_id=task["client"],
                           after={"task": task["title"], "outcome": checked.values["outcome"]})
    return checked


async def outcome_of(task_id: int) -> dict | None:
    """The call outcome recorded for a task, with its reason's name."""
    return await CallOutcome.select(
        CallOutcome.all_columns(), CallOutcome.delay_reason.name.as_alias("reason_name")
    ).where(CallOutcome.task == task_id).first()

