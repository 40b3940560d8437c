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

from portal import bulk, db
from portal.audit import service as audit
from portal.billing.rules import InvoiceStatus
from portal.billing.tables import Invoice
from portal.clients import notices
from portal.clients.tables import Client, Contact
from portal.clock import local_date, utcnow
from portal.dunning.engine import rules
from portal.dunning.engine.people import assignee_for, staff_by_role, staff_languages
from portal.dunning.engine.tables import ActionStatus, DunningAction
from portal.dunning.ladders.tables import LadderStep
from portal.dunning.letters.tables import Letter, LetterStatus
from portal.dunning.sanctions.batch import apply_sanctions
from portal.mail import service as mail
from portal.mail.tables import EmailStatus
from portal.messages import N_
from portal.tasks import notifications, service as tasks
from portal.web import i18n

log = logging.getLogger("portal.dunning")
BATCH = 1000
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
    claimed: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)

    def add(self, other: ExecReport) -> None:
        self.done += other.done
        self.cancelled += other.cancelled
        self.retrying += other.retrying
        self.failed += other.failed
        self.claimed += other.claimed
        for channel, n in other.by_channel.items():
            self.by_channel[channel] = self.by_channel.get(channel, 0) + n


@dataclass
class Effects:
    """Rows to write for one batch (tuples in the column orders of _write), and the outcome of each action."""

    tasks: list[tuple] = field(default_factory=list)
    emails: list[tuple] = field(default_factory=list)
    letters: list[tuple] = field(default_factory=list)
    notices: list[tuple] = field(default_factory=list)
    notifications: list[tuple] = field(default_factory=list)
    events: list[tuple] = field(default_factory=list)
    outcomes: dict[int, tuple[str, str]] = field(default_factory=dict)  # action id -> (status, outcome)
    errors: dict[int, str] = field(default_factory=dict)
    attempts: dict[int, int] = field(default_factory=dict)  # action id -> attempts before this one
    sanctions: list[tuple[int, int, str, int, str]] = field(default_factory=list)  # (action, client, kind, invoice, step name)


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(minutes=BACKOFF_MINUTES[min(attempts, len(BACKOFF_MINUTES)) - 1])


_CLAIM = f"""
SELECT id, invoice, step, client, channel, scheduled_at, attempts FROM dunning_actions
WHERE status = '{ActionStatus.PENDING}' AND next_attempt_at <= {{}} ORDER BY id LIMIT {{}}"""


async def execute(as_of: dt.datetime, *, firm_name: str, tz: str, max_attempts: int, batch: int = BATCH) -> ExecReport:
    report = ExecReport()
    while True:
        try:
            claimed = await _run_batch(as_of, batch, firm_name, tz, max_attempts, report)
        except Exception:  # one poisoned action must not stop the rest: go one by one
            log.exception("dunning batch failed; retrying its actions one at a time")
            claimed = await _one_by_one(as_of, batch, firm_name, tz, max_attempts, report)
        report.claimed += claimed
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
            effects.attempts[action["id"]] = action["attempts"]
            try:
                await _carry_out(action, ctx, effects, as_of, firm_name, tz)
            except CannotCarryOut as exc:
                effects.errors[action["id"]] = str(exc)
        if effects.sanctions:
            outcomes = await apply_sanctions([r[:3] for r in effects.sanctions], as_of, ctx.emails)
            for action_id, client_id, _kind, invoice_id, step_name in effects.sanctions:
                effects.outcomes[action_id] = (ActionStatus.DONE, outcomes[action_id])
                effects.events.append(("dunning_step_done", "invoice", invoice_id, client_id, {},
                                       {"step": step_name, "channel": "sanction", "outcome": outcomes[action_id]}))
        await _write(effects, as_of)
        await _retry_or_fail(list(effects.errors.items()), as_of, max_attempts, report)
        for action in claimed:
            status = effects.outcomes.get(action["id"], ("", ""))[0]
            if status == ActionStatus.DONE:
                report.done += 1
                report.by_channel[action["channel"]] = report.by_channel.get(action["channel"], 0) + 1
            elif status == ActionStatus.CANCELLED:
                report.cancelled += 1
    return len(claimed)


class _Context:
    """Everything a batch of actions needs, in a handful of queries."""

    @classmethod
    async def load(cls, actions: list[dict]) -> _Context:
        self = cls()
        invoice_ids = list({a["invoice"] for a in actions})
        client_ids = list({a["client"] for a in actions})
        step_ids = list({a["step"] for a in actions})
        self.invoices = {r["id"]: r for r in await Invoice.select(
            Invoice.id, Invoice.code, Invoice.currency, Invoice.total_minor, Invoice.paid_minor, Invoice.due_date, Invoice.status,
        ).where(bulk.ids_in(Invoice.id, invoice_ids))}
        self.clients = {r["id"]: r for r in await Client.select(
            Client.id, Client.name, Client.language, Client.sales_manager, Client.email,
        ).where(bulk.ids_in(Client.id, client_ids))}
        self.emails: dict[int, str] = {}
        for c in await Contact.select(Contact.client, Contact.email, Contact.is_primary).where(
            bulk.ids_in(Contact.client, client_ids) & (Contact.email != "")
        ).order_by(Contact.is_primary, ascending=False).order_by(Contact.id):
            self.emails.setdefault(c["client"], c["email"])
        for client in self.clients.values():
            if client["email"]:
                self.emails.setdefault(client["id"], client["email"])
        self.steps = {r["id"]: r for r in await LadderStep.select().where(bulk.ids_in(LadderStep.id, step_ids)).output(load_json=True)}
        self.people = await staff_by_role()
        self.languages = await staff_languages()
        return self


def due_status(due_date: dt.date, today: dt.date) -> str:
    """When the invoice is due, in words of the current language (a forgiven client's due-date call
    comes days after the due date: it must not say "due today")."""
    days = (today - due_date).days
    if days == 0:
        return i18n.gettext("due today")
    if days < 0:
        return i18n.ngettext("due in %(num)s day", "due in %(num)s days", -days)
    return i18n.ngettext("%(num)s day overdue", "%(num)s days overdue", days)


def _wording(step: dict, client: dict, invoice: dict, as_of: dt.datetime, firm_name: str, tz: str,
             language: str) -> tuple[dict[str, str], dt.date | None]:
    """The step's wording in `language` (the client's for what the client reads, the assignee's
    for a task), its amounts and dates written as that language writes them."""
    with i18n.in_language(language):
        return _worded(step, client, invoice, as_of, firm_name, tz, language)


def _worded(step: dict, client: dict, invoice: dict, as_of: dt.datetime, firm_name: str, tz: str,
            language: str) -> tuple[dict[str, str], dt.date | None]:
    today = local_date(as_of, tz)
    deadline = today + dt.timedelta(days=step["deadline_days"]) if step["deadline_days"] else None
    values = {
        "client": client["name"], "invoice": invoice["code"], "firm": firm_name, "step": step["name"],
        "amount": i18n.format_money(invoice["total_minor"] - invoice["paid_minor"], invoice["currency"]),
        "due_date": i18n.format_date(invoice["due_date"]), "days_overdue": str(max(0, (today - invoice["due_date"]).days)),
        "due_status": due_status(invoice["due_date"], today),
        "days_late": i18n.ngettext("%(num)s day", "%(num)s days", max(0, (today - invoice["due_date"]).days)),
        "deadline": i18n.format_date(deadline) if deadline else "",
    }
    text = rules.render(rules.template_for(step["templates"] or {}, language), values)
    if not text["subject"]:
        text["subject"] = f"{step['name']}: {client['name']}, {invoice['code']}"
    return text, deadline


async def _carry_out(action: dict, ctx: _Context, fx: Effects, as_of: dt.datetime, firm_name: str, tz: str) -> None:
    invoice, client, step = ctx.invoices[action["invoice"]], ctx.clients[action["client"]], ctx.steps[action["step"]]
    action_id, channel = action["id"], action["channel"]
    if invoice["status"] != InvoiceStatus.ISSUED or invoice["total_minor"] - invoice["paid_minor"] <= 0:
        fx.outcomes[action_id] = (ActionStatus.CANCELLED, N_("paid before it was carried out"))
        return
    client_language = client["language"] or "en"
    text, deadline = _wording(step, client, invoice, as_of, firm_name, tz, client_language)
    due_at = _as_utc(action["scheduled_at"])
    person = assignee_for(step["assignee"], client["sales_manager"], ctx.people)
    staff_language = ctx.languages.get(person, "en") if person else "en"
    if channel == "email":
        address = ctx.emails.get(client["id"])
        if not address:
            raise CannotCarryOut(N_("The client has no email address on file."))
        fx.emails.append((f"dunning-action-{action_id}", address, text["subject"][:300], text["body"], client["id"], invoice["id"],
                          EmailStatus.QUEUED, 0, min(as_of, utcnow()), as_of))
        outcome = f"email queued to {address}"
    elif channel == "portal_notice":
        fx.notices.append((client["id"], "dunning", text["body"] or text["subject"], f"/client/invoices/{invoice['id']}", as_of))
        outcome = N_("notice shown in the client portal")
    elif channel == "sanction":  # applied for the whole batch at once, after this loop
        fx.sanctions.append((action_id, client["id"], step["sanction"], invoice["id"], step["name"]))
        return
    elif channel in TASK_KINDS:
        if person is None:
            raise CannotCarryOut(N_("Nobody holds the role this step is assigned to."))
        task_due = due_at + dt.timedelta(days=step["deadline_days"]) if channel == "negotiation" else due_at
        if channel in ("call", "negotiation", "legal_handover"):  # the assignee's own work, in their language
            task, _ = _wording(step, client, invoice, as_of, firm_name, tz, staff_language)
            title, note = task["subject"], task["body"]
        else:  # a letter to sign: the letter is in the client's language, the task that asks for it in the assignee's
            with i18n.in_language(staff_language):
                title, note = i18n.gettext("Sign and send: %(letter)s", letter=text["subject"]), text["body"]
        fx.tasks.append((TASK_KINDS[channel], person, client["id"], invoice["id"], task_due, title[:200], note, action_id, as_of))
        if channel in ("letter", "formal_claim", "court_warning", "legal_handover"):
            fx.letters.append((action_id, invoice["id"], client["id"], channel, client_language, text["subject"][:300],
                               text["body"], deadline, LetterStatus.TO_SEND, as_of))
        if channel in ("negotiation", "legal_handover") and client["sales_manager"]:
            fx.notifications.append((client["sales_manager"], as_of, f"{step['name']}: {client['name']}, {invoice['code']}"[:300],
                                     f"/staff/invoices/{invoice['id']}"))
        outcome = {"call": N_("call task created"), "negotiation": f"negotiation window of {step['deadline_days']} days",
                   "legal_handover": N_("case file handed to the lawyers")}.get(channel, N_("in the letters register"))
    else:
        raise CannotCarryOut(f"Unknown channel {channel!r}.")
    fx.outcomes[action_id] = (ActionStatus.DONE, outcome)
    fx.events.append(("dunning_step_done", "invoice", invoice["id"], client["id"], {},
                      {"step": step["name"], "channel": channel, "outcome": outcome}))


def _as_utc(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


async def _write(fx: Effects, as_of: dt.datetime) -> None:
    task_of = await tasks.create_for_actions(fx.tasks)
    await mail.queue_many(fx.emails)
    await bulk.insert_many(Letter, (Letter.action, Letter.invoice, Letter.client, Letter.kind, Letter.language, Letter.subject,
                                    Letter.body, Letter.deadline, Letter.status, Letter.created_at), fx.letters,
                           on_conflict="ON CONFLICT (action) DO NOTHING")
    await notices.post_many(fx.notices)
    await notifications.notify_many(fx.notifications)
    await audit.record_system_events(fx.events, at=as_of)
    await bulk.update_many(
        DunningAction, DunningAction.id,
        (DunningAction.status, DunningAction.outcome, DunningAction.done_at, DunningAction.attempts, DunningAction.last_error,
         DunningAction.task),
        [(action_id, status, outcome, as_of, fx.attempts.get(action_id, 0) + 1, "", task_of.get(action_id))
         for action_id, (status, outcome) in fx.outcomes.items()],
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
            await DunningAction.update({DunningAction.status: ActionStatus.FAILED, DunningAction.attempts: attempts,
                                        DunningAction.last_error: message, DunningAction.done_at: as_of}).where(DunningAction.id == action_id)
            await audit.record_system_events([("dunning_step_failed", "invoice", row["invoice"], row["client"], {},
                                               {"error": message, "attempts": attempts})], at=as_of)
            report.failed += 1
        else:
            await DunningAction.update({DunningAction.attempts: attempts, DunningAction.last_error: message,
                                        DunningAction.next_attempt_at: as_of + backoff(attempts)}).where(DunningAction.id == action_id)
            report.retrying += 1
