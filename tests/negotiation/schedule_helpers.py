"""A client with overdue invoices on the pressure ladder, and the negotiation context, for the
schedule tests (through the real tables and services)."""

from __future__ import annotations

import datetime as dt

from portal.audit.service import Actor
from portal.auth.roles import Role
from portal.clock import utcnow
from portal.dunning.engine import rules as ladder_rules
from portal.negotiation.schedules import rules, service
from tests.billing.staff_helpers import issue
from tests.dunning.engine_helpers import PRESSURE, make_ladder
from tests.factories import make_client, make_client_user, make_contact, make_staff


def ctx_of(settings) -> service.Context:
    return service.Context(rules.Policy.from_settings(settings), settings.firm_timezone)


def local_today(settings) -> dt.date:
    return ladder_rules.local_date(utcnow(), settings.firm_timezone)


def at(settings, day: dt.date, hhmm: str = "12:00") -> dt.datetime:
    return ladder_rules.local_at(day, dt.time.fromisoformat(hhmm), settings.firm_timezone)


async def debtor(*, overdue_days: int = 5, invoices: int = 1, unit_minor: int = 100000, ladder: bool = True) -> dict:
    """A client (segment B) with `invoices` overdue invoices, its user, manager and negotiator, on the
    pressure ladder (made once per test: the second debtor of a test says ladder=False)."""
    manager = await make_staff(Role.SALES_MANAGER)
    negotiator = await make_staff(Role.NEGOTIATOR)
    client_id = await make_client(sales_manager=str(manager["id"]))
    await make_contact(client_id)
    user = await make_client_user(client_id)
    ladder = await make_ladder("Pressure", PRESSURE) if ladder else None
    issued = [await issue(client_id, due_in=-overdue_days - k, unit_minor=unit_minor) for k in range(invoices)]
    return {"client_id": client_id, "user": user, "manager": manager, "negotiator": negotiator, "ladder": ladder,
            "invoices": issued, "client_actor": Actor(user["id"], user.get("name", "Client")),
            "staff_actor": Actor(negotiator["id"], negotiator.get("name", "Negotiator"))}


def split(total: int, days: list[int], today: dt.date) -> list[rules.Row]:
    """Installments on today + each of `days`, summing exactly to `total`."""
    base, extra = divmod(total, len(days))
    return [rules.Row(today + dt.timedelta(days=d), base + (extra if k == 0 else 0)) for k, d in enumerate(days)]
