"""The tick's first half: for every open invoice the engine must look at, load the facts, ask
rules.decide, and record what is due as action rows (unique per invoice and step) together with
the invoice's new state, the pauses that ran out and the audit trail — one transaction a batch.

No side effect happens here except approval tasks for privileged clients' legal steps, which are
rows written in the same transaction as their action. Everything else is left `pending` for the
executor. Two runners planning the same invoice insert one action: the second insert is ignored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from portal import bulk, db
from portal.audit import service as audit
from portal.billing.tables import Invoice
from portal.clock import utcnow
from portal.dunning.engine import rules
from portal.dunning.engine.people import first_of_role
from portal.dunning.engine.tables import ActionStatus, DunningAction, DunningState
from portal.dunning.escalation import prepayment, rules as transitions
from portal.dunning.escalation.tables import Pause, PauseKind
from portal.dunning.ladders.tables import Ladder, LadderStep
from portal.messages import N_
from portal.tasks import notifications, service as tasks
from portal.web import i18n

BATCH = 1000


@dataclass
class LadderFacts:
    id: int
    version: int
    steps: list[rules.Step]

    @property
    def lead_days(self) -> int:
        """How many days before the due date the ladder starts."""
        return max([-s.offset_days for s in self.steps if s.active] + [0])


@dataclass
class PlanReport:
    invoices: int = 0
    actions: int = 0
    pauses_ended: int = 0
    by_status: dict[str, int] = field(default_factory=dict)

    def add(self, other: PlanReport) -> None:
        self.invoices += other.invoices
        self.actions += other.actions
        self.pauses_ended += other.pauses_ended
        for status, n in other.by_status.items():
            self.by_status[status] = self.by_status.get(status, 0) + n


async def load_ladders() -> dict[int, LadderFacts]:
    ladders = {row["id"]: LadderFacts(row["id"], row["version"], []) for row in await Ladder.select(Ladder.id, Ladder.version)}
    for row in await LadderStep.select().order_by(LadderStep.position).order_by(LadderStep.id):
        if row["ladder"] in ladders:
            ladders[row["ladder"]].steps.append(step_from_row(row))
    return ladders


def step_from_row(row: dict) -> rules.Step:
    return rules.Step(
        id=row["id"], position=row["position"], name=row["name"], offset_days=row["offset_days"],
        time_of_day=rules.parse_time(row["time_of_day"]), channel=row["channel"], assignee=row["assignee"],
        deadline_days=row["deadline_days"], sanction=row["sanction"], skip_if_deferral=row["skip_if_deferral"],
        active=row["is_active"],
    )


# The states due for a look, by index on (next_at, invoice), keyset-paged on that pair; every open
# invoice has a state (made when it is issued), so nothing else needs scanning.
_CANDIDATES = f"""
SELECT s.next_at AS state_next_at, i.id, i.client, i.due_date, i.total_minor - i.paid_minor AS balance, i.status,
       c.privileged, c.forgiveness_days, c.sales_manager, c.name AS client_name, i.code,
       {prepayment.LADDER_OF_INVOICE} AS ladder
FROM dunning_states s
JOIN invoices i ON i.id = s.invoice
JOIN clients c ON c.id = i.client
{prepayment.LADDER_JOINS}
WHERE s.next_at <= {{}} AND (s.next_at > {{}} OR (s.next_at = {{}} AND s.invoice > {{}})) AND s.invoice % {{}} = {{}}
ORDER BY s.next_at, s.invoice
LIMIT {{}}
"""
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _as_date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _as_datetime(value) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


async def plan(as_of: dt.datetime, tz: str, *, ladders: dict[int, LadderFacts] | None = None, batch: int = BATCH,
               part: tuple[int, int] = (0, 1)) -> PlanReport:
    """Plan every due invoice, or the invoices of one part (k, n): those whose id is k modulo n
    (parts planned at once on separate connections never meet)."""
    ladders = ladders if ladders is not None else await load_ladders()
    report = PlanReport()
    after_at, after_id = _EPOCH, 0
    while True:
        rows = await Invoice.raw(_CANDIDATES, as_of, after_at, after_at, after_id, part[1], part[0], batch)
        if not rows:
            return report
        after_at, after_id = _as_datetime(rows[-1]["state_next_at"]), rows[-1]["id"]
        await _plan_batch(rows, ladders, as_of, tz, report)
        if len(rows) < batch:
            return report


async def _plan_batch(rows: list[dict], ladders: dict[int, LadderFacts], as_of: dt.datetime, tz: str, report: PlanReport) -> None:
    ids = [r["id"] for r in rows]
    async with db.transaction():
        taken: dict[int, list[rules.Taken]] = {}
        for a in await DunningAction.select(DunningAction.invoice, DunningAction.step, DunningAction.status, DunningAction.taken_at).where(
            bulk.ids_in(DunningAction.invoice, ids)
        ):
            taken.setdefault(a["invoice"], []).append(rules.Taken(a["step"], a["status"], a["taken_at"]))
        pauses: dict[int, list[rules.PauseFacts]] = {}
        deferral: set[int] = set()
        for p in await Pause.select(
            Pause.id, Pause.invoice, Pause.kind, Pause.starts_at, Pause.until, Pause.ended_at, Pause.end_reason
        ).where(bulk.ids_in(Pause.invoice, ids)):
            pauses.setdefault(p["invoice"], []).append(
                rules.PauseFacts(p["id"], p["kind"], p["starts_at"], p["until"], p["ended_at"], p["end_reason"])
            )
            if p["kind"] in (PauseKind.PROMISE, PauseKind.PROPOSAL, PauseKind.PLAN):
                deferral.add(p["invoice"])
        new_actions: list[tuple] = []
        states: list[tuple] = []
        expired: list[tuple[dict, rules.PauseFacts]] = []
        for row in rows:
            ladder = ladders.get(row["ladder"]) if row["ladder"] is not None else None
            facts = rules.InvoiceFacts(
                invoice_id=row["id"], client_id=row["client"], due_date=_as_date(row["due_date"]), balance_minor=row["balance"],
                status=row["status"], privileged=bool(row["privileged"]), forgiveness_days=row["forgiveness_days"] or 0,
            )
            decision = rules.decide(
                facts, ladder.steps if ladder else [], taken.get(row["id"], []), pauses.get(row["id"], []), as_of, tz,
                deferral_requested=row["id"] in deferral,
            )
            expired.extend((row, p) for p in decision.expired_pauses)
            for due in decision.due:
                new_actions.append((
                    row["id"], due.step.id, row["client"], ladder.version if ladder else 1, due.step.position, due.step.channel,
                    due.scheduled_at, as_of, due.status, 0, as_of, due.reason, "", "", as_of if due.status == ActionStatus.SKIPPED else None,
                ))
            states.append((
                row["id"], ladder.id if ladder else None, decision.last_step.id if decision.last_step else None,
                decision.last_step.position if decision.last_step else 0, decision.severity,
                decision.next_step.id if decision.next_step else None, decision.next_at,
                decision.paused_by.kind if decision.paused_by else (decision.blocked or ""),
                decision.paused_by.until if decision.paused_by else None, _as_date(row["due_date"]), utcnow(),
            ))
        report.invoices += len(rows)
        report.pauses_ended += await _end_expired(expired, as_of)
        inserted = await _insert_actions(new_actions)
        for action in inserted:
            report.actions += 1
            report.by_status[action["status"]] = report.by_status.get(action["status"], 0) + 1
        await _approval_tasks([a for a in inserted if a["status"] == ActionStatus.AWAITING_APPROVAL], {r["id"]: r for r in rows})
        # a step due now is audited when it is carried out; what the planner settles itself, now
        step_names = {s.id: s.name for ladder in ladders.values() for s in ladder.steps}
        await _audit_actions([a for a in inserted if a["status"] != ActionStatus.PENDING], step_names, as_of)
        await _update_states(states)


_ACTION_COLUMNS = (
    DunningAction.invoice, DunningAction.step, DunningAction.client, DunningAction.ladder_version, DunningAction.position,
    DunningAction.channel, DunningAction.scheduled_at, DunningAction.taken_at, DunningAction.status, DunningAction.attempts,
    DunningAction.next_attempt_at, DunningAction.reason, DunningAction.outcome, DunningAction.last_error, DunningAction.done_at,
)


async def _insert_actions(actions: list[tuple]) -> list[dict]:
    """Only the actions this runner wrote come back: another runner's insert of the same
    (invoice, step) wins and this one is ignored."""
    return await bulk.insert_many(
        DunningAction, _ACTION_COLUMNS, actions, on_conflict="ON CONFLICT (invoice, step) DO NOTHING",
        returning=(DunningAction.id, DunningAction.invoice, DunningAction.step, DunningAction.client, DunningAction.status,
                   DunningAction.channel, DunningAction.reason, DunningAction.position),
    )


async def _update_states(states: list[tuple]) -> None:
    await bulk.update_many(
        DunningState, DunningState.invoice,
        [DunningState.ladder, DunningState.last_step, DunningState.last_position, DunningState.severity, DunningState.next_step,
         DunningState.next_at, DunningState.paused_kind, DunningState.paused_until, DunningState.due_date, DunningState.updated_at],
        states,
    )


async def _end_expired(expired: list[tuple[dict, rules.PauseFacts]], as_of: dt.datetime) -> int:
    """Pauses whose time ran out with the invoice still open: a promise or a plan is broken (the
    manager is told), anything else simply expired. Only the runner whose update wins tells anyone."""
    ended = 0
    for row, pause in expired:
        end_reason = "broken" if pause.kind in (PauseKind.PROMISE, PauseKind.PLAN) else "expired"
        won = await Pause.update({Pause.ended_at: pause.until, Pause.end_reason: end_reason}).where(
            (Pause.id == pause.id) & Pause.ended_at.is_null()
        ).returning(Pause.id)
        if not won:
            continue
        ended += 1
        event = transitions.EXPIRY_EVENTS.get(pause.kind, "pause_expired")
        state = transitions.state_of({pause.kind}, settled=False, blocked=False)
        await audit.record_system_events([
            ("promise_broken" if pause.kind == PauseKind.PROMISE else "dunning_pause_ended", "invoice", row["id"], row["client"],
             {"kind": pause.kind}, {"end_reason": end_reason}),
            ("escalation_changed", "invoice", row["id"], row["client"], {"state": state},
             {"event": event, "state": transitions.target(state, event)}),
        ])
        if end_reason == "broken" and row["sales_manager"]:
            message = (N_("%(client)s did not keep the promise to pay %(invoice)s: the ladder goes on.") if pause.kind == PauseKind.PROMISE
                       else N_("%(client)s did not keep the repayment plan for %(invoice)s: the ladder goes on."))
            await notifications.tell(row["sales_manager"], message, f"/staff/invoices/{row['id']}",
                                     client=row["client_name"], invoice=row["code"])
    return ended


async def _approval_tasks(actions: list[dict], rows: dict[int, dict]) -> None:
    """A privileged client's legal step waits for an admin: a task for the first active admin."""
    if not actions:
        return
    admin = await first_of_role("admin")
    if admin is None:
        return
    now = utcnow()
    with i18n.in_language(await notifications.language_of(admin)):
        note = i18n.gettext("A privileged client: court or legal hand-over needs an admin's approval.")
        titles = {a["id"]: i18n.gettext("Approve legal hand-over: %(client)s, %(invoice)s", client=rows[a["invoice"]]["client_name"],
                                        invoice=rows[a["invoice"]]["code"]) for a in actions}
    await tasks.create_for_actions([
        ("approval", admin, a["client"], a["invoice"], now, titles[a["id"]][:200], note, a["id"], now) for a in actions
    ])


_AUDIT_ACTIONS = {ActionStatus.PENDING: "dunning_step_due", ActionStatus.SKIPPED: "dunning_step_skipped",
                  ActionStatus.AWAITING_APPROVAL: "dunning_step_awaiting_approval"}


async def _audit_actions(actions: list[dict], step_names: dict[int, str], as_of: dt.datetime) -> None:
    await audit.record_system_events([
        (_AUDIT_ACTIONS[a["status"]], "invoice", a["invoice"], a["client"], {},
         {"step": step_names.get(a["step"], str(a["position"])), "channel": a["channel"], "reason": a["reason"]})
        for a in actions
    ], at=as_of)
