"""Pay online: a Stripe Checkout Session for what a client owes on one invoice.

Each Checkout Session is a CheckoutAttempt row, numbered per invoice. The row is committed
BEFORE Stripe is called, and the idempotency key is derived from the invoice id and that number,
so a double click (or a retry after a lost answer) reuses the attempt and Stripe answers with the
same session instead of creating a second one. Nothing here counts money: the webhook does
(portal.billing.stripe.public), through billing.service.record_payment.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import stripe

from portal import db
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.billing.stripe.tables import AttemptStatus, CheckoutAttempt
from portal.billing.tables import Invoice, InvoiceKind, InvoiceStatus
from portal.clock import utcnow
from portal.messages import N_
from portal.settings import Settings

log = logging.getLogger("portal.stripe")

# "installment": the part of an accepted repayment plan's next installment this invoice can take.
AMOUNT_CHOICES = ("balance", "installment")
# Stripe expires an unpaid Checkout Session 24 h after creating it; reuse one only well before that.
REUSE_FOR = dt.timedelta(hours=23)
NETWORK_RETRIES = 2  # the SDK retries with the same idempotency key


class CheckoutRefused(Exception):
    """Online payment is not possible for this invoice now; the message is shown to the client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CheckoutUnavailable(Exception):
    """Stripe could not be reached or refused the request; the client may try again later."""


@dataclass(frozen=True)
class Checkout:
    attempt_id: int
    attempt: int
    session_id: str
    url: str
    amount_minor: int
    currency: str
    reused: bool


def idempotency_key(invoice_id: int, attempt: int) -> str:
    return f"portal-invoice-{invoice_id}-attempt-{attempt}"


def stripe_enabled(settings: Settings) -> bool:
    return bool(settings.stripe_secret_key)


def stripe_client(settings: Settings) -> stripe.StripeClient:
    """A client configured for this call only: no module-level state is touched."""
    base_addresses = {"api": settings.stripe_api_base.rstrip("/")} if settings.stripe_api_base else None
    return stripe.StripeClient(
        settings.stripe_secret_key, base_addresses=base_addresses, max_network_retries=NETWORK_RETRIES  # type: ignore[arg-type]
    )


def success_url(settings: Settings, invoice_id: int) -> str:
    # {CHECKOUT_SESSION_ID} is a template Stripe fills in; it must reach Stripe literally.
    return f"{settings.base_url}/client/invoices/{invoice_id}/paid?session_id={{CHECKOUT_SESSION_ID}}"


def cancel_url(settings: Settings, invoice_id: int) -> str:
    return f"{settings.base_url}/client/invoices/{invoice_id}"


def amount_due(invoice: dict, amount_choice: str, installment_minor: int | None = None) -> int:
    if amount_choice not in AMOUNT_CHOICES or (amount_choice == "installment") != (installment_minor is not None):
        raise CheckoutRefused(N_("Choose what you want to pay."))
    balance = invoice["total_minor"] - invoice["paid_minor"]
    return balance if installment_minor is None else min(balance, installment_minor)


def _reusable(attempt: dict, amount: int, currency: str, now: dt.datetime) -> bool:
    return (
        attempt["status"] == AttemptStatus.OPEN
        and attempt["amount_minor"] == amount
        and attempt["currency"] == currency
        and now - attempt["created_at"] < REUSE_FOR
    )


async def _attempt_for(invoice_id: int, client_id: int, amount_choice: str, installment_minor: int | None) -> tuple[dict, dict]:
    """The invoice and the attempt to (re)use: the open one for the same amount, or a new one.

    One transaction, the invoice row locked on PostgreSQL (SQLite holds the write lock already),
    so two clicks at the same moment agree on one attempt."""
    async with db.transaction():
        query = Invoice.select(
            Invoice.id, Invoice.client, Invoice.code, Invoice.currency, Invoice.total_minor, Invoice.paid_minor,
            Invoice.status, Invoice.kind,
        ).where(Invoice.id == invoice_id)
        if db.is_postgres():
            query = query.lock_rows()
        invoice = await query.first()
        if invoice is None or invoice["client"] != client_id:
            raise LookupError(invoice_id)
        if invoice["status"] == InvoiceStatus.CANCELLED or invoice["kind"] != InvoiceKind.INVOICE:
            raise CheckoutRefused(N_("This invoice cannot be paid online."))
        amount = amount_due(invoice, amount_choice, installment_minor)
        if amount <= 0:
            raise CheckoutRefused(N_("This invoice is already paid."))
        attempts = await CheckoutAttempt.select().where(CheckoutAttempt.invoice == invoice_id).order_by(
            CheckoutAttempt.attempt, ascending=False
        )
        if any(a["status"] == AttemptStatus.PROCESSING for a in attempts):
            raise CheckoutRefused(N_(
                "A payment of this invoice is being processed by your bank. We will show it here as soon as it arrives."
            ))
        now = utcnow()
        for attempt in attempts:
            if _reusable(attempt, amount, invoice["currency"], now):
                return invoice, attempt
        number = (attempts[0]["attempt"] if attempts else 0) + 1
        row = CheckoutAttempt(
            invoice=invoice_id, client=client_id, attempt=number, amount_minor=amount, currency=invoice["currency"],
            status=AttemptStatus.OPEN, idempotency_key=idempotency_key(invoice_id, number), created_at=now, updated_at=now,
        )
        await row.save()
        return invoice, await CheckoutAttempt.select().where(CheckoutAttempt.id == row.id).first()


def session_params(settings: Settings, invoice: dict, attempt: dict) -> dict[str, Any]:
    metadata = {"invoice_id": str(invoice["id"]), "client_id": str(attempt["client"]), "attempt": str(attempt["attempt"])}
    return {
        "mode": "payment",
        "line_items": [{
            "quantity": 1,
            "price_data": {
                "currency": attempt["currency"].lower(),
                "unit_amount": attempt["amount_minor"],
                "product_data": {"name": invoice["code"]},
            },
        }],
        "client_reference_id": str(invoice["id"]),
        "metadata": metadata,
        "payment_intent_data": {"metadata": dict(metadata)},
        "success_url": success_url(settings, invoice["id"]),
        "cancel_url": cancel_url(settings, invoice["id"]),
    }


def _create_session(settings: Settings, params: dict[str, Any], key: str) -> dict[str, Any]:
    """The blocking SDK call (run in a worker thread)."""
    session = stripe_client(settings).v1.checkout.sessions.create(params, {"idempotency_key": key})  # type: ignore[arg-type]
    data = session.to_dict()
    intent = data.get("payment_intent")
    return {"id": data["id"], "url": data.get("url") or "", "payment_intent": intent.get("id") if isinstance(intent, dict) else intent}


async def start_checkout(invoice_id: int, client_id: int, amount_choice: str, settings: Settings, actor: Actor, *,
                         installment_minor: int | None = None) -> Checkout:
    """A Checkout Session for the invoice (of this client only: LookupError otherwise).

    Raises CheckoutRefused (nothing to pay, payment in progress, Stripe not configured) or
    CheckoutUnavailable (Stripe unreachable or refusing)."""
    if not stripe_enabled(settings):
        if await client_invoice(invoice_id, client_id) is None:
            raise LookupError(invoice_id)  # another company's invoice is a 404 whatever the settings
        raise CheckoutRefused(N_("Online payment is not available. Please pay by bank transfer."))
    invoice, attempt = await _attempt_for(invoice_id, client_id, amount_choice, installment_minor)
    if attempt["session_id"] and attempt["url"]:
        return _checkout(attempt, attempt["session_id"], attempt["url"], reused=True)

    params = session_params(settings, invoice, attempt)
    try:
        session = await anyio.to_thread.run_sync(
            functools.partial(_create_session, settings, params, attempt["idempotency_key"])
        )
    except stripe.APIConnectionError as exc:
        # Stripe may or may not have created the session: keep the attempt open, so the next click
        # sends the same idempotency key and gets that very session if it exists.
        log.warning("Stripe unreachable for invoice %s attempt %s: %s", invoice_id, attempt["attempt"], exc)
        raise CheckoutUnavailable(str(exc)) from exc
    except stripe.StripeError as exc:
        # Stripe refused: this key may hold the refusal, so the next click starts a new attempt.
        log.error("Stripe refused a checkout session for invoice %s attempt %s: %s", invoice_id, attempt["attempt"], exc)
        await CheckoutAttempt.update({CheckoutAttempt.status: AttemptStatus.FAILED, CheckoutAttempt.updated_at: utcnow()}).where(
            (CheckoutAttempt.id == attempt["id"]) & (CheckoutAttempt.status == AttemptStatus.OPEN)
        )
        raise CheckoutUnavailable(str(exc)) from exc

    async with db.transaction():
        # A webhook may have linked the session already; two clicks write the same values.
        await CheckoutAttempt.update({
            CheckoutAttempt.session_id: session["id"], CheckoutAttempt.url: session["url"], CheckoutAttempt.updated_at: utcnow(),
        }).where((CheckoutAttempt.id == attempt["id"]) & (CheckoutAttempt.session_id.is_null() | (CheckoutAttempt.session_id == session["id"])))
        if session["payment_intent"]:
            await CheckoutAttempt.update({CheckoutAttempt.payment_intent_id: session["payment_intent"]}).where(
                (CheckoutAttempt.id == attempt["id"]) & CheckoutAttempt.payment_intent_id.is_null()
            )
        await audit.record(
            actor, "checkout_started", "invoice", invoice_id, client_id=client_id,
            after={"attempt": attempt["attempt"], "session_id": session["id"], "amount_minor": attempt["amount_minor"],
                   "currency": attempt["currency"]},
        )
    return _checkout(attempt, session["id"], session["url"], reused=False)


def _checkout(attempt: dict, session_id: str, url: str, *, reused: bool) -> Checkout:
    return Checkout(
        attempt_id=attempt["id"], attempt=attempt["attempt"], session_id=session_id, url=url,
        amount_minor=attempt["amount_minor"], currency=attempt["currency"], reused=reused,
    )


async def attempt_for_session(invoice_id: int, client_id: int, session_id: str) -> dict | None:
    """The client's attempt behind a success URL (None if the session is not theirs or unknown)."""
    if not session_id:
        return None
    return await CheckoutAttempt.select().where(
        (CheckoutAttempt.session_id == session_id) & (CheckoutAttempt.invoice == invoice_id) & (CheckoutAttempt.client == client_id)
    ).first()


async def client_invoice(invoice_id: int, client_id: int) -> dict | None:
    invoice = await Invoice.select().where((Invoice.id == invoice_id) & (Invoice.client == client_id)).first()
    return invoice
