"""The default dunning policy, written once into an empty database: two ladders (the pressure
ladder of DOMAIN.md section 5 and the negotiation rule set of section 4), which segment follows
which, and the catalogue of delay reasons. `ensure_defaults()` runs at the end of
`portal migrate` and in the demo loader; it never touches ladders or reasons that exist, so
credit controllers' edits survive every later migrate.
"""

from __future__ import annotations

from portal import db
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.clock import utcnow
from portal.dunning.tables import DelayReason, Ladder, LadderStep, SegmentLadder

PRESSURE = "Pressure ladder"
NEGOTIATION = "Negotiation ladder"
PREPAYMENT = "Prepayment reminders"
SEGMENT_LADDERS = {"A": NEGOTIATION, "B": PRESSURE, "C": PRESSURE}

EN_SIGNATURE = "\n\nKind regards,\n{firm}"
RO_SIGNATURE = "\n\nCu stimă,\n{firm}"


def _t(subject: str, body: str, signature: str = EN_SIGNATURE) -> dict[str, str]:
    return {"subject": subject, "body": body + signature}


def _task(subject: str, body: str) -> dict[str, str]:
    return {"subject": subject, "body": body}


# (position, name, offset days, time, channel, assignee, extra fields, templates per language)
PRESSURE_STEPS = (
    (10, "Friendly reminder", -3, "10:00", "email", "manager", {}, {
        "en": _t("Invoice {invoice} falls due on {due_date}",
                 "Dear {client},\n\nA friendly reminder that invoice {invoice} for {amount} falls due on {due_date}. "
                 "If you have already paid, thank you, and please ignore this message."),
        "ro": _t("Factura {invoice} este scadentă la {due_date}",
                 "Stimate client {client},\n\nVă reamintim că factura {invoice}, în valoare de {amount}, este scadentă la "
                 "{due_date}. Dacă ați efectuat deja plata, vă mulțumim și vă rugăm să ignorați acest mesaj.", RO_SIGNATURE),
    }),
    (20, "Due-date call", 0, "12:00", "call", "manager", {}, {
        "en": _task("Call {client}: invoice {invoice}, {due_status}",
                    "Invoice {invoice} for {amount} fell due on {due_date} ({due_status}). Check the payment was made; if "
                    "not, make a friendly but firm demand to pay by the end of the day."),
    }),
    (30, "Payment-or-penalty email", 1, "09:00", "email", "manager", {}, {
        "en": _t("Invoice {invoice} is overdue: payment due or a penalty applies",
                 "Dear {client},\n\nInvoice {invoice} for {amount} was due on {due_date} and is now {days_late} "
                 "overdue. Please pay it today; otherwise the late-payment penalty of our contract applies."),
        "ro": _t("Factura {invoice} este restantă: plata sau penalități",
                 "Stimate client {client},\n\nFactura {invoice}, în valoare de {amount}, era scadentă la {due_date} și are "
                 "acum {days_late} de întârziere. Vă rugăm să o achitați astăzi; în caz contrar se aplică "
                 "penalitățile de întârziere prevăzute în contract.", RO_SIGNATURE),
    }),
    (35, "Overdue notice in the portal", 1, "09:00", "portal_notice", "manager", {}, {
        "en": _task("Invoice {invoice} is overdue",
                    "Invoice {invoice} for {amount} was due on {due_date}. Please pay it, or tell us when you will."),
        "ro": _task("Factura {invoice} este restantă",
                    "Factura {invoice}, în valoare de {amount}, era scadentă la {due_date}. Vă rugăm să o achitați sau să "
                    "ne spuneți când o veți achita."),
    }),
    (40, "Pay-today call", 1, "11:00", "call", "manager", {}, {
        "en": _task("Call {client}: pay {invoice} today",
                    "Invoice {invoice} for {amount} is {days_late} overdue. Demand payment today, or an official "
                    "letter from the client naming their payment date."),
    }),
    (50, "Official demand letter", 2, "10:00", "letter", "credit_controller", {"skip_if_deferral": True}, {
        "en": _t("Demand for payment: invoice {invoice}",
                 "To {client}\n\nOur invoice {invoice} for {amount}, due on {due_date}, remains unpaid {days_late} "
                 "after its due date. We formally demand its payment without delay."),
        "ro": _t("Somație de plată: factura {invoice}",
                 "Către {client}\n\nFactura noastră {invoice}, în valoare de {amount}, scadentă la {due_date}, a rămas "
                 "neachitată la {days_late} după scadență. Vă solicităm în mod oficial achitarea ei fără "
                 "întârziere.", RO_SIGNATURE),
    }),
    (60, "Discount suspended", 3, "10:00", "sanction", "credit_controller", {"sanction": "remove_discount"}, {
        "en": _task("Discount suspended for {client}",
                    "Invoice {invoice} for {amount} is {days_late} overdue: the client's usual discount is "
                    "suspended until the overdue debt is paid."),
    }),
    (65, "Service priority lowered", 4, "10:00", "sanction", "credit_controller", {"sanction": "lower_priority"}, {
        "en": _task("Service priority lowered for {client}",
                    "Invoice {invoice} for {amount} is {days_late} overdue: clients without debt are served first, so "
                    "{client}'s orders are served last until the overdue debt is paid."),
    }),
    (70, "Formal warning of court", 7, "10:00", "court_warning", "credit_controller", {"deadline_days": 7}, {
        "en": _t("Final warning before court: invoice {invoice}",
                 "To {client}\n\nInvoice {invoice} for {amount}, due on {due_date}, is still unpaid. Unless it is paid in "
                 "full by {deadline}, the case goes to court without further notice."),
        "ro": _t("Ultim avertisment înainte de instanță: factura {invoice}",
                 "Către {client}\n\nFactura {invoice}, în valoare de {amount}, scadentă la {due_date}, este în continuare "
                 "neachitată. Dacă nu este achitată integral până la {deadline}, cazul va fi trimis în instanță fără alt "
                 "avertisment.", RO_SIGNATURE),
    }),
    (75, "Credit hold", 7, "10:05", "sanction", "credit_controller", {"sanction": "credit_hold"}, {
        "en": _task("Credit hold for {client}",
                    "Invoice {invoice} for {amount} is {days_late} overdue: new orders wait or are paid in cash "
                    "until the overdue debt is paid."),
    }),
    (80, "Hand-over to lawyers", 15, "10:00", "legal_handover", "lawyer", {}, {
        "en": _task("Case file for the lawyers: {client}, invoice {invoice}",
                    "Invoice {invoice} for {amount}, due on {due_date}, is {days_late} overdue and every step of "
                    "the ladder has been taken. All documents go to the lawyers and the court case starts."),
    }),
)

NEGOTIATION_STEPS = (
    (10, "Negotiation window", 1, "09:00", "negotiation", "manager", {"deadline_days": 10}, {
        "en": _task("Negotiate with {client}: invoice {invoice} is overdue",
                    "Invoice {invoice} for {amount} was due on {due_date}. You have until {deadline} to resolve it by "
                    "negotiation: establish the reason, hear the client's proposal and fix a signed repayment schedule."),
    }),
    (15, "Service priority lowered", 11, "09:30", "sanction", "credit_controller", {"sanction": "lower_priority"}, {
        "en": _task("Service priority lowered for {client}",
                    "The negotiation window for invoice {invoice} ({amount}) closed without payment: even a privileged "
                    "client is served after the clients without debt until the overdue debt is paid."),
    }),
    (20, "Formal claim: one month", 11, "10:00", "formal_claim", "lawyer", {"deadline_days": 30}, {
        "en": _t("Formal claim: invoice {invoice}",
                 "To {client}\n\nInvoice {invoice} for {amount}, due on {due_date}, remains unpaid despite our talks. We "
                 "formally claim its payment by {deadline}. The responsible manager stays at your disposal meanwhile."),
        "ro": _t("Notificare formală de plată: factura {invoice}",
                 "Către {client}\n\nFactura {invoice}, în valoare de {amount}, scadentă la {due_date}, a rămas neachitată "
                 "în ciuda discuțiilor noastre. Vă solicităm formal achitarea ei până la {deadline}. Între timp, managerul "
                 "responsabil rămâne la dispoziția dumneavoastră.", RO_SIGNATURE),
    }),
    (30, "Court", 41, "10:00", "legal_handover", "lawyer", {}, {
        "en": _task("Court: {client}, invoice {invoice}",
                    "The formal claim's month has passed and invoice {invoice} for {amount} is still unpaid. The case goes "
                    "to court."),
    }),
)

# An order waiting for its prepayment: nobody nags blindly (DOMAIN.md section 1). Reminders and calls
# that ask when to call back; a callback holds the ladder until its day; never a sanction or court.
PREPAYMENT_STEPS = (
    (10, "Prepayment reminder", -2, "10:00", "email", "manager", {}, {
        "en": _t("Your order waits for invoice {invoice}",
                 "Dear {client},\n\nYour order is ready to go into production as soon as the prepayment arrives: "
                 "invoice {invoice} for {amount}, due on {due_date}. If you have already paid, thank you, and please "
                 "ignore this message."),
        "ro": _t("Comanda dumneavoastră așteaptă plata facturii {invoice}",
                 "Stimate client {client},\n\nComanda dumneavoastră poate intra în producție imediat ce primim plata în "
                 "avans: factura {invoice}, în valoare de {amount}, scadentă la {due_date}. Dacă ați efectuat deja plata, "
                 "vă mulțumim și vă rugăm să ignorați acest mesaj.", RO_SIGNATURE),
    }),
    (20, "Ask when to call back", 1, "11:00", "call", "manager", {}, {
        "en": _task("Call {client}: the order behind invoice {invoice} waits for its prepayment",
                    "Invoice {invoice} for {amount} ({due_status}) is the prepayment of an order: nothing is produced "
                    "until it is paid. Ask the client when they will pay and when to call back, and record that "
                    "callback: the reminders wait for it."),
    }),
    (30, "Order waiting notice", 7, "10:00", "portal_notice", "manager", {}, {
        "en": _task("Your order waits for invoice {invoice}",
                    "Production of your order starts when invoice {invoice} for {amount} is paid. Tell your account "
                    "manager when you plan to pay."),
        "ro": _task("Comanda dumneavoastră așteaptă plata facturii {invoice}",
                    "Producția comenzii dumneavoastră începe după achitarea facturii {invoice}, în valoare de {amount}. "
                    "Vă rugăm să-i spuneți managerului de cont când intenționați să efectuați plata."),
    }),
    (40, "Second call", 14, "11:00", "call", "manager", {}, {
        "en": _task("Call {client} again: invoice {invoice} still unpaid",
                    "The prepayment for the order behind invoice {invoice} ({amount}, {due_status}) has not arrived. Ask "
                    "whether the order still stands, and when to call back."),
    }),
)

LADDERS = (
    (PRESSURE, "Timely reminders with gradually rising pressure, from a reminder before the due date to the lawyers.",
     PRESSURE_STEPS),
    (NEGOTIATION, "Keep the client while collecting: ten days of negotiation by the manager, then a formal claim giving "
     "one month, then court.", NEGOTIATION_STEPS),
)
PREPAYMENT_LADDER = (PREPAYMENT, "Orders waiting for their prepayment: gentle reminders and calls that ask when to call "
                     "back. Nothing is produced until it is paid; no sanction, no letter, no court.", PREPAYMENT_STEPS)

DELAY_REASONS = (
    "Cash-flow gap", "Waiting for their own client's payment", "Invoice or documents not received",
    "Disputes amount or quality", "Internal approval pending", "Forgot / oversight", "Bank or technical problem", "Other",
)


async def _create_ladder(name: str, description: str, steps: tuple, actor: Actor, purpose: str = "debt") -> int:
    now = utcnow()
    ladder = Ladder(name=name, description=description, version=1, purpose=purpose, created_at=now, updated_at=now)
    await ladder.save()
    for position, step_name, offset, at, channel, assignee, extra, templates in steps:
        await LadderStep(
            ladder=ladder.id, position=position, name=step_name, offset_days=offset, time_of_day=at, channel=channel,
            assignee=assignee, templates=templates, deadline_days=extra.get("deadline_days", 0),
            sanction=extra.get("sanction", ""), skip_if_deferral=extra.get("skip_if_deferral", False),
            is_active=True, created_at=now, updated_at=now,
        ).save()
    await audit.record(actor, "ladder_created", "ladder", ladder.id, after={"name": name, "steps": len(steps), "purpose": purpose})
    return ladder.id


async def ensure_defaults() -> dict:
    """Write the default ladders (when there are no ladders at all), the prepayment ladder (when there
    is none: databases older than it get it once) and the delay-reason catalogue (when it is empty).
    Says what it created: {"ladders": n, "steps": n, "delay_reasons": n}."""
    created = {"ladders": 0, "steps": 0, "delay_reasons": 0}
    actor = Actor(None, "system")
    async with db.transaction():
        if await Ladder.count() == 0:
            ids = {}
            for name, description, steps in LADDERS:
                ids[name] = await _create_ladder(name, description, steps, actor)
                created["ladders"] += 1
                created["steps"] += len(steps)
            taken = {row["segment"] for row in await SegmentLadder.select(SegmentLadder.segment)}
            for segment, name in SEGMENT_LADDERS.items():
                if segment not in taken:
                    await SegmentLadder(segment=segment, ladder=ids[name]).save()
                    await audit.record(actor, "segment_ladder_set", "ladder", ids[name], after={"segment": segment})
        if not await Ladder.exists().where(Ladder.purpose == "prepayment"):
            name, description, steps = PREPAYMENT_LADDER
            if await Ladder.exists().where(Ladder.name == name):
                name = f"{name} (orders)"
            await _create_ladder(name, description, steps, actor, purpose="prepayment")
            created["ladders"] += 1
            created["steps"] += len(steps)
        if await DelayReason.count() == 0:
            now = utcnow()
            for position, name in enumerate(DELAY_REASONS, start=1):
                await DelayReason(name=name, position=position * 10, is_active=True, created_at=now).save()
            created["delay_reasons"] = len(DELAY_REASONS)
    return created
