"""A local stand-in for Stripe's API, and helpers for the Stripe tests.

StripeStandIn is a tiny threading HTTP server on 127.0.0.1 that the real `stripe` SDK talks to
(settings.stripe_api_base points at it). It answers POST /v1/checkout/sessions with a
Stripe-shaped checkout.session (tests/billing/fixtures/checkout_session.json), replays the same
answer for a repeated Idempotency-Key as Stripe does, and records what the SDK sent: the
form-encoded body (decoded into nested dicts) and the headers.

The webhook helpers build Stripe-shaped events from the fixtures and sign them with Stripe's
scheme: header `t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>`.

Fixtures here are imported by the test modules (pytest uses fixtures found in a module's namespace).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl

FIXTURES = Path(__file__).parent / "fixtures"
SECRET_KEY = "sk_test_portal_standin_0123456789"
WEBHOOK_SECRET = "whsec_test_portal_0123456789abcdef"
BASE_URL = "https://portal.example.test"
_ids = itertools.count(1)


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def decode_form(pairs: list[tuple[str, str]]) -> dict:
    """Stripe's form encoding (a[b][0][c]=v) back into nested dicts; list indexes stay string keys."""
    out: dict = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    form: dict

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")


@dataclass
class StripeStandIn:
    requests: list[Recorded] = field(default_factory=list)
    sessions: dict[str, dict] = field(default_factory=dict)
    fail_with: tuple[int, dict] | None = None  # the next answers are this error (status, body)
    delay: float = 0.0  # seconds to wait before answering (concurrent double clicks)
    _by_key: dict[str, dict] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def start(self) -> StripeStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _answer(self, status: int, body: dict, extra: dict | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", f"req_standin_{next(_ids)}")
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                pairs = parse_qsl(body, keep_blank_values=True)
                recorded = Recorded("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, decode_form(pairs))
                with standin._lock:
                    standin.requests.append(recorded)
                if standin.delay:
                    time.sleep(standin.delay)
                if self.path != "/v1/checkout/sessions":
                    self._answer(404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL (POST: {self.path})"}})
                    return
                if standin.fail_with:
                    status, error = standin.fail_with
                    self._answer(status, error, {"Stripe-Should-Retry": "false"})
                    return
                with standin._lock:
                    key = recorded.idempotency_key
                    if key and key in standin._by_key:
                        self._answer(200, standin._by_key[key], {"Idempotent-Replayed": "true", "Idempotency-Key": key})
                        return
                    session = standin._session(recorded.form)
                    if key:
                        standin._by_key[key] = session
                self._answer(200, session, {"Idempotency-Key": key or ""})

            def do_GET(self) -> None:
                if self.path.startswith("/checkout/pay/"):
                    data = b"<!doctype html><title>Stripe stand-in checkout</title><h1>Stand-in checkout</h1>"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self._answer(404, {"error": {"type": "invalid_request_error", "message": "not in the stand-in"}})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="stripe-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _session(self, form: dict) -> dict:
        n = next(_ids)
        session = fixture("checkout_session")
        line = form.get("line_items", {}).get("0", {})
        amount = int(line.get("price_data", {}).get("unit_amount", "0")) * int(line.get("quantity", "1"))
        session.update(
            id=f"cs_test_standin_{n:06d}", amount_subtotal=amount, amount_total=amount,
            currency=line.get("price_data", {}).get("currency"), client_reference_id=form.get("client_reference_id"),
            metadata=form.get("metadata", {}), mode=form.get("mode"), success_url=form.get("success_url"),
            cancel_url=form.get("cancel_url"), created=int(time.time()), expires_at=int(time.time()) + 86400,
            url=f"{self.url}/checkout/pay/cs_test_standin_{n:06d}",
        )
        self.sessions[session["id"]] = session
        return session

    def session_posts(self) -> list[Recorded]:
        return [r for r in self.requests if r.path == "/v1/checkout/sessions"]


# --- webhook events -----------------------------------------------------------------------------

def sign(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """Stripe's signature header for a payload."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def event(type_: str, obj: dict, *, event_id: str | None = None, created: int | None = None) -> dict:
    out = fixture("event")
    out.update(id=event_id or f"evt_test_{next(_ids):08d}", type=type_, created=created or int(time.time()),
               data={"object": copy.deepcopy(obj)})
    return out


@dataclass
class Payment:
    """The Stripe objects of one checkout of an invoice, for building its events."""

    invoice_id: int
    client_id: int
    attempt: int
    session_id: str
    amount: int
    currency: str = "RON"
    payment_intent: str = ""
    charge: str = ""

    def __post_init__(self) -> None:
        n = next(_ids)
        self.payment_intent = self.payment_intent or f"pi_test_{n:08d}"
        self.charge = self.charge or f"ch_test_{n:08d}"

    @property
    def metadata(self) -> dict:
        return {"invoice_id": str(self.invoice_id), "client_id": str(self.client_id), "attempt": str(self.attempt)}

    def session(self, payment_status: str, status: str = "complete") -> dict:
        obj = fixture("checkout_session")
        obj.update(id=self.session_id, amount_subtotal=self.amount, amount_total=self.amount, currency=self.currency.lower(),
                   client_reference_id=str(self.invoice_id), metadata=self.metadata, payment_intent=self.payment_intent,
                   payment_status=payment_status, status=status,
                   success_url=f"{BASE_URL}/client/invoices/{self.invoice_id}/paid?session_id={{CHECKOUT_SESSION_ID}}",
                   cancel_url=f"{BASE_URL}/client/invoices/{self.invoice_id}", url=None)
        return obj

    def intent(self, status: str = "requires_payment_method") -> dict:
        obj = fixture("payment_intent")
        obj.update(id=self.payment_intent, amount=self.amount, currency=self.currency.lower(), metadata=self.metadata, status=status,
                   client_secret=f"{self.payment_intent}_secret_test")
        return obj

    def charge_obj(self, refunded: int) -> dict:
        obj = fixture("charge")
        obj.update(id=self.charge, amount=self.amount, amount_captured=self.amount, amount_refunded=refunded,
                   refunded=refunded >= self.amount, currency=self.currency.lower(), metadata=self.metadata,
                   payment_intent=self.payment_intent)
        obj["refunds"]["url"] = f"/v1/charges/{self.charge}/refunds"
        return obj

    def completed(self, payment_status: str = "paid", **kw) -> dict:
        return event("checkout.session.completed", self.session(payment_status), **kw)

    def async_succeeded(self, **kw) -> dict:
        return event("checkout.session.async_payment_succeeded", self.session("paid"), **kw)

    def async_failed(self, **kw) -> dict:
        return event("checkout.session.async_payment_failed", self.session("unpaid"), **kw)

    def intent_failed(self, **kw) -> dict:
        return event("payment_intent.payment_failed", self.intent(), **kw)

    def refunded(self, amount_refunded: int, **kw) -> dict:
        return event("charge.refunded", self.charge_obj(amount_refunded), **kw)


async def deliver(http, evt: dict | str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None, header: str | None = None):
    """POST an event to /webhooks/stripe as Stripe does: raw JSON body, Stripe-Signature header."""
    payload = evt if isinstance(evt, str) else json.dumps(evt)
    headers = {"content-type": "application/json; charset=utf-8"}
    signature = sign(payload, secret, timestamp) if header is None else header
    if signature:
        headers["stripe-signature"] = signature
    return await http.post("/webhooks/stripe", content=payload.encode(), headers=headers)


async def make_invoice(client_id: int, total_minor: int = 119_000, *, currency: str = "RON", order_id: int | None = None) -> dict:
    """An issued invoice of one line (no VAT, so the total is exact), through the billing service."""
    from portal.audit.service import Actor
    from portal.billing import service as billing
    from portal.billing.rules import Line
    from portal.clock import utcnow

    return await billing.issue_invoice(
        client_id=client_id, currency=currency, lines=[Line("Folding boxes, 5000 pcs", 1, total_minor, 0)],
        issue_date=utcnow().date(), terms_days=14, order_id=order_id, actor=Actor.system(),
    )
