"""What a client is told about its money: an invoice issued and a payment received, each as a notice
on its home page and an email to its primary contact, in the client's language, in the transaction
of the fact itself (so it exists exactly when the fact does)."""

from __future__ import annotations

from portal.clients.notices import tell_client
from portal.orders.tables import Order
from portal.web.i18n import format_date, format_money, gettext as _


async def invoice_issued(invoice: dict) -> None:
    order = await Order.select(Order.number).where(Order.id == invoice["order"]).first() if invoice.get("order") else None

    def words() -> tuple[str, str]:
        values = {"invoice": invoice["code"], "amount": format_money(invoice["total_minor"], invoice["currency"]),
                  "date": format_date(invoice["due_date"])}
        if order:
            message = _("Invoice %(invoice)s of %(amount)s is issued for your order %(order)s, due on %(date)s. Production "
                        "starts once the technical specification is approved and the invoice is paid.", order=order["number"], **values)
        else:
            message = _("Invoice %(invoice)s of %(amount)s is issued, due on %(date)s.", **values)
        return _("Invoice %(invoice)s issued", invoice=invoice["code"]), message

    await tell_client(invoice["client"], "invoice_issued", words, link=f"/client/invoices/{invoice['id']}",
                      email_key=f"invoice-issued-{invoice['id']}")


async def payment_received(client_id: int, payment_id: int, amount_minor: int, currency: str, codes: list[str]) -> None:
    def words() -> tuple[str, str]:
        amount = format_money(amount_minor, currency)
        return (_("Payment received: %(amount)s", amount=amount),
                _("We received your payment of %(amount)s for %(invoices)s. Thank you.", amount=amount, invoices=", ".join(codes)))

    await tell_client(client_id, "payment_received", words, link="/client/invoices", email_key=f"payment-{payment_id}")
