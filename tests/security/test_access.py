"""Access control over EVERY route of the app, enumerated from app.routes.

New routes are covered automatically: a route under /staff or /client is checked for anonymous
visitors, client users, staff roles, CSRF and missing objects as soon as it is registered.
A /client route with a path parameter this file cannot fill makes a test fail with instructions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import re
from urllib.parse import quote

import pytest

from portal.app import CSRF_EXEMPT
from portal.auth.roles import STAFF_ROLES, Role
from portal.clock import utcnow
from tests.factories import csrf_token, login, make_client, make_client_user, make_contact, make_staff

PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
IGNORED_METHODS = {"OPTIONS", "HEAD"}
MISSING_ID = 999999
NOT_FOUND_TEXT = "We could not find that page."
CSRF_TEXT = "This form has expired."
# client editing routes: these path segments under /staff/clients are for sales managers and credit controllers
EDITING_SEGMENTS = {"new", "edit", "contacts", "users", "validate"}
NOT_EDITORS = (Role.DESIGNER, Role.SPEC_COORDINATOR, Role.NEGOTIATOR)


# --- the routes ---------------------------------------------------------------------------

def http_routes(app) -> list[tuple[str, str]]:
    """(method, path template) for every HTTP route and method of the app."""
    out = []
    for route in app.routes:
        for method in sorted(getattr(route, "methods", None) or ()):
            if method not in IGNORED_METHODS:
                out.append((method, route.path))
    assert out, "the app has no routes?"
    return sorted(out, key=lambda mp: (mp[1] == "/logout", mp[1], mp[0]))  # /logout last: it ends the session


def under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def params_of(path: str) -> list[str]:
    return PARAM.findall(path)


def fill(path: str, values: dict[str, int]) -> str:
    missing = [p for p in params_of(path) if p not in values]
    if missing:
        pytest.fail(f"{path} uses path parameter(s) {missing} that this test cannot fill: add a real object for "
                    f"each to staff_world() (staff routes) or OWNED_BY_B (client routes) in tests/security/test_access.py")
    return PARAM.sub(lambda m: str(values[m.group(1)]), path)


def fill_missing(path: str) -> str:
    return PARAM.sub(str(MISSING_ID), path)


async def send(client, method: str, url: str, *, token: bool, headers: dict | None = None, data: dict | None = None):
    """A request as a browser form sends it; with the CSRF form field when `token`."""
    form = dict(data or {})
    if token:
        form["_csrf_token"] = await csrf_token(client)
    if method == "GET":
        return await client.get(url, headers=headers)
    return await client.request(method, url, data=form, headers=headers)


async def _order_of(client_id: int) -> int:
    from portal.orders.tables import Order

    now = utcnow()
    order = Order(number=f"ORD-T-{client_id}-{now.timestamp()}", client=client_id, product="Folding boxes", quantity=100,
                  stage="request", stage_changed_at=now, created_at=now)
    await order.save()
    return order.id


async def staff_world() -> dict[str, int]:
    """Real objects for every path parameter a staff route uses (add new parameter names here)."""
    company = await make_client("World Client SRL")
    return {
        "client_id": company,
        "contact_id": await make_contact(company, "World Contact"),
        "user_id": (await make_staff(Role.SALES_MANAGER))["id"],
        "order_id": (order := await _order_of(company)),
        "variant_id": await _variant_of(order),
        "task_id": await _task_for(company),
        "notification_id": await _notification_for(),
        "invoice_id": (invoice := await _own_invoice(company, {})),
        "payment_id": await _payment_on(company, invoice),
        "message_id": await _email_to(company),
        "ladder_id": (ladder := await _ladder_with_step())[0],
        "step_id": ladder[1],
        "letter_id": (letter := await _letter_on(company, invoice, ladder[1])),
        "reason_id": await _delay_reason(),
        "action_id": await _action_of_letter(letter),
        "pause_id": await _pause_on(invoice),
        "schedule_id": (schedule := await _schedule_of(company, await _own_invoice(company, {}), "draft")),
        "link_id": await _share_link_of(schedule),
        "token": "no-such-share-link",  # /s/{token}: public, only its CSRF is checked here
        "unknown": "no/such/page",  # the catch-all that answers the friendly 404 in the reader's language
        "dispute_id": await _dispute_on(company),
        "account_id": (bank_line := await _bank_line())[0],
        "line_id": bank_line[1],
        "table": "aging",  # /staff/reports/export/{table}: a report's table (an unknown one is a 404)
    }


async def _bank_line() -> tuple[int, int]:
    """A bank account and a queued line of its statement, imported the one way statements are."""
    from portal.audit.service import Actor
    from portal.bank import service as bank
    from portal.bank.tables import BankLine
    from tests.bank.statements import FIRM_IBAN, Entry, camt053

    account_id = await bank.save_account({"name": "World bank", "iban": FIRM_IBAN, "currency": "RON", "auto_book_threshold": 90,
                                          "csv_mapping": ""}, Actor.system())
    await bank.import_file(account_id, camt053([Entry("12.00", "world", reference="W1")]), "world.xml", Actor.system())
    return account_id, (await BankLine.select(BankLine.id).first())["id"]


async def _action_of_letter(letter_id: int) -> int:
    from portal.dunning.letters.tables import Letter

    return (await Letter.select(Letter.action).where(Letter.id == letter_id).first())["action"]


async def _pause_on(invoice_id: int) -> int:
    """A pause of the invoice's ladder, through the one escalation entry point."""
    from portal.audit.service import Actor
    from portal.dunning.escalation import service as escalation

    return await escalation.pause(invoice_id, "manual", Actor.system(), reason="World pause")


async def _dispute_on(client_id: int) -> int:
    """An open dispute of an invoice of its own, opened through the disputes service."""
    from portal.audit.service import Actor
    from portal.negotiation.disputes import service as disputes

    invoice = await _own_invoice(client_id, {})
    checked = await disputes.open_dispute(client_id, invoice, {"reason": "quality", "comment": "World dispute"}, Actor.system(),
                                          max_days=30)
    return checked.values["dispute_id"]


async def _schedule_of(client_id: int, invoice_id: int, status: str) -> int:
    """A repayment schedule over one invoice of the client, one installment in a month."""
    from portal.negotiation.tables import Installment, Schedule, ScheduleInvoice, ScheduleVersion

    now = utcnow()
    schedule = Schedule(client=client_id, status=status, current_version=1, currency="RON", debt_minor=11900, created_at=now,
                        updated_at=now)
    await schedule.save()
    await ScheduleInvoice(schedule=schedule.id, invoice=invoice_id, balance_minor=11900, paid_before_minor=0).save()
    version = ScheduleVersion(schedule=schedule.id, number=1, side="staff", note="World schedule", total_minor=11900, created_at=now)
    await version.save()
    await Installment(version=version.id, schedule=schedule.id, number=1, due_date=dt.date.today() + dt.timedelta(days=30),
                      amount_minor=11900).save()
    return schedule.id


async def _share_link_of(schedule_id: int) -> int:
    import secrets

    from portal.negotiation.tables import ShareLink

    now = utcnow()
    link = ShareLink(schedule=schedule_id, version=1, token_hash=secrets.token_hex(32), created_at=now,
                     expires_at=now + dt.timedelta(days=14))
    await link.save()
    return link.id


async def _ladder_with_step() -> tuple[int, int]:
    """A dunning ladder with one step: (ladder id, step id)."""
    from portal.dunning.ladders.tables import Ladder, LadderStep

    now = utcnow()
    ladder = Ladder(name=f"World ladder {next(_numbers)}", created_at=now, updated_at=now)
    await ladder.save()
    step = LadderStep(ladder=ladder.id, position=10, name="World step", channel="email", created_at=now, updated_at=now)
    await step.save()
    return ladder.id, step.id


async def _letter_on(client_id: int, invoice_id: int, step_id: int) -> int:
    """A demand letter in the print-and-send register, written by a (done) ladder action."""
    from portal.dunning.engine.tables import DunningAction
    from portal.dunning.letters.tables import Letter

    now = utcnow()
    action = DunningAction(invoice=invoice_id, step=step_id, client=client_id, channel="letter", scheduled_at=now, taken_at=now,
                           status="done", next_attempt_at=now)
    await action.save()
    letter = Letter(action=action.id, invoice=invoice_id, client=client_id, kind="letter", subject="World letter", body="Pay.",
                    created_at=now)
    await letter.save()
    return letter.id


async def _payment_on(client_id: int, invoice_id: int) -> int:
    """A bank transfer settling part of the invoice, recorded the one way payments are recorded."""
    from portal.audit.service import Actor
    from portal.settlement import record_payment

    recorded = await record_payment(client_id=client_id, currency="RON", allocations=[(invoice_id, 5000)], method="bank_transfer",
                                    received_on=dt.date.today(), reference="World", actor=Actor.system())
    return recorded.payment_id


async def _task_for(client_id: int) -> int:
    from portal.tasks.tables import Task

    assignee = await make_staff(Role.SALES_MANAGER)
    task = Task(kind="callback", assignee=assignee["id"], client=client_id, due_at=utcnow(), title="Call back", created_at=utcnow())
    await task.save()
    return task.id


async def _delay_reason() -> int:
    from portal.dunning.reasons.tables import DelayReason

    reason = DelayReason(name=f"World reason {utcnow().timestamp()}", position=0, is_active=True, created_at=utcnow())
    await reason.save()
    return reason.id


async def _email_to(client_id: int) -> int:
    """A message in the outbox, queued the one way the portal queues email."""
    from portal.mail.service import queue_email
    from portal.mail.tables import EmailMessage

    await queue_email(key=f"world-{client_id}", to_address="world@client.test", subject="Reminder", body="Please pay.", client_id=client_id)
    return (await EmailMessage.select(EmailMessage.id).where(EmailMessage.key == f"world-{client_id}").first())["id"]


async def _notification_for() -> int:
    from portal.tasks.tables import Notification

    user = await make_staff(Role.SALES_MANAGER)
    note = Notification(user=user["id"], created_at=utcnow(), message="Something happened", link="/staff")
    await note.save()
    return note.id


class Problems:
    """Checks every route before failing, then lists every route that misbehaves."""

    def __init__(self) -> None:
        self.found: list[str] = []

    @contextlib.contextmanager
    def route(self):
        try:
            yield
        except AssertionError as exc:
            self.found.append(str(exc).splitlines()[0])

    def assert_none(self) -> None:
        assert not self.found, f"{len(self.found)} route check(s) failed:\n  " + "\n  ".join(self.found)


def assert_friendly_404(response, what: str) -> None:
    assert response.status_code == 404, f"{what}: expected 404, got {response.status_code}"
    assert NOT_FOUND_TEXT in response.text, f"{what}: the 404 page is not the friendly one"
    assert "Traceback" not in response.text, f"{what}: a traceback leaked"


# --- anonymous visitors ---------------------------------------------------------------------

async def test_anonymous_get_of_every_staff_and_client_page_redirects_to_login(app, client):
    checked = 0
    problems = Problems()
    for method, path in http_routes(app):
        with problems.route():
            if method != "GET" or not (under(path, "/staff") or under(path, "/client")):
                continue
            url = fill_missing(path)
            response = await client.get(url)
            assert response.status_code == 303, f"GET {url}: {response.status_code}"
            assert response.headers["location"] == f"/login?next={quote(url)}", f"GET {url}: {response.headers['location']}"
            checked += 1
    problems.assert_none()
    assert checked >= 6


async def test_anonymous_htmx_requests_are_told_to_go_to_login(app, client):
    problems = Problems()
    for method, path in http_routes(app):
        with problems.route():
            if method != "GET" or not (under(path, "/staff") or under(path, "/client")):
                continue
            url = fill_missing(path)
            # next: the page the browser shows (HX-Current-URL), not the fragment's address
            shown = "/staff/clients?q=a" if under(path, "/staff") else "/client/invoices"
            response = await client.get(url, headers={"hx-request": "true", "hx-current-url": f"http://testserver.local{shown}"})
            assert response.status_code == 401, f"htmx GET {url}: {response.status_code}"
            assert response.headers.get("hx-redirect") == f"/login?next={quote(shown)}", f"htmx GET {url}"
    problems.assert_none()


async def test_anonymous_unsafe_requests_are_refused(app, client):
    checked = 0
    problems = Problems()
    for method, path in http_routes(app):
        with problems.route():
            if method not in UNSAFE or not (under(path, "/staff") or under(path, "/client")):
                continue
            url = fill_missing(path)
            for token in (False, True):
                response = await send(client, method, url, token=token, data={"name": "x"})
                what = f"anonymous {method} {url} ({'with' if token else 'without'} CSRF token)"
                assert response.status_code in (303, 403), f"{what}: {response.status_code}"
                if not token:
                    assert response.status_code == 403, what
                if response.status_code == 303:
                    assert response.headers["location"].startswith("/login"), what
            checked += 1
    problems.assert_none()
    assert checked >= 5


# --- client users on staff pages ------------------------------------------------------------

async def test_client_user_is_refused_on_every_staff_route(app, client):
    ids = await staff_world()
    buyer = await make_client_user(await make_client("Buyer Co SRL"))
    await login(client, buyer)
    checked = 0
    problems = Problems()
    for method, path in http_routes(app):
        with problems.route():
            if not under(path, "/staff"):
                continue
            url = fill(path, ids)
            response = await send(client, method, url, token=method in UNSAFE, data={"name": "x"})
            assert response.status_code == 403, f"client user {method} {url}: {response.status_code}"
            checked += 1
    problems.assert_none()
    assert checked >= 10
    assert (await client.get("/client")).status_code == 200  # still logged in: the 403s were not logouts


# --- staff roles ----------------------------------------------------------------------------

@pytest.mark.parametrize("role", [r for r in STAFF_ROLES if r is not Role.ADMIN], ids=lambda r: r.value)
async def test_staff_users_admin_is_for_admins_only(app, client, role):
    ids = await staff_world()
    await login(client, await make_staff(role))
    checked = 0
    problems = Problems()
    for method, path in http_routes(app):
        with problems.route():
            if not under(path, "/staff/users"):
                continue
            url = fill(path, ids)
            response = await send(client, method, url, token=method in UNSAFE, data={"name": "x", "role": "admin"})
            assert response.status_code == 403, f"{role.value} {method} {url}: {response.status_code}"
            checked += 1
    problems.assert_none()
    assert checked >= 4
    assert (await client.get("/staff")).status_code == 200


def is_client_editing(path: str) -> bool:
    return under(path, "/staff/clients") and bool(EDITING_SEGMENTS & set(path.split("/")))


@pytest.mark.parametrize("role", NOT_EDITORS, ids=lambda r: r.value)
async def test_client_editing_routes_refuse_roles_that_do_not_edit_clients(app, client, role):
    ids = await staff_world()
    await login(client, await make_staff(role))
    checked = 0
    problems = Problems()
    for method, path in http_routes(app):
        with problems.route():
            if not is_client_editing(path):
                continue
            url = fill(path, ids)
            response = await send(client, method, url, token=method in UNSAFE, data={"name": "Renamed"})
            assert response.status_code == 403, f"{role.value} {method} {url}: {response.status_code}"
            checked += 1
    problems.assert_none()
    assert checked >= 7
    # they still read the clients
    assert (await client.get("/staff/clients")).status_code == 200
    assert (await client.get(f"/staff/clients/{ids['client_id']}")).status_code == 200


@pytest.mark.parametrize("role", [Role.SALES_MANAGER, Role.CREDIT_CONTROLLER, Role.ADMIN], ids=lambda r: r.value)
async def test_client_editing_routes_are_open_to_editors(app, client, role):
    """The control for the test above: the same requests are not refused for the editing roles."""
    ids = await staff_world()
    await login(client, await make_staff(role))
    problems = Problems()
    for method, path in http_routes(app):
        with problems.route():
            if not is_client_editing(path):
                continue
            url = fill(path, ids)
            response = await send(client, method, url, token=method in UNSAFE, data={"name": "Renamed"})
            assert response.status_code != 403, f"{role.value} {method} {url}: 403"
            assert response.status_code < 500, f"{role.value} {method} {url}: {response.status_code}"
    problems.assert_none()


# --- client A must never reach client B's objects -----------------------------------------------
# Each factory makes an object owned by client `owner` and returns its id. `made` holds the ids already
# made for the same request (path order), so a child is made under its parent (a variant of that order).

async def _own_client(owner: int, made: dict) -> int:
    return owner


async def _own_contact(owner: int, made: dict) -> int:
    return await make_contact(owner, "Bogdan of B")


async def _own_user(owner: int, made: dict) -> int:
    return (await make_client_user(owner))["id"]


async def _own_order(owner: int, made: dict) -> int:
    return await _order_of(owner)


async def _spec_of(order_id: int):
    from portal.orders.tables import TechnicalSpec

    existing = await TechnicalSpec.select().where(TechnicalSpec.order == order_id).first()
    if existing:
        return existing
    spec = TechnicalSpec(order=order_id, version=1, status="sent", materials="Carton 350g", created_at=utcnow(), sent_at=utcnow())
    await spec.save()
    return {"id": spec.id, "version": 1}


async def _own_spec(owner: int, made: dict) -> int:
    return (await _spec_of(made.get("order_id") or await _order_of(owner)))["id"]


async def _own_spec_version(owner: int, made: dict) -> int:
    return (await _spec_of(made.get("order_id") or await _order_of(owner)))["version"]


async def _variant_of(order_id: int) -> int:
    """A layout variant of the order, listed in the order's sent spec (so its client may see it)."""
    import secrets

    from portal.orders.tables import LayoutVariant, TechnicalSpec

    variant = LayoutVariant(order=order_id, label="Layout", stored_name=f"{secrets.token_hex(16)}.pdf",
                            original_name="layout.pdf", content_type="application/pdf", size_bytes=10, uploaded_at=utcnow())
    await variant.save()
    spec = await _spec_of(order_id)
    row = await TechnicalSpec.select(TechnicalSpec.variant_ids).where(TechnicalSpec.id == spec["id"]).output(load_json=True).first()
    ids = row["variant_ids"] if isinstance(row["variant_ids"], list) else []
    await TechnicalSpec.update({TechnicalSpec.variant_ids: [*ids, variant.id]}).where(TechnicalSpec.id == spec["id"])
    return variant.id


async def _own_variant(owner: int, made: dict) -> int:
    return await _variant_of(made.get("order_id") or await _order_of(owner))


async def _own_invoice(owner: int, made: dict) -> int:
    from portal.billing.tables import Invoice

    today = dt.date.today()
    number = 90000 + next(_numbers)
    invoice = Invoice(series="INV", year=today.year, number=number, code=f"INV-{today.year}-{number:05d}", client=owner,
                      order=made.get("order_id"), currency="RON", issue_date=today, due_date=today + dt.timedelta(days=30),
                      status="issued", net_minor=10000, vat_minor=1900, total_minor=11900, created_at=utcnow())
    await invoice.save()
    return invoice.id


async def _own_payment(owner: int, made: dict) -> int:
    from portal.billing.tables import Payment

    payment = Payment(client=owner, currency="RON", amount_minor=5000, method="bank_transfer", received_on=dt.date.today(),
                      created_at=utcnow())
    await payment.save()
    return payment.id


async def _own_schedule(owner: int, made: dict) -> int:
    """A repayment schedule offered to the client (a draft would be no client's to see yet)."""
    return await _schedule_of(owner, await _own_invoice(owner, {}), "with_client")


async def _own_notice(owner: int, made: dict) -> int:
    from portal.clients.tables import ClientNotice

    notice = ClientNotice(client=owner, kind="terms_changed", message="Your discount changed.", created_at=utcnow())
    await notice.save()
    return notice.id


_numbers = itertools.count(1)

# Path parameter name -> async factory(owner client id, ids made so far) -> id of an object of that client.
# A new /client route whose parameter is not here makes test_client_cannot_reach_another_clients_objects fail.
OWNED_BY_B = {
    "client_id": _own_client,
    "contact_id": _own_contact,
    "user_id": _own_user,
    "order_id": _own_order,
    "spec_id": _own_spec,
    "version": _own_spec_version,
    "variant_id": _own_variant,
    "invoice_id": _own_invoice,
    "payment_id": _own_payment,
    "notice_id": _own_notice,
    "schedule_id": _own_schedule,
}
# numbers that count within their parent (spec version 1 of an order), not ids: never swapped alone
SCOPED_NUMBERS = {"version"}


async def made_for(owner: int, names: list[str]) -> dict[str, int]:
    made: dict[str, int] = {}
    for name in names:
        made[name] = await OWNED_BY_B[name](owner, made)
    return made


async def test_the_client_b_factories_make_real_rows(client):
    b = await make_client("Factory Check SRL")
    made = await made_for(b, list(OWNED_BY_B))
    for name, value in made.items():
        assert isinstance(value, int) and value > 0, name


async def test_client_cannot_reach_another_clients_objects(app, client):
    a = await make_client("Alfa Cartons SRL")
    b = await make_client("Beta Secret Packaging SRL")
    await make_contact(b, "Bogdan of B")
    await login(client, await make_client_user(a))

    client_routes = [(m, p) for m, p in http_routes(app) if under(p, "/client")]
    assert client_routes, "no /client route at all?"
    undeclared = sorted({(p, name) for _, p in client_routes for name in params_of(p) if name not in OWNED_BY_B})
    if undeclared:
        pytest.fail(
            "These /client routes use path parameters with no factory in OWNED_BY_B "
            "(tests/security/test_access.py): "
            + "; ".join(f"{p} -> {{{name}}}" for p, name in undeclared)
            + ". Add an async factory that creates client B's object and returns its id, so the route is "
              "checked for cross-client access."
        )

    mapped = 0
    problems = Problems()
    for method, path in client_routes:
        with problems.route():
            names = params_of(path)
            if names:
                of_b = await made_for(b, names)
                url = fill(path, of_b)
                response = await send(client, method, url, token=method in UNSAFE, data={"name": "x"})
                assert_friendly_404(response, f"client A {method} {url} (client B's objects)")
                # A's own parent with B's child, and B's parent with A's child
                of_a = await made_for(a, names)
                if method == "GET" and len(names) == 1:  # the control: A's own object opens
                    own = await client.get(fill(path, of_a))
                    assert own.status_code != 404, f"GET {fill(path, of_a)}: client A's own objects are a 404 (fix the factories)"
                for swapped in names:
                    if len(names) > 1 and swapped not in SCOPED_NUMBERS:
                        mixed = fill(path, {**of_a, swapped: of_b[swapped]})
                        response = await send(client, method, mixed, token=method in UNSAFE, data={"name": "x"})
                        assert_friendly_404(response, f"client A {method} {mixed} (B's {swapped}, A's other ids)")
            elif method == "GET":
                response = await client.get(path)
                assert response.status_code == 200, f"GET {path}: {response.status_code}"
                assert "Beta Secret Packaging" not in response.text, f"GET {path} shows client B"
                assert "Bogdan of B" not in response.text, f"GET {path} shows client B's contact"
            mapped += 1
    problems.assert_none()
    assert mapped == len(client_routes)  # the mapping check ran over every /client route

    home = await client.get("/client")
    assert home.status_code == 200
    assert "Alfa Cartons SRL" in home.text
    assert "Beta Secret Packaging" not in home.text


async def test_client_home_ignores_a_client_id_in_the_query(client):
    a = await make_client("Alfa Cartons SRL")
    b = await make_client("Beta Secret Packaging SRL")
    await login(client, await make_client_user(a))
    for query in (f"?client_id={b}", f"?client={b}", f"?id={b}"):
        page = await client.get("/client" + query)
        assert page.status_code == 200
        assert "Beta Secret Packaging" not in page.text and "Alfa Cartons SRL" in page.text


# --- CSRF -----------------------------------------------------------------------------------

async def _assert_csrf_enforced(client, method: str, url: str) -> None:
    form = {"name": "Probe", "email": "", "password": ""}

    plain = await client.request(method, url, data=form)
    assert plain.status_code == 403, f"{method} {url} without a CSRF token: {plain.status_code}"
    assert CSRF_TEXT in plain.text, f"{method} {url}: the 403 page does not say the form expired"

    htmx = await client.request(method, url, data=form, headers={"hx-request": "true"})
    assert htmx.status_code == 403, f"htmx {method} {url} without x-csrftoken: {htmx.status_code}"

    forged = await client.request(method, url, data=form, headers={"hx-request": "true", "x-csrftoken": "forged-token"})
    assert forged.status_code == 403, f"htmx {method} {url} with a forged x-csrftoken: {forged.status_code}"

    token = client.cookies["portal_csrf"]
    ok = await client.request(method, url, data=form, headers={"hx-request": "true", "x-csrftoken": token})
    assert ok.status_code != 403, f"htmx {method} {url} WITH x-csrftoken was refused ({ok.status_code})"


def _csrf_checked(method: str, path: str) -> bool:
    return method in UNSAFE and path not in CSRF_EXEMPT and not any(under(path, p) for p in CSRF_EXEMPT)


async def test_every_unsafe_route_needs_the_csrf_token(app, client):
    """Staff and public routes as a logged-in admin; /client routes as a client user on their own objects."""
    ids = await staff_world()
    admin = await make_staff(Role.ADMIN)
    await login(client, admin)
    checked = 0
    problems = Problems()
    for method, path in http_routes(app):
        with problems.route():
            if not _csrf_checked(method, path) or under(path, "/client"):
                continue
            if "portal_session" not in client.cookies:
                await login(client, admin)
            await _assert_csrf_enforced(client, method, fill(path, ids))
            checked += 1
    problems.assert_none()
    assert checked >= 10

    own = await make_client("Csrf Client SRL")
    await login(client, await make_client_user(own))
    client_routes = [(m, p) for m, p in http_routes(app) if _csrf_checked(m, p) and under(p, "/client")]
    for method, path in client_routes:
        with problems.route():
            names = params_of(path)
            missing = [n for n in names if n not in OWNED_BY_B]
            assert not missing, f"{path}: no factory in OWNED_BY_B for {missing}"
            await _assert_csrf_enforced(client, method, fill(path, await made_for(own, names)))
    problems.assert_none()


# --- missing objects and unknown URLs ---------------------------------------------------------

async def test_every_route_with_a_missing_object_gives_the_friendly_404(app, client):
    ids = await staff_world()
    await login(client, await make_staff(Role.ADMIN))
    checked = 0
    problems = Problems()
    for method, path in http_routes(app):
        with problems.route():
            names = params_of(path)
            if not names or not under(path, "/staff"):
                continue
            for missing in names:  # each parameter in turn names a missing object; the others exist
                url = fill(path, {**ids, missing: MISSING_ID})
                response = await send(client, method, url, token=method in UNSAFE, data={"name": "x"})
                assert_friendly_404(response, f"{method} {url} ({missing} missing)")
                checked += 1
    problems.assert_none()
    assert checked >= 8


async def test_client_routes_with_a_missing_object_give_the_friendly_404(app, client):
    await login(client, await make_client_user(await make_client()))
    problems = Problems()
    for method, path in http_routes(app):
        with problems.route():
            if params_of(path) and under(path, "/client"):
                url = fill_missing(path)
                response = await send(client, method, url, token=method in UNSAFE)
                assert_friendly_404(response, f"client {method} {url}")
    problems.assert_none()


@pytest.mark.parametrize("url", ["/no-such-page", "/staff/no-such-page", "/client/no-such-page", "/staff/clients/abc",
                                 "/staff/clients/1/nothing"])
async def test_an_unknown_url_gives_the_friendly_404(client, url):
    anonymous = await client.get(url)
    assert_friendly_404(anonymous, f"anonymous GET {url}")
    await login(client, await make_staff(Role.ADMIN))
    logged_in = await client.get(url)
    assert_friendly_404(logged_in, f"staff GET {url}")


@pytest.mark.parametrize("big", ["3000000000", "99999999999999999999"], ids=["above-int32", "above-int64"])
async def test_an_id_too_big_for_the_database_is_a_404_not_a_500(app, client, big):
    """Every route's integer parameters, filled with an id no row can have: 404, never a database error."""
    ids = await staff_world()
    await login(client, await make_staff(Role.ADMIN))
    problems = Problems()
    for method, path in http_routes(app):
        with problems.route():
            if ":int}" not in path or not under(path, "/staff"):  # only integer ids can be too big
                continue
            url = PARAM.sub(lambda m: big if m.group(0).endswith(":int}") else str(ids[m.group(1)]), path)
            response = await send(client, method, url, token=method in UNSAFE, data={"name": "x"})
            assert_friendly_404(response, f"{method} {url}")

    await login(client, await make_client_user(await make_client()))
    for method, path in http_routes(app):
        with problems.route():
            if not params_of(path) or not under(path, "/client"):
                continue
            url = PARAM.sub(lambda m: big, path)
            response = await send(client, method, url, token=method in UNSAFE, data={"name": "x"})
            assert_friendly_404(response, f"client {method} {url}")
    problems.assert_none()
