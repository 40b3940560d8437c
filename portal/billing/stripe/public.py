"""POST /webhooks/stripe: Stripe tells the portal what happened to a Checkout attempt.

The body is verified with the Stripe SDK (signature over the raw body, 300 s tolerance). Then ONE
transaction stores the event id under its unique constraint and applies the effect, so a
redelivered event is a no-op and a failed effect leaves no trace (Stripe delivers it again).

Events may come twice, late or out of order; each handler moves the attempt forward only
(open < processing < expired < failed < complete) and money is counted by external id:
- the payment: portal.settlement.receive with external_id = the PaymentIntent id, recorded
  by whichever of checkout.session.completed (paid) / async_payment_succeeded comes first;
- more than the invoice's balance: the balance is allocated and the rest is an unallocated
  Payment (a credit of the client) with external_id "<pi>:credit";
- charge.refunded: the highest amount_refunded seen is kept on the attempt, and the attempt's
  payments are reversed with portal.settlement.reverse_payment (counter-entries) until what stands
  equals received - refunded; a partial refund records the part kept again. This runs whenever
  the payment itself is recorded too, so a refund that overtakes the payment is not lost.
On PostgreSQL the attempt row is locked first (then the invoice, by the settlement), so two
events of one payment queue instead of both counting it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from zoneinfo import ZoneInfo

import stripe
from litestar import Request, Response, post
from litestar.status_codes import HTTP_200_OK, HTTP_400_BAD_REQUEST

from portal import db, settlement
from portal.audit.service import Actor
from portal.billing.stripe.checkout import idempotency_key
from portal.billing.stripe.tables import AttemptStatus, CheckoutAttempt, StripeEvent
from portal.billing.tables import Payment, PaymentAllocation
from portal.clock import utcnow

log = logging.getLogger("portal.stripe")

TOLERANCE_SECONDS = 300
STRIPE_ACTOR = Actor(user_id=None, label="stripe")
CREDIT = settlement.CREDIT_SUFFIX  # suffix of the external id of an overpayment credit
STATUS_RANK: dict[str, int] = {AttemptStatus.OPEN: 0, AttemptStatus.PROCESSING: 1, AttemptStatus.EXPIRED: 2, AttemptStatus.FAILED: 3,
                               AttemptStatus.COMPLETE: 4}


# --- the route ------------------------------------------------------------------------------

@post("/webhooks/stripe", status_code=HTTP_200_OK, include_in_schema=False)
async def stripe_webhook(request: Request) -> Response:
    settings = request.app.state.settings
    raw = await request.body()
    try:
        stripe.Webhook.construct_event(raw, request.headers.get("stripe-signature"), settings.stripe_webhook_secret,
                                       tolerance=TOLERANCE_SECONDS)
        event = json.loads(raw)
    except (stripe.SignatureVerificationError, ValueError, TypeError, AttributeError) as exc:  # bad signature, stale, tampered, not an event
        log.warning("refused a Stripe webhook: %s", exc)
        return Response({"error": "invalid signature or payload"}, status_code=HTTP_400_BAD_REQUEST)
    outcome = await handle_event(event, timezone=settings.firm_timezone)
    log.info("Stripe event %s (%s): %s", event.get("id"), event.get("type"), outcome)
    return Response({"received": True, "outcome": outcome}, status_code=HTTP_200_OK)


# --- the events -----------------------------------------------------------------------------

async def handle_event(event: dict, *, timezone: str = "UTC") -> str:
    """Store the event id and apply its effect in one transaction. Returns what was done."""
    async with db.transaction():
        stored = await StripeEvent.insert(
            StripeEvent(event_id=str(event["id"]), type=str(event.get("type", ""))[:100], received_at=utcnow())
        ).on_conflict(target=StripeEvent.event_id, action="DO NOTHING").returning(StripeEvent.id)
        if not stored:
            return "duplicate"
        outcome = await _apply(event, _event_date(event, timezone))
        await StripeEvent.update({StripeEvent.processed_at: utcnow()}).where(StripeEvent.id == stored[0]["id"])
    return outcome


def _event_date(event: dict, timezone: str) -> dt.date:
    created = event.get("created")
    when = dt.datetime.fromtimestamp(created, dt.UTC) if isinstance(created, int) else utcnow()
    return when.astimezone(ZoneInfo(timezone)).date()


async def _apply(event: dict, day: dt.date) -> str:
    kind = event.get("type", "")
    obj = (event.get("data") or {}).get("object") or {}
    if kind == "checkout.session.completed":
        paid, unpaid = obj.get("payment_status") == "paid", obj.get("payment_status") == "unpaid"
        return await _on_session(obj, day, AttemptStatus.COMPLETE if paid else AttemptStatus.PROCESSING if unpaid else None)
    if kind == "checkout.session.async_payment_succeeded":
        return await _on_session(obj, day, AttemptStatus.COMPLETE)
    if kind == "checkout.session.async_payment_failed":
        return await _on_session(obj, day, AttemptStatus.FAILED)
    if kind == "checkout.session.expired":
        return await _on_session(obj, day, AttemptStatus.EXPIRED)
    if kind == "payment_intent.payment_failed":
        return await _on_payment_failed(obj, day)
    if kind == "charge.refunded":
        return await _on_refund(obj, day)
    return "ignored"


def _id(value) -> str | None:
    """An id field that may be expanded into an object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


async def _on_session(session: dict, day: dt.date, status: str | None) -> str:
    attempt = await _locked_attempt(session_id=_id(session.get("id")), payment_intent_id=_id(session.get("payment_intent")),
                                    metadata=session.get("metadata"))
    if attempt is None:
        return "unmatched"
    attempt = await _link(attempt, session_id=_id(session.get("id")), payment_intent_id=_id(session.get("payment_intent")))
    outcome = "noted"
    if status == AttemptStatus.COMPLETE:
        amount = session.get("amount_total")
        currency = (session.get("currency") or attempt["currency"]).upper()
        outcome = await _record_card_payment(
            attempt, amount=amount if isinstance(amount, int) else attempt["amount_minor"], currency=currency, day=day,
        )
    if status:
        await _advance(attempt, status)
    await _settle_refunds(attempt, day)
    return outcome if status == AttemptStatus.COMPLETE else f"attempt {status or 'unchanged'}"


async def _on_payment_failed(intent: dict, day: dt.date) -> str:
    attempt = await _locked_attempt(payment_intent_id=_id(intent.get("id")), metadata=intent.get("metadata"))
    if attempt is None:
        return "unmatched"
    attempt = await _link(attempt, payment_intent_id=_id(intent.get("id")))
    await _advance(attempt, AttemptStatus.FAILED)
    return "attempt failed"


async def _on_refund(charge: dict, day: dt.date) -> str:
    attempt = await _locked_attempt(payment_intent_id=_id(charge.get("payment_intent")), metadata=charge.get("metadata"))
    if attempt is None:
        return "unmatched"
    attempt = await _link(attempt, payment_intent_id=_id(charge.get("payment_intent")))
    refunded = charge.get("amount_refunded")
    if isinstance(refunded, int) and refunded > attempt["refunded_minor"]:
        await CheckoutAttempt.update({CheckoutAttempt.refunded_minor: refunded, CheckoutAttempt.updated_at: utcnow()}).where(
            CheckoutAttempt.id == attempt["id"]
        )
        attempt = {**attempt, "refunded_minor": refunded}
    reversed_now = await _settle_refunds(attempt, day)
    return f"reversed {reversed_now}" if reversed_now else "refund noted"


# --- attempts -------------------------------------------------------------------------------

async def _locked_attempt(*, session_id: str | None = None, payment_intent_id: str | None = None, metadata=None) -> dict | None:
    """The attempt an event is about, by session, PaymentIntent, or the metadata the portal set
    (invoice_id + attempt, i.e. the idempotency key). Locked for this transaction on PostgreSQL."""
    conditions = []
    if session_id:
        conditions.append(CheckoutAttempt.session_id == session_id)
    if payment_intent_id:
        conditions.append(CheckoutAttempt.payment_intent_id == payment_intent_id)
    metadata = metadata if isinstance(metadata, dict) else {}
    invoice_id, number = str(metadata.get("invoice_id", "")), str(metadata.get("attempt", ""))
    if invoice_id.isdigit() and number.isdigit():
        conditions.append(CheckoutAttempt.idempotency_key == idempotency_key(int(invoice_id), int(number)))
    for condition in conditions:
        query = CheckoutAttempt.select().where(condition)
        if db.is_postgres():
            query = query.lock_rows()
        attempt = await query.first()
        if attempt is not None:
            client_id = str(metadata.get("client_id", ""))
            if client_id and client_id != str(attempt["client"]):
                log.error("Stripe metadata names client %s for attempt %s of client %s", client_id, attempt["id"], attempt["client"])
                return None
            return attempt
    return None


async def _link(attempt: dict, *, session_id: str | None = None, payment_intent_id: str | None = None) -> dict:
    """Remember the Stripe ids an event reveals (only where the attempt has none yet)."""
    changes = {}
    if session_id and not attempt["session_id"]:
        changes[CheckoutAttempt.session_id] = session_id
    if payment_intent_id and not attempt["payment_intent_id"]:
        changes[CheckoutAttempt.payment_intent_id] = payment_intent_id
    if not changes:
        return attempt
    await CheckoutAttempt.update({**changes, CheckoutAttempt.updated_at: utcnow()}).where(CheckoutAttempt.id == attempt["id"])
    return {**attempt, **{column._meta.name: value for column, value in changes.items()}}


async def _advance(attempt: dict, status: str) -> None:
    """Statuses only move forward, so the order events arrive in does not matter."""
    current = await CheckoutAttempt.select(CheckoutAttempt.status).where(CheckoutAttempt.id == attempt["id"]).first()
    if STATUS_RANK[status] > STATUS_RANK.get(current["status"], 0):
        await CheckoutAttempt.update({CheckoutAttempt.status: status, CheckoutAttempt.updated_at: utcnow()}).where(
            CheckoutAttempt.id == attempt["id"]
        )


def _external_id(attempt: dict) -> str:
    return attempt["payment_intent_id"] or attempt["session_id"]


# --- money ----------------------------------------------------------------------------------

async def _record_card_payment(attempt: dict, *, amount: int, currency: str, day: dt.date) -> str:
    """Count the attempt's money once (external id = the PaymentIntent id)."""
    external_id = _external_id(attempt)
    if await Payment.exists().where(Payment.external_id == external_id):
        return "payment already recorded"
    if amount <= 0:
        return "nothing to record"
    allocated, credit = await _count(attempt["client"], attempt["invoice"], amount=amount, currency=currency, day=day,
                                     reference=attempt["session_id"] or external_id, external_id=external_id)
    return f"payment recorded: {allocated} allocated, {credit} credit" if credit else f"payment recorded: {allocated}"


async def _count(client_id: int, invoice_id: int, *, amount: int, currency: str, day: dt.date, reference: str,
                 external_id: str) -> tuple[int, int]:
    """Up to the invoice's balance as a payment; the rest (or all of it, if the invoice is settled,
    cancelled or in another currency) as the client's credit. Returns (allocated, credit)."""
    received = await settlement.receive(
        client_id=client_id, currency=currency, amount_minor=amount, invoice_ids=[invoice_id], method="card",
        received_on=day, reference=reference, actor=STRIPE_ACTOR, external_id=external_id, credit_reference_id=invoice_id,
    )
    return received.allocated_minor, received.credit_minor


async def _settle_refunds(attempt: dict, day: dt.date) -> int:
    """Bring what stands of the attempt's money down to (received - refunded), whichever came first.

    billing.service.reverse_payment reverses a whole payment, once. So a refund reverses the
    attempt's standing payments (credit first: refunding an overpayment must not reopen the
    invoice), and a partial one records the part kept again (external id "<pi>:kept:<refunded>").
    Returns the amount reversed now."""
    base = _external_id(attempt)
    refunded = attempt["refunded_minor"]
    if refunded <= 0 or not base:
        return 0
    family = [
        p for p in await Payment.select().where((Payment.client == attempt["client"]) & (Payment.method == "card")).order_by(Payment.id)
        if p["external_id"] and (p["external_id"] == base or p["external_id"].startswith(base + ":"))
    ]
    originals = [p for p in family if p["external_id"] in (base, f"{base}{CREDIT}")]
    if not originals:
        return 0  # the payment is not recorded yet: recording it settles the refund
    reversed_ids = {  # counter-entries carry no external id: find them by what they reverse
        row["reverses"] for row in await Payment.select(Payment.reverses).where(Payment.reverses.is_in([p["id"] for p in family]))
    }
    standing = [p for p in family if p["amount_minor"] > 0 and p["id"] not in reversed_ids]
    target = max(0, sum(p["amount_minor"] for p in originals) - refunded)
    excess = sum(p["amount_minor"] for p in standing) - target
    if excess <= 0:
        return 0
    allocated_ids = {
        row["payment"] for row in await PaymentAllocation.select(PaymentAllocation.payment).where(
            PaymentAllocation.payment.is_in([p["id"] for p in standing])
        )
    }
    done = 0
    for payment in sorted(standing, key=lambda p: (p["id"] in allocated_ids, p["id"])):
        if excess <= 0:
            break
        await settlement.reverse_payment(payment["id"], f"Stripe refund of {base}", STRIPE_ACTOR, card_allowed=True)
        kept = max(0, payment["amount_minor"] - excess)
        excess -= payment["amount_minor"] - kept
        done += payment["amount_minor"] - kept
        if kept > 0:
            suffix = f"{CREDIT if payment['id'] not in allocated_ids else ''}:kept:{refunded}"
            if payment["id"] in allocated_ids:
                invoice_id = (await PaymentAllocation.select(PaymentAllocation.invoice).where(
                    PaymentAllocation.payment == payment["id"]).first())["invoice"]
                await _count(payment["client"], invoice_id, amount=kept, currency=payment["currency"], day=payment["received_on"],
                             reference=payment["reference"], external_id=f"{base}{suffix}")
            else:
                await settlement.record_credit(payment["client"], attempt["invoice"], actor=STRIPE_ACTOR, amount=kept, currency=payment["currency"],
                                     day=payment["received_on"], reference=payment["reference"], external_id=f"{base}{suffix}")
    return done
