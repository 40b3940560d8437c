"""Share links for repayment schedules (/s/<token>): a negotiator shares one version, a person
without an account reads it and accepts it by typing a name; expired, revoked, tampered,
wrong-version and replayed links are refused with a clear page and none of the schedule's data;
guessing tokens is rate-limited."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from litestar.testing import AsyncTestClient

from portal.audit.tables import AuditEvent
from portal.auth.roles import Role
from portal.clock import utcnow
from portal.dunning.escalation import service as escalation
from portal.negotiation.links import rules as links_rules, service as links
from portal.negotiation.schedules import service
from portal.negotiation.tables import LinkAttempt, Schedule, ShareLink
from tests.conftest import TEST_SECRET
from tests.factories import login, make_staff, post
from tests.negotiation.schedule_helpers import ctx_of, debtor, local_today, split
from tests.tasks.helpers import field_error

HTMX = {"hx-request": "true"}
MAX_FAILURES = 5
NOTE = "We agreed on the phone: three payments, the first after your client pays you."
IDEAL = "IDEAL: pay everything within 30 days"
ACCEPTABLE = "ACCEPTABLE: four months at most"


@pytest.fixture
def settings(database_url, tmp_path):
    """The suite's settings with a small brute-force limit (the default is 20 per hour)."""
    from portal.settings import load_settings

    return load_settings({
        "PORTAL_ENV": "test", "DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET,
        "PORTAL_VAR_DIR": str(tmp_path / "var"), "DB_POOL_SIZE": "0", "LINK_MAX_FAILURES": str(MAX_FAILURES),
        "BASE_URL": "https://portal.example",
    })


def plain(text: str) -> str:
    return html.unescape(text).replace("\xa0", " ").replace("\u202f", " ")


async def drafted(settings, *, invoices: int = 1, note: str = NOTE, ladder: bool = True) -> tuple[dict, int]:
    """A debtor and a negotiator's draft schedule over its first invoice (3 installments), with the
    negotiator's preparation (staff-only) filled in (the second debtor of a test: ladder=False)."""
    d = await debtor(invoices=invoices, ladder=ladder)
    invoice = d["invoices"][0]
    rows = split(invoice["total_minor"], [10, 40, 70], local_today(settings))
    schedule_id = await service.draft(d["client_id"], [invoice["id"]], rows, note, d["staff_actor"], ctx_of(settings))
    await service.save_preparation(schedule_id, IDEAL, ACCEPTABLE, "Call on Monday", d["staff_actor"])
    return d, schedule_id


async def share(client, schedule_id: int, *, offers: bool | None = None) -> str:
    """The negotiator presses "Create link" (htmx): the token from the address shown once. `offers`:
    whether the page is told that the draft was offered with it."""
    response = await post(client, f"/staff/schedules/{schedule_id}/links", headers=HTMX)
    assert response.status_code == 200, response.text[:500]
    if offers is not None:
        assert (response.headers.get("hx-trigger") == "schedule-offered") is offers
    match = re.search(r'id="share-link-url"[^>]*value="https://portal\.example/s/([^"]+)"', response.text)
    assert match, "the new link's address is shown"
    return html.unescape(match.group(1))


@pytest.fixture
async def visitor(app):
    """A second browser without any cookie: the person the link was sent to."""
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as anonymous:
        anonymous.follow_redirects = False
        yield anonymous


async def accept_as(visitor, token: str, name: str):
    await visitor.get(f"/s/{token}")  # the page sets the CSRF cookie, as for any anonymous visitor
    return await visitor.post(f"/s/{token}/accept", data={"name": name, "_csrf_token": visitor.cookies.get("portal_csrf", "")})


def assert_refused(response, status: int, words: str, *secrets: str) -> None:
    text = plain(response.text)
    assert response.status_code == status, (response.status_code, text[:300])
    assert words in text, text[:800]
    assert 'name="name"' not in text  # no accept form
    for secret in secrets:
        assert secret not in text, f"{secret!r} shown on a refused link"


async def facts(d: dict) -> list[str]:
    """What the refused pages must never show: the client's name, the invoice, the amounts, the note."""
    from portal.clients.tables import Client

    name = (await Client.select(Client.name).where(Client.id == d["client_id"]).first())["name"]
    return [name, d["invoices"][0]["code"], NOTE[:30], "Installments", "RON"]


# --- the token as pure rules ----------------------------------------------------------------------

def test_a_token_is_random_signed_and_bound_to_its_schedule_version():
    token = links_rules.make_token("k" * 40, 7, 2)
    other = links_rules.make_token("k" * 40, 7, 2)
    assert token != other and links_rules.well_formed(token)
    assert len(token.split(".")[0]) == 43  # 32 random bytes
    assert links_rules.signed_for("k" * 40, token, 7, 2)
    assert not links_rules.signed_for("k" * 40, token, 7, 3)  # another version
    assert not links_rules.signed_for("k" * 40, token, 8, 2)  # another schedule
    assert not links_rules.signed_for("x" * 40, token, 7, 2)  # another secret
    flipped = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    assert not links_rules.signed_for("k" * 40, flipped, 7, 2)
    assert links_rules.token_hash(token) != links_rules.token_hash(flipped) and len(links_rules.token_hash(token)) == 64
    for junk in ("", "abc", token + "x", token.replace(".", "/"), "../" + token[3:]):
        assert not links_rules.well_formed(junk)


def test_a_links_state_follows_precedence():
    now = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)
    fresh = {"version": 2, "expires_at": now + dt.timedelta(days=1), "revoked_at": None, "used_at": None}

    def state(status="with_client", current=2, **changes):
        return links_rules.state_of({**fresh, **changes}, now, current_version=current, schedule_status=status)

    assert state() == "active"
    assert state(used_at=now, revoked_at=now, expires_at=now) == "used"
    assert state(revoked_at=now, expires_at=now) == "revoked"
    assert state(expires_at=now, current=3) == "expired"
    assert state(current=3) == "superseded"
    assert state(status="accepted") == "closed"
    assert links_rules.limited(MAX_FAILURES, MAX_FAILURES) and not links_rules.limited(MAX_FAILURES - 1, MAX_FAILURES)


# --- end to end -----------------------------------------------------------------------------------

async def test_a_shared_draft_is_read_and_accepted_through_the_link_like_a_signature(client, visitor, settings):
    d, schedule_id = await drafted(settings)
    invoice = d["invoices"][0]
    await login(client, d["negotiator"])
    token = await share(client, schedule_id, offers=True)

    # creating the link offered the draft; only the token's hash is kept, and the address is shown once
    assert (await service.get(schedule_id))["status"] == "with_client"
    link = await ShareLink.select().where(ShareLink.schedule == schedule_id).first()
    assert link["token_hash"] == links_rules.token_hash(token) and token not in str(link.values())
    assert link["version"] == 1 and link["expires_at"] - link["created_at"] == dt.timedelta(days=settings.share_link_days)
    listing = await client.get(f"/staff/schedules/{schedule_id}/links", headers=HTMX)
    assert token not in listing.text and 'data-state="active"' in listing.text

    opened = await visitor.get(f"/s/{token}")
    text = plain(opened.text)
    assert opened.status_code == 200
    assert "portal_session" not in visitor.cookies  # no session is made
    assert opened.headers["cache-control"] == "no-store" and opened.headers["referrer-policy"] == "no-referrer"
    client_name = (await service.get(schedule_id))["client_name"]
    assert client_name in text and invoice["code"] in text and NOTE in text
    total = re.search(r'class="num share-total">([^<]+)<', opened.text).group(1)
    assert plain(total) == "RON1,190.00"  # the invoice: 1 000 + 19 % VAT
    assert len(re.findall(r"<tr><td>\d</td>", opened.text)) == 3  # the three installments
    assert IDEAL not in text and ACCEPTABLE not in text and "Call on Monday" not in text
    assert 'href="/staff' not in opened.text and 'href="/client' not in opened.text

    signed = await accept_as(visitor, token, "  Ion   Popescu ")
    assert signed.status_code == 200, signed.text[:500]
    assert "Ion Popescu" in plain(signed.text) and "accepted" in plain(signed.text)
    assert "portal_session" not in visitor.cookies

    schedule = await Schedule.select().where(Schedule.id == schedule_id).first()
    assert schedule["status"] == "accepted"
    assert (schedule["accepted_name"], schedule["accepted_via"], schedule["accepted_version"]) == ("Ion Popescu", "link", 1)
    assert schedule["accepted_ip"] == "testclient" and schedule["accepted_at"] is not None
    link = await ShareLink.select().where(ShareLink.id == link["id"]).first()
    assert link["used_at"] == schedule["accepted_at"]
    assert (link["signer_name"], link["signer_ip"]) == ("Ion Popescu", "testclient")
    assert (await escalation.states_of([invoice["id"]]))[invoice["id"]] == "on_plan"
    actions = {e["action"] for e in await AuditEvent.select(AuditEvent.action).where(AuditEvent.object_id == schedule_id)}
    assert {"share_link_created", "share_link_used", "schedule_accepted"} <= actions

    # replayed: the same link again, to read or to sign
    secrets = [*await facts(d), plain(total)]
    assert_refused(await visitor.get(f"/s/{token}"), 410, "This link was already used.", *secrets)
    replay = await visitor.post(f"/s/{token}/accept", data={"name": "Someone Else", "_csrf_token": visitor.cookies["portal_csrf"]})
    assert_refused(replay, 410, "This link was already used.", *secrets)
    assert (await Schedule.select(Schedule.accepted_name).where(Schedule.id == schedule_id).first())["accepted_name"] == "Ion Popescu"
    listing = await client.get(f"/staff/schedules/{schedule_id}/links", headers=HTMX)
    assert 'data-state="used"' in listing.text and "Accepted by Ion Popescu" in plain(listing.text)


async def test_accepting_needs_a_name_and_the_csrf_token(client, visitor, settings):
    d, schedule_id = await drafted(settings)
    await login(client, d["negotiator"])
    token = await share(client, schedule_id)

    blank = await accept_as(visitor, token, " x ")
    assert blank.status_code == 400
    assert field_error(blank.text, "name") == "Type your full name to sign."
    forged = await visitor.post(f"/s/{token}/accept", data={"name": "Ion Popescu"})
    assert forged.status_code == 403
    assert (await service.get(schedule_id))["status"] == "with_client"
    assert (await ShareLink.select(ShareLink.used_at).first())["used_at"] is None
    assert (await accept_as(visitor, token, "Ion Popescu")).status_code == 200


# --- refused links ------------------------------------------------------------------------------

async def test_an_expired_link_is_refused_without_data(client, visitor, settings):
    d, schedule_id = await drafted(settings)
    await login(client, d["negotiator"])
    token = await share(client, schedule_id)
    await ShareLink.update({ShareLink.expires_at: utcnow() - dt.timedelta(minutes=1)}).where(ShareLink.schedule == schedule_id)

    assert_refused(await visitor.get(f"/s/{token}"), 410, "This link has expired.", *await facts(d))
    assert_refused(await accept_as(visitor, token, "Ion Popescu"), 410, "This link has expired.", *await facts(d))
    assert (await service.get(schedule_id))["status"] == "with_client"
    listing = await client.get(f"/staff/schedules/{schedule_id}/links", headers=HTMX)
    assert 'data-state="expired"' in listing.text


async def test_a_revoked_link_is_refused_without_data(client, visitor, settings):
    d, schedule_id = await drafted(settings)
    await login(client, d["negotiator"])
    token = await share(client, schedule_id)
    assert (await visitor.get(f"/s/{token}")).status_code == 200
    link_id = (await ShareLink.select(ShareLink.id).first())["id"]

    revoked = await post(client, f"/staff/schedules/{schedule_id}/links/{link_id}/revoke", headers=HTMX)
    assert revoked.status_code == 200 and 'data-state="revoked"' in revoked.text
    assert f"/links/{link_id}/revoke" not in revoked.text  # nothing left to revoke
    again = await post(client, f"/staff/schedules/{schedule_id}/links/{link_id}/revoke")
    assert again.status_code == 303  # told it was already revoked, nothing changes

    assert_refused(await visitor.get(f"/s/{token}"), 410, "This link was withdrawn.", *await facts(d))
    assert_refused(await accept_as(visitor, token, "Ion Popescu"), 410, "This link was withdrawn.", *await facts(d))
    assert (await service.get(schedule_id))["status"] == "with_client"
    assert await AuditEvent.count().where(AuditEvent.action == "share_link_revoked") == 1


async def test_a_tampered_link_is_not_valid_and_counts_as_a_failure(client, visitor, settings):
    d, schedule_id = await drafted(settings)
    await login(client, d["negotiator"])
    token = await share(client, schedule_id)
    random_part, signature = token.split(".")
    one_char = random_part[:-2] + ("A" if random_part[-2] != "A" else "B") + random_part[-1] + "." + signature
    in_signature = random_part + "." + signature[:3] + ("A" if signature[3] != "A" else "B") + signature[4:]

    for bad in (one_char, in_signature, token[:-1]):
        assert_refused(await visitor.get(f"/s/{bad}"), 404, "This link is not valid.", *await facts(d))
    assert_refused(await accept_as(visitor, one_char, "Ion Popescu"), 404, "This link is not valid.", *await facts(d))
    assert await LinkAttempt.count() == 5  # the three opened, and the page and the post of the last
    assert (await service.get(schedule_id))["status"] == "with_client"


async def test_a_link_to_a_version_the_schedule_moved_on_from_is_refused(client, visitor, settings):
    d, schedule_id = await drafted(settings)
    await login(client, d["negotiator"])
    token = await share(client, schedule_id)
    total = d["invoices"][0]["total_minor"]
    today = local_today(settings)
    # the client counters in the portal, the negotiator counters back: the table now holds version 3
    await service.counter(schedule_id, "client", split(total, [20, 50, 80, 110], today), "Four, please.", d["client_actor"],
                          ctx_of(settings), client_id=d["client_id"])
    assert_refused(await visitor.get(f"/s/{token}"), 410, "The offer changed since this link was made.", *await facts(d))
    await service.counter(schedule_id, "staff", split(total, [15, 45, 75, 105], today), "Four, a bit sooner.", d["staff_actor"],
                          ctx_of(settings))

    assert_refused(await visitor.get(f"/s/{token}"), 410, "The offer changed since this link was made.", *await facts(d))
    refused = await accept_as(visitor, token, "Ion Popescu")
    assert_refused(refused, 410, "Ask your contact at our firm for a new link.", *await facts(d))
    schedule = await service.get(schedule_id)
    assert (schedule["status"], schedule["current_version"], schedule["accepted_at"]) == ("with_client", 3, None)
    listing = await client.get(f"/staff/schedules/{schedule_id}/links", headers=HTMX)
    assert 'data-state="superseded"' in listing.text

    # a new link for the new version works
    fresh = await share(client, schedule_id, offers=False)
    assert (await accept_as(visitor, fresh, "Ion Popescu")).status_code == 200
    assert (await service.get(schedule_id))["accepted_version"] == 3


async def test_a_link_shows_its_schedule_only(client, visitor, settings):
    d, schedule_id = await drafted(settings, invoices=2)
    other_invoice = d["invoices"][1]
    rows = split(other_invoice["total_minor"], [12, 42], local_today(settings))
    other = await service.draft(d["client_id"], [other_invoice["id"]], rows, "OTHER SCHEDULE NOTE", d["staff_actor"], ctx_of(settings))
    await login(client, d["negotiator"])
    token = await share(client, schedule_id)
    await share(client, other)

    text = plain((await visitor.get(f"/s/{token}")).text)
    assert d["invoices"][0]["code"] in text and NOTE in text
    assert other_invoice["code"] not in text and "OTHER SCHEDULE NOTE" not in text
    assert IDEAL not in text and ACCEPTABLE not in text
    for path in (f"/staff/schedules/{schedule_id}", f"/client/schedules/{schedule_id}", f"/staff/schedules/{schedule_id}/print",
                 f"/client/schedules/{schedule_id}/print"):
        assert (await visitor.get(path)).status_code == 303  # the link is no key to anything else: log in first


# --- brute force --------------------------------------------------------------------------------

async def test_guessing_tokens_is_rate_limited_per_address(client, visitor, settings):
    d, schedule_id = await drafted(settings)
    await login(client, d["negotiator"])
    token = await share(client, schedule_id)
    assert (await visitor.get(f"/s/{token}")).status_code == 200  # a working link is no failure

    for _ in range(MAX_FAILURES):
        guess = links_rules.make_token("guessing" * 5, schedule_id, 1)
        assert (await visitor.get(f"/s/{guess}")).status_code == 404
    limited = await visitor.get(f"/s/{links_rules.make_token('guessing' * 5, schedule_id, 1)}")
    assert_refused(limited, 429, "Too many attempts.", *await facts(d))
    # even the right link, to read or to sign
    assert_refused(await visitor.get(f"/s/{token}"), 429, "Too many attempts.", *await facts(d))
    assert_refused(await accept_as(visitor, token, "Ion Popescu"), 429, "Too many attempts.")
    assert (await service.get(schedule_id))["status"] == "with_client"
    assert await LinkAttempt.count() == MAX_FAILURES  # refused openings are not counted again

    # another address is not held back, and after the hour this one is free again
    kw = {"secret": settings.secret_key, "max_failures": MAX_FAILURES}
    assert (await links.open_link(token, "203.0.113.9", **kw)).version["number"] == 1
    later = utcnow() + dt.timedelta(minutes=61)
    assert (await links.open_link(token, "testclient", now=later, **kw)).schedule["id"] == schedule_id


# --- staff side ---------------------------------------------------------------------------------

async def test_only_negotiators_credit_controllers_and_admins_share_and_only_open_offers(client, settings):
    d, schedule_id = await drafted(settings)
    await login(client, await make_staff(Role.SALES_MANAGER))
    assert (await post(client, f"/staff/schedules/{schedule_id}/links", headers=HTMX)).status_code == 403
    assert (await client.get(f"/staff/schedules/{schedule_id}/links", headers=HTMX)).status_code == 200  # staff read them
    assert await ShareLink.count() == 0 and (await service.get(schedule_id))["status"] == "draft"

    await login(client, await make_staff(Role.CREDIT_CONTROLLER))
    await share(client, schedule_id)
    await service.reject(schedule_id, "client", "We will pay at once instead.", d["client_actor"], client_id=d["client_id"])
    refused = await post(client, f"/staff/schedules/{schedule_id}/links", headers=HTMX)
    assert refused.status_code == 400
    assert "Only a draft or an offer waiting for the client" in plain(refused.text)
    assert await ShareLink.count() == 1
    listing = await client.get(f"/staff/schedules/{schedule_id}/links", headers=HTMX)
    assert 'data-state="closed"' in listing.text and "Create link" not in listing.text

    # a plain form post (no htmx) shows the address on its own page, once
    _, second = await drafted(settings, ladder=False)
    await login(client, await make_staff(Role.ADMIN))
    made = await post(client, f"/staff/schedules/{second}/links")
    assert made.status_code == 200 and "https://portal.example/s/" in made.text
    link = await ShareLink.select(ShareLink.id).where(ShareLink.schedule == second).first()
    # a link is revoked only through its own schedule
    assert (await post(client, f"/staff/schedules/{schedule_id}/links/{link['id']}/revoke")).status_code == 404
    assert (await post(client, f"/staff/schedules/{second}/links/{link['id']}/revoke")).status_code == 303


async def test_two_people_accepting_one_link_at_once_sign_it_once(db, settings):
    """Both press Accept at the same moment (two connections on PostgreSQL, where the link's row is
    locked): one signature is recorded, the other is told the link was used, nothing is doubled."""
    import asyncio

    d, schedule_id = await drafted(settings)
    ctx = ctx_of(settings)
    created = await links.create(schedule_id, d["staff_actor"], ctx, secret=settings.secret_key, days=14)
    outcomes = await asyncio.gather(*[
        links.accept(created.token, name, f"10.0.0.{k}", ctx, secret=settings.secret_key, max_failures=MAX_FAILURES)
        for k, name in enumerate(("Ana Pop", "Ion Pop"))
    ], return_exceptions=True)
    accepted = [o for o in outcomes if isinstance(o, links.Accepted)]
    refused = [o for o in outcomes if not isinstance(o, links.Accepted)]
    assert len(accepted) == 1 and len(refused) == 1, outcomes
    assert isinstance(refused[0], (links.LinkRefused, service.ScheduleError)), refused
    schedule = await service.get(schedule_id)
    assert (schedule["status"], schedule["accepted_name"]) == ("accepted", accepted[0].name)
    assert await AuditEvent.count().where(AuditEvent.action == "schedule_accepted") == 1
    link = await ShareLink.select().where(ShareLink.id == created.link_id).first()
    assert link["used_at"] is not None and link["signer_name"] == accepted[0].name


async def test_the_share_link_speaks_the_clients_language_unless_the_visitor_chooses(client, visitor, settings):
    from portal.clients.tables import Client

    d, schedule_id = await drafted(settings)
    await Client.update({Client.language: "hu"}).where(Client.id == d["client_id"])
    await login(client, d["negotiator"])
    token = await share(client, schedule_id)
    page = await visitor.get(f"/s/{token}", headers={"accept-language": "ro-RO,ro;q=0.9"})
    assert '<html lang="hu">' in page.text  # the client's language, not the visitor's browser
    chosen = await visitor.get(f"/s/{token}?lang=bg", headers={"accept-language": "ro-RO,ro;q=0.9"})
    assert '<html lang="bg">' in chosen.text and 'href="?lang=hu"' in chosen.text
