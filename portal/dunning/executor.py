"""The tick's second half: carry out pending actions. A batch of actions is claimed (PostgreSQL:
FOR UPDATE SKIP LOCKED, so runners never share one; SQLite: the write lock), each one's effect is
written — a task, a queued email, a letter in the register, a notice in the client portal, a
sanction — and the action is marked done, all in the batch's ONE transaction. A runner killed
mid-batch leaves nothing: the transaction rolls back and the actions are still pending.

An action that cannot be carried out (no email address, nobody to assign) is retried with
backoff and marked failed after settings.action_max_attempts; staff see it on the worklist.
A batch that fails as a whole is retried one action per transaction, so one bad action never
holds up the others.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from piccolo.query.mixins import OnConflictAction

from portal import db
from portal.audit.service import Actor
from portal.audit.tables import AuditEvent
from portal.billing.tables import Invoice
from portal.clients.tables import Client, Contact
from portal.clock import utcnow
from portal.dunning import rules
from portal.dunning.people import assignee_for, staff_by_role
from portal.dunning.tables import ClientNotice, DunningAction, LadderStep, Letter
from portal.mail.tables import EmailMessage
from portal.tasks.tables import Notification, Task
from portal.web import i18n

log = logging.getLogger("portal.dunning")
BATCH = 500
BACKOFF_MINUTES = (5, 15, 60, 240, 720)
TASK_KINDS = {"call": "call", "negotiation": "negotiation", "letter": "letter", "formal_claim": "letter",
              "court_warning": "letter", "legal_handover": "legal"}


class CannotCarryOut(Exception):
    """This action cannot be done now; the message says why (shown to staff)."""


@dataclass
class ExecReport:
    done: int = 0
    cancelled: int = 0
    retrying: int = 0
    failed: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)


@dataclass
class Effects:
    """Rows to write for one batch, and the outcome of each action."""

    tasks: list[Task] = field(default_factory=list)
    emails: list[EmailMessage] = field(default_factory=list)
    letters: list[Letter] = field(default_factory=list)
    notices: list[ClientNotice] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    events: list[AuditEvent] = field(default_factory=list)
    outcomes: dict[int, tuple[str, str]] = field(default_factory=dict)  # action id -> (status, outcome)
    errors: dict[int, str] = field(default_factory=dict)


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(minutes=BACKOFF_MINUTES[min(attempts, len(BACKOFF_MINUTES)) - 1])


_CLAIM = """
SELECT id, invoice, step, client, channel, scheduled_at, attempts FROM dunning_actions
WHERE status = 'pending' AND next_attempt_at <= {} ORDER BY id LIMIT {}"""


async def execute(as_of: dt.datetime, *, firm_name: str, tz: str, max_attempts: int, batch: int = BATCH) -> ExecReport:
    report = ExecReport()
    while True:
        try:
            claimed = await _run_batch(as_of, batch, firm_name, tz, max_attempts, report)
        except Exception:  # one poisoned action must not stop the rest: go one by one
            log.exception("dunning batch failed; retrying its actions one at a time")
            claimed = await _one_by_one(as_of, batch, firm_name, tz, max_attempts, report)
        if claimed < batch:
            return report


async def _one_by_one(as_of, batch, firm_name, tz, max_attempts, report) -> int:
    ids = [r["id"] for r in await DunningAction.raw(_CLAIM, as_of, batch)]
    for action_id in ids:
        try:
            await _run_batch(as_of, 1, firm_name, tz, max_attempts, report, only=action_id)
        except Exception as exc:
            log.warning("dunning action %s failed: %s", action_id, _short(exc))
            async with db.transaction():
                await _retry_or_fail([(action_id, _short(exc))], as_of, max_attempts, report)
    return len(ids)


def _short(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


async def _claim(as_of: dt.datetime, batch: int, only: int | None) -> list[dict]:
    sql = _CLAIM if only is None else _CLAIM.replace("WHERE status", f"WHERE id = {int(only)} AND status")
    if db.is_postgres():
        sql += " FOR UPDATE SKIP LOCKED"
    return await DunningAction.raw(sql, as_of, batch)


async def _run_batch(as_of, batch, firm_name, tz, max_attempts, report: ExecReport, only: int | None = None) -> int:
    async with db.transaction():
        claimed = await _claim(as_of, batch, only)
        if not claimed:
            return 0
        ctx = await _Context.load(claimed)
        effects = Effects()
        for action in claimed:
            try:
                await _carry_out(action, ctx, effects, as_of, firm_name, tz)
            except CannotCarryOut as exc:
                effects.errors[action["id"]] = str(exc)
        await _write(effects, as_of)
        await _retry_or_fail(list(effects.errors.items()), as_of, max_attempts, report)
        for action in claimed:
            status = effects.outcomes.get(action["id"], ("", ""))[0]
            if status == "done":
                report.done += 1
                report.by_channel[action["channel"]] = report.by_channel.get(action["channel"], 0) + 1
            elif status == "cancelled":
                report.cancelled += 1
    return len(claimed)


class _Context:
    """Everything a batch of actions needs, in a handful of queries."""

    @classmethod
    async def load(cls, actions: list[dict]) -> "_Context":
        self = cls()
        invoice_ids = list({a["invoice"] for a in actions})
        client_ids = list({a["client"] for a in actions})
        step_ids = list({a["step"] for a in actions})
        self.invoices = {r["id"]: r for r in await Invoice.select(
            Invoice.id, Invoice.code, Invoice.currency, Invoice.total_minor, Invoice.paid_minor, Invoice.due_date, Invoice.status,
        ).where(Invoice.id.is_in(invoice_ids))}
        self.clients = {r["id"]: r for r in await Client.select(
            Client.id, Client.name, Client.language, Client.sales_manager, Client.email,
        ).where(Client.id.is_in(client_ids))}
        self.emails: dict[int, str] = {}
        for c in await Contact.select(Contact.client, Contact.email, Contact.is_primary).where(
            Contact.client.is_in(client_ids) & (Contact.email != "")
        ).order_by(Contact.is_primary, ascending=False).order_by(Contact.id):
            self.emails.setdefault(c["client"], c["email"])
        for client in self.clients.values():
            if client["email"]:
                self.emails.setdefault(client["id"], client["email"])
        self.steps = {r["id"]: r for r in await LadderStep.select().where(LadderStep.id.is_in(step_ids)).output(load_json=True)}
        self.people = await staff_by_role()
        return self


def _wording(step: dict, client: dict, invoice: dict, as_of: dt.datetime, firm_name: str, tz: str) -> tuple[dict[str, str], dt.date | None]:
    language = client["language"] or "en"
    deadline = rules.local_date(as_of, tz) + dt.timedelta(days=step["deadline_days"]) if step["deadline_days"] else None
    token = i18n._language.set(language)
    try:
        balance = invoice["total_minor"] - invoice["paid_minor"]
        values = {
            "client": client["name"], "invoice": invoice["code"], "amount": i18n.format_money(balance, invoice["currency"]),
            "due_date": i18n.format_date(invoice["due_date"]), "firm": firm_name, "step": step["name"],
            "days_overdue": str(max(0, (rules.local_date(as_of, tz) - invoice["due_date"]).days)),
            "deadline": i18n.format_date(deadline) if deadline else "",
        }
    finally:
        i18n._language.reset(token)
    text = rules.render(rules.template_for(step["templates"] or {}, language), values)
    if not text["subject"]:
        text["subject"] = f"{step['name']}: {client['name']}, {invoice['code']}"
    return text, deadline


async def _carry_out(action: dict, ctx: _Context, fx: Effects, as_of: dt.datetime, firm_name: str, tz: str) -> None:
    invoice, client, step = ctx.invoices[action["invoice"]], ctx.clients[action["client"]], ctx.steps[action["step"]]
    action_id, channel = action["id"], action["channel"]
    if invoice["status"] != "issued" or invoice["total_minor"] - invoice["paid_minor"] <= 0:
        fx.outcomes[action_id] = ("cancelled", "paid before it was carried out")
        return
    text, deadline = _wording(step, client, invoice, as_of, firm_name, tz)
    due_at = _as_utc(action["scheduled_at"])
    person = assignee_for(step["assignee"], client["sales_manager"], ctx.people)
    common = {"client": client["id"], "invoice": invoice["id"], "created_at": as_of}
    if channel == "email":
        address = ctx.emails.get(client["id"])
        if not address:
            raise CannotCarryOut("The client has no email address on file.")
        fx.emails.append(EmailMessage(
            key=f"dunning-action-{action_id}", to_address=address, subject=text["subject"][:300], body=text["body"],
            client=client["id"], invoice_id=invoice["id"], status="queued", attempts=0, next_attempt_at=min(as_of, utcnow()), created_at=as_of,
        ))
        outcome = f"email queued to {address}"
    elif channel == "portal_notice":
        fx.notices.append(ClientNotice(client=client["id"], kind="dunning", message=text["body"] or text["subject"],
                                       link=f"/client/invoices/{invoice['id']}", created_at=as_of))
        outcome = "notice shown in the client portal"
    elif channel == "sanction":
        from portal.dunning.sanctions import apply_sanction

        outcome = await apply_sanction(client["id"], step["sanction"], Actor.system(), action_id=action_id, now=as_of)
    elif channel in TASK_KINDS:
        if person is None:
            raise CannotCarryOut("Nobody holds the role this step is assigned to.")
        task_due = due_at + dt.timedelta(days=step["deadline_days"]) if channel == "negotiation" else due_at
        title = text["subject"] if channel in ("call", "negotiation") else f"Sign and send: {text['subject']}"
        if channel == "legal_handover":
            title = f"Case file for the lawyers: {client['name']}, {invoice['code']}"
        fx.tasks.append(Task(kind=TASK_KINDS[channel], assignee=person, due_at=task_due, title=title[:200], note=text["body"],
                             dunning_action=action_id, order=None, **common))
        if channel in ("letter", "formal_claim", "court_warning", "legal_handover"):
            fx.letters.append(Letter(action=action_id, kind=channel, language=client["language"] or "en",
                                     subject=text["subject"][:300], body=text["body"], deadline=deadline, status="to_send", **common))
        if channel in ("negotiation", "legal_handover") and client["sales_manager"]:
            fx.notifications.append(Notification(
                user=client["sales_manager"], created_at=as_of, link=f"/staff/invoices/{invoice['id']}",
                message=f"{step['name']}: {client['name']}, {invoice['code']}"[:300],
            ))
        outcome = {"call": "call task created", "negotiation": f"negotiation window of {step['deadline_days']} days",
                   "legal_handover": "case file handed to the lawyers"}.get(channel, "in the letters register")
    else:
        raise CannotCarryOut(f"Unknown channel {channel!r}.")
    fx.outcomes[action_id] = ("done", outcome)
    fx.events.append(AuditEvent(
        at=as_of, actor=None, actor_label="system", action="dunning_step_done", object_type="invoice", object_id=invoice["id"],
        client_id=client["id"], before={}, after={"step": step["name"], "channel": channel, "outcome": outcome}, ip="",
    ))


def _as_utc(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


async def _write(fx: Effects, as_of: dt.datetime) -> None:
    if fx.tasks:
        await Task.insert(*fx.tasks).on_conflict(target=Task.dunning_action, action=OnConflictAction.do_nothing)
    if fx.emails:
        await EmailMessage.insert(*fx.emails).on_conflict(target=EmailMessage.key, action=OnConflictAction.do_nothing)
    if fx.letters:
        await Letter.insert(*fx.letters).on_conflict(target=Letter.action, action=OnConflictAction.do_nothing)
    for rows in (fx.notices, fx.notifications, fx.events):
        if rows:
            await type(rows[0]).insert(*rows)
    by_outcome: dict[tuple[str, str], list[int]] = {}
    for action_id, key in fx.outcomes.items():
        by_outcome.setdefault(key, []).append(action_id)
    for (status, outcome), ids in by_outcome.items():
        await DunningAction.update({
            DunningAction.status: status, DunningAction.outcome: outcome, DunningAction.done_at: as_of,
            DunningAction.attempts: DunningAction.attempts + 1, DunningAction.last_error: "",
        }).where(DunningAction.id.is_in(ids))
    with_tasks = [t.dunning_action for t in fx.tasks]
    if with_tasks:
        await DunningAction.raw(
            "UPDATE dunning_actions SET task = (SELECT t.id FROM tasks t WHERE t.dunning_action = dunning_actions.id) "
            f"WHERE id IN ({', '.join(str(int(i)) for i in with_tasks)})"
        )


async def _retry_or_fail(errors: list[tuple[int, str]], as_of: dt.datetime, max_attempts: int, report: ExecReport) -> None:
    for action_id, message in errors:
        row = await DunningAction.select(DunningAction.attempts, DunningAction.invoice, DunningAction.client).where(
            DunningAction.id == action_id
        ).first()
        if row is None:
            continue
        attempts = row["attempts"] + 1
        if attempts >= max_attempts:
            await DunningAction.update({DunningAction.status: "failed", DunningAction.attempts: attempts,
                                        DunningAction.last_error: message, DunningAction.done_at: as_of}).where(DunningAction.id == action_id)
            await AuditEvent.insert(AuditEvent(
                at=as_of, actor=None, actor_label="system", action="dunning_step_failed", object_type="invoice",
                object_id=row["invoice"], client_id=row["client"], before={}, after={"error": message, "attempts": attempts}, ip="",
            ))
            report.failed += 1
        else:
            await DunningAction.update({DunningAction.attempts: attempts, DunningAction.last_error: message,
                                        DunningAction.next_attempt_at: as_of + backoff(attempts)}).where(DunningAction.id == action_id)
            report.retrying += 1
