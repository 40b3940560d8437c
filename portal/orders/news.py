"""What an order's people are told as it moves. The client (a notice and an email in its language):
a technical specification awaits its approval, production has started. The designers (a
notification in their own language): layout variants are needed for a new request, or the client
asked for changes. Each joins the transaction of the move it announces."""

from __future__ import annotations

from portal.auth.roles import Kind, Role
from portal.auth.tables import User
from portal.clients.notices import tell_client
from portal.tasks.notifications import notify
from portal.web import i18n
from portal.web.i18n import gettext as _


async def spec_awaits_approval(order: dict, version: int) -> None:
    def words() -> tuple[str, str]:
        return (_("Please approve the technical specification of order %(order)s", order=order["number"]),
                _("Version %(version)s of the technical specification of your order %(order)s awaits your approval.",
                  version=version, order=order["number"]))

    await tell_client(order["client"], "spec_sent", words, link=f"/client/orders/{order['id']}#spec",
                      email_key=f"spec-{order['id']}-v{version}")


async def production_started(order: dict) -> None:
    def words() -> tuple[str, str]:
        return (_("Order %(order)s is in production", order=order["number"]),
                _("Your order %(order)s has entered production. We will tell you when it ships.", order=order["number"]))

    await tell_client(order["client"], "production_started", words, link=f"/client/orders/{order['id']}",
                      email_key=f"production-{order['id']}")


async def designers(order: dict, message: str, **values: object) -> int:
    """Tell every active designer (each in their language) about the order; returns how many."""
    rows = await User.select(User.id, User.language).where(
        (User.kind == Kind.STAFF.value) & (User.role == Role.DESIGNER.value) & (User.is_active == True)  # noqa: E712
    )
    for row in rows:
        with i18n.in_language(row["language"]):
            await notify(row["id"], _(message, order=order["number"], **values), f"/staff/orders/{order['id']}")
    return len(rows)
