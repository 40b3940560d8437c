"""Callback reminders: "call me in two weeks" becomes a task on exactly that day.

A callback belongs to a client, or to an order (and through it to the order's client). It is
done with an outcome, or moved to another time; every change leaves an audit event on the
order (when there is one) or the client, in the same transaction.
"""

from __future__ import annotations

import datetime as dt

from portal import bulk, db
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.auth.tables import User
from portal.clients.tables import Client
from portal.clock import utcnow
from portal.messages import N_
from portal.orders.tables import Order
from portal.tasks import notifications, rules
from portal.tasks.tables import Task
from portal.web import i18n
from portal.web.forms import Checked
from portal.web.i18n import gettext as _

CALLBACK = "callback"
LIST_LIMIT = 500  # one person's open tasks; far more than anyone works through


class TaskNotFound(LookupError):
    """No such task, or not one this person may change (the route answers 404 either way)."""


def _columns() -> tuple:
    return (
        Task.id, Task.kind, Task.title, Task.note, Task.due_at, Task.done_at, Task.outcome, Task.moved_count,
        Task.assignee, Task.client, Task.order, Task.invoice, Task.created_at,
        Task.assignee.name.as_alias("assignee_name"), Task.client.name.as_alias("client_name"),
        Task.order.number.as_alias("order_number"),
    )


def _zone(tz: str | None) -> str:
    """The firm's time zone: given, or the one this request displays times in."""
    return tz or i18n.current_timezone()  # set per request from settings.firm_timezone


def _shape(row: dict, now: dt.datetime, tz: str | None) -> dict:
    """Add where the task stands (overdue, today, upcoming or done) and its local date and time."""
    tz = _zone(tz)
    row["bucket"] = "done" if row["done_at"] is not None else rules.bucket(row["due_at"], now, tz)
    local = rules.form_values(row["due_at"], tz)
    row["local_date"], row["local_time"] = local["date"], local["time"]
    return row


async def get_task(task_id: int, *, now: dt.datetime | None = None, tz: str | None = None) -> dict | None:
    row = await Task.select(*_columns()).where(Task.id == task_id).first()
    return _shape(row, now or utcnow(), tz) if row else None


async def my_tasks(user_id: int, now: dt.datetime, tz: str, *, include_upcoming: bool = True) -> dict[str, list[dict]]:
    """The user's open tasks in one query, soonest first, split into overdue / today / upcoming."""
    query = Task.select(*_columns()).where((Task.assignee == user_id) & Task.done_at.is_null())
    if not include_upcoming:
        query = query.where(Task.due_at < rules.end_of_today(now, tz))
    rows = await query.order_by(Task.due_at).order_by(Task.id).limit(LIST_LIMIT)
    out: dict[str, list[dict]] = {rules.OVERDUE: [], rules.TODAY: [], rules.UPCOMING: []}
    for row in rows:
        out[_shape(row, now, tz)["bucket"]].append(row)
    return out


async def open_task_count(user_id: int, now: dt.datetime, tz: str) -> int:
    """Overdue plus today's open tasks of one user: one COUNT query."""
    return await Task.count().where(
        (Task.assignee == user_id) & Task.done_at.is_null() & (Task.due_at < rules.end_of_today(now, tz))
    )


async def open_for_client(client_id: int, *, now: dt.datetime | None = None, tz: str | None = None) -> list[dict]:
    """Every open callback about a client or its orders, whoever holds it; one query."""
    rows = await Task.select(*_columns()).where((Task.client == client_id) & Task.done_at.is_null()).order_by(
        Task.due_at
    ).order_by(Task.id).limit(LIST_LIMIT)
    now = now or utcnow()
    return [_shape(row, now, tz) for row in rows]


async def open_for_order(order_id: int, *, now: dt.datetime | None = None, tz: str | None = None) -> list[dict]:
    """Every open callback about one order; one query (for the order page)."""
    rows = await Task.select(*_columns()).where((Task.order == order_id) & Task.done_at.is_null()).order_by(
        Task.due_at
    ).order_by(Task.id).limit(LIST_LIMIT)
    now = now or utcnow()
    return [_shape(row, now, tz) for row in rows]


async def subject_names(client_id: int | None, order_id: int | None) -> dict:
    """The client's name and the order's number for a form's heading (empty when unknown)."""
    out = {"client_name": "", "order_number": ""}
    if order_id:
        order = await Order.select(Order.number, Order.client.name).where(Order.id == order_id).first()
        if order:
            out = {"client_name": order["client.name"], "order_number": order["number"]}
    elif client_id:
        client = await Client.select(Client.name).where(Client.id == client_id).first()
        if client:
            out["client_name"] = client["name"]
    return out


def _audit_target(task: dict) -> tuple[str, int]:
    return ("order", task["order"]) if task["order"] else ("client", task["client"])


async def create_callback(
    form: dict[str, str], actor: Actor, *, tz: str, now: dt.datetime | None = None, assignee_id: int | None = None,
) -> tuple[int | None, Checked]:
    """Schedule "call back on <date> at <time>" about a client and/or an order.
    form: client_id, order_id (either or both), date, time (firm's zone), note."""
    now = now or utcnow()
    checked = rules.check_callback(form, now, tz)
    if not checked.ok:
        return None, checked
    v = checked.values
    assignee = assignee_id or actor.user_id
    if assignee is None:
        raise ValueError("a callback needs a person to call")
    async with db.transaction():
        order = None
        if v["order_id"]:
            order = await Order.select(Order.id, Order.client, Order.number).where(Order.id == v["order_id"]).first()
            if order is None or (v["client_id"] and order["client"] != v["client_id"]):
                checked.errors["subject"] = _("This callback names no client or order we know.")
                return None, checked
        client_id = order["client"] if order else v["client_id"]
        client = await Client.select(Client.id, Client.name).where(Client.id == client_id).first()
        if client is None:
            checked.errors["subject"] = _("This callback names no client or order we know.")
            return None, checked
        task = Task(
            kind=CALLBACK, assignee=assignee, client=client_id, order=order["id"] if order else None,
            due_at=v["due_at"], title=rules.title_for(client["name"], order["number"] if order else ""),
            note=v["note"], created_by=actor.user_id, created_at=utcnow(),
        )
        await task.save()
        after = {"due_at": rules.local_label(v["due_at"], tz), "note": v["note"]}
        if assignee != actor.user_id:
            person = await User.select(User.name).where(User.id == assignee).first()
            after["assignee"] = person["name"] if person else str(assignee)
            await notifications.tell(assignee, N_("%(who)s asked you to call %(client)s back."), f"/staff/tasks#task-{task.id}",
                                     who=actor.label, client=client["name"])
        object_type, object_id = ("order", order["id"]) if order else ("client", client_id)
        await audit.record(actor, "callback_scheduled", object_type, object_id, client_id=client_id, after=after)
    return task.id, checked


async def _for_change(task_id: int, actor: Actor, is_admin: bool) -> dict:
    query = Task.select(Task.id, Task.kind, Task.assignee, Task.client, Task.order, Task.due_at, Task.done_at, Task.moved_count, Task.note).where(
        Task.id == task_id
    )
    if db.is_postgres():  # two clicks at once: the second waits and sees the first's result
        query = query.lock_rows()
    task = await query.first()
    if task is None or actor.user_id is None or not rules.may_act(task["assignee"], actor.user_id, is_admin):
        raise TaskNotFound(task_id)
    return task


async def complete(task_id: int, outcome: str, actor: Actor, *, is_admin: bool = False) -> Checked:
    """Done, with what came of it (required). Raises TaskNotFound for a task that is not
    there or not the actor's (admins may complete anyone's)."""
    checked = rules.check_outcome({"outcome": outcome})
    async with db.transaction():
        task = await _for_change(task_id, actor, is_admin)
        if task["done_at"] is not None:
            checked.errors["outcome"] = _("This callback is already done.")
        if not checked.ok:
            return checked
        await Task.update({Task.done_at: utcnow(), Task.outcome: checked.values["outcome"]}).where(Task.id == task_id)
        object_type, object_id = _audit_target(task)
        await audit.record(
            actor, "callback_done", object_type, object_id, client_id=task["client"],
            before={"note": task["note"]}, after={"outcome": checked.values["outcome"]},
        )
    return checked


async def move(
    task_id: int, form: dict[str, str], actor: Actor, *, tz: str, now: dt.datetime | None = None, is_admin: bool = False,
) -> Checked:
    """Another day and time (form: date, time in the firm's zone); counts the moves.
    Raises TaskNotFound like complete()."""
    now = now or utcnow()
    checked = rules.check_due(form, now, tz)
    async with db.transaction():
        task = await _for_change(task_id, actor, is_admin)
        if task["done_at"] is not None:
            checked.errors["date"] = _("This callback is already done.")
        if not checked.ok:
            return checked
        due_at = checked.values["due_at"]
        moved = task["moved_count"] + 1
        await Task.update({Task.due_at: due_at, Task.moved_count: moved}).where(Task.id == task_id)
        object_type, object_id = _audit_target(task)
        await audit.record(
            actor, "callback_moved", object_type, object_id, client_id=task["client"],
            before={"due_at": rules.local_label(task["due_at"], tz)},
            after={"due_at": rules.local_label(due_at, tz), "moved_count": moved},
        )
    return checked


# --- the task table, for the other areas (they write tasks only through these) ----------------------

TASK_COLUMNS = (Task.kind, Task.assignee, Task.client, Task.invoice, Task.due_at, Task.title, Task.note,
                Task.dunning_action, Task.created_at)


async def create(kind: str, assignee: int, *, title: str, due_at: dt.datetime, note: str = "", client: int | None = None,
                 order: int | None = None, invoice: int | None = None, schedule: int | None = None,
                 created_by: int | None = None, now: dt.datetime | None = None) -> int:
    """One task for one person (the ladder's, a negotiation's, a dispute's). Joins the caller's transaction."""
    task = Task(kind=kind, assignee=assignee, client=client, order=order, invoice=invoice, schedule=schedule,
                due_at=due_at, title=title[:200], note=note, created_by=created_by, created_at=now or utcnow())
    await task.save()
    return task.id


async def create_for_actions(rows: list[tuple]) -> dict[int, int]:
    """Tasks of ladder actions in one statement, rows of TASK_COLUMNS; an action's task exists once
    (a second runner's insert is ignored). Returns {action id: task id} of the tasks made now."""
    made = await bulk.insert_many(Task, TASK_COLUMNS, rows, on_conflict="ON CONFLICT (dunning_action) DO NOTHING",
                                  returning=(Task.id, Task.dunning_action))
    return {row["dunning_action"]: row["id"] for row in made}


async def finish(task_id: int, outcome: str, now: dt.datetime | None = None) -> None:
    await Task.update({Task.done_at: now or utcnow(), Task.outcome: outcome[:1000]}).where(Task.id == task_id)


async def finish_open(task_id: int, outcome: str, now: dt.datetime | None = None) -> None:
    """The task ends, unless it ended already (its first outcome stays)."""
    await Task.update({Task.done_at: now or utcnow(), Task.outcome: outcome[:1000]}).where(
        (Task.id == task_id) & Task.done_at.is_null())


async def close_for_invoices(invoice_ids: list[int], outcome: str, now: dt.datetime) -> None:
    """The open tasks about these invoices end (they were paid or cancelled); callbacks stay: a
    callback is about the client, not about the money."""
    if invoice_ids:
        await Task.update({Task.done_at: now, Task.outcome: outcome}).where(
            Task.invoice.is_in(invoice_ids) & Task.done_at.is_null() & (Task.kind != CALLBACK)
        )


async def close_for_schedule(schedule_id: int, outcome: str, now: dt.datetime) -> None:
    """A repayment schedule moved on: its open negotiation task ends."""
    await Task.update({Task.done_at: now, Task.outcome: outcome[:500]}).where(
        (Task.kind == "negotiation") & Task.done_at.is_null() & (Task.schedule == schedule_id)
    )


async def close_for_action(action_id: int, outcome: str, now: dt.datetime, *, kind: str | None = None,
                           let_go: bool = False) -> bool:
    """The open task of a ladder action ends (a letter sent, a hand-over decided); `let_go` frees the
    action for another task. Returns whether there was one."""
    where = (Task.dunning_action == action_id) & Task.done_at.is_null()
    if kind is not None:
        where = where & (Task.kind == kind)
    if not await Task.exists().where(where):
        return False
    values = {Task.done_at: now, Task.outcome: outcome[:500]}
    if let_go:
        values[Task.dunning_action] = None
    await Task.update(values).where(where)
    return True


async def reassign(task_ids: list[int], user_id: int) -> None:
    if task_ids:
        await Task.update({Task.assignee: user_id}).where(Task.id.is_in(task_ids))
