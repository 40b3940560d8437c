"""The client's side: their orders in plain words, the current spec with its layouts, and the
decision (approve with a typed signature, or ask for changes). Another company sees nothing."""

from __future__ import annotations

import html

import pytest

from portal.audit.tables import AuditEvent
from portal.auth.roles import Role
from portal.orders.specs import service as specs
from portal.orders.tables import Order, TechnicalSpec
from portal.tasks.tables import Notification
from tests.factories import login, make_client, make_client_user, make_staff, post
from tests.orders.test_specs import JPEG, PDF, PNG, add_variant, make_order, sent_spec, staff_actor


async def stage_of(order_id: int) -> str:
    return (await Order.select(Order.stage).where(Order.id == order_id).first())["stage"]


async def setup_sent(settings, *, paid: bool = False, company: str = "Carpatia Retail SRL") -> dict:
    """An order whose spec version 1 (variants A: PNG, B: PDF) waits for the client's approval."""
    client_id = await make_client(company)
    order = await make_order(client_id, stage="layout", paid=100_000 if paid else 0)
    coordinator = await make_staff(Role.SPEC_COORDINATOR, name="Cora Coordinator")
    a = await add_variant(order["id"], settings.upload_dir, label="A: blue", data=PNG, name="a.png")
    b = await add_variant(order["id"], settings.upload_dir, label="B: red", data=PDF, name="b.pdf")
    await sent_spec(order["id"], [a, b], coordinator, materials="PVC 0.76 mm white")
    buyer = await make_client_user(client_id)
    return {"order": order, "a": a, "b": b, "coordinator": coordinator, "buyer": buyer, "client_id": client_id}


async def approve(client, order_id: int, version: int, **data):
    return await post(client, f"/client/orders/{order_id}/spec/{version}/approve", data)


# --- seeing -------------------------------------------------------------------------------------

async def test_the_client_sees_their_orders_in_plain_words_and_what_to_do(client, settings):
    s = await setup_sent(settings)
    drawing = await make_order(s["client_id"], stage="layout")
    paying = await make_order(s["client_id"], stage="spec_approved")
    await make_order(await make_client("Someone Else SRL"), stage="spec_sent")  # another company's order
    await login(client, s["buyer"])
    page = await client.get("/client/orders")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert 'href="/client/orders"' in page.text and ">Orders<" in page.text  # the nav link
    assert s["order"]["number"] in text and drawing["number"] in text and paying["number"] in text
    assert "Waiting for your approval of the spec" in text and "We are drawing your layouts" in text
    assert "Waiting for your prepayment" in text and f"Pay invoice INV-T-{paying['id']:05d}" in text
    assert f'href="/client/orders/{s["order"]["id"]}#spec">Review and approve the spec' in page.text
    assert "Someone Else" not in text and text.count("ORD-") == 3


async def test_no_orders_shows_an_empty_state(client):
    await login(client, await make_client_user(await make_client()))
    page = await client.get("/client/orders")
    assert page.status_code == 200 and "You have no orders with us yet." in page.text


async def test_the_order_page_shows_the_current_sent_version_and_its_layouts(client, settings):
    s = await setup_sent(settings)
    await login(client, s["buyer"])
    oid = s["order"]["id"]
    page = await client.get(f"/client/orders/{oid}")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Technical spec, version 1" in text and "PVC 0.76 mm white" in text and "Gloss laminate" in text and "Contract 12/2025" in text
    assert f'<img src="/client/orders/{oid}/variants/{s["a"]}"' in page.text and "max-width:min(100%,900px)" in page.text
    assert f'<iframe src="/client/orders/{oid}/variants/{s["b"]}"' in page.text
    assert "A: blue" in text and "B: red" in text and "Approve version 1" in text
    image = await client.get(f"/client/orders/{oid}/variants/{s['a']}")
    assert image.status_code == 200 and image.content == PNG and image.headers["x-content-type-options"] == "nosniff"
    pdf = await client.get(f"/client/orders/{oid}/variants/{s['b']}")
    assert pdf.headers["content-type"] == "application/pdf" and "default-src 'none'" in pdf.headers["content-security-policy"]
    assert pdf.headers["content-disposition"].startswith('inline; filename="b.pdf"')


async def test_a_layout_not_sent_to_the_client_stays_inside(client, settings):
    s = await setup_sent(settings)
    draft_only = await add_variant(s["order"]["id"], settings.upload_dir, label="C: work in progress", data=JPEG, name="c.jpg")
    await login(client, s["buyer"])
    assert (await client.get(f"/client/orders/{s['order']['id']}/variants/{draft_only}")).status_code == 404
    assert "work in progress" not in (await client.get(f"/client/orders/{s['order']['id']}")).text


async def test_another_companys_user_gets_404_everywhere(client, settings):
    s = await setup_sent(settings)
    stranger = await make_client_user(await make_client("Rival SRL"))
    await login(client, stranger)
    oid = s["order"]["id"]
    assert (await client.get(f"/client/orders/{oid}")).status_code == 404
    assert (await client.get(f"/client/orders/{oid}/variants/{s['a']}")).status_code == 404
    assert (await approve(client, oid, 1, variant_id=str(s["a"]), signature_name="Mallory")).status_code == 404
    assert (await post(client, f"/client/orders/{oid}/spec/1/changes", {f"comment_{s['a']}": "x"})).status_code == 404
    assert (await TechnicalSpec.select(TechnicalSpec.status).first())["status"] == "sent"
    assert await stage_of(oid) == "spec_sent" and await Notification.count() == 0


async def test_staff_pages_are_not_for_clients_and_client_pages_not_for_staff(client, settings):
    s = await setup_sent(settings)
    await login(client, s["buyer"])
    assert (await client.get(f"/staff/orders/{s['order']['id']}/variants/{s['a']}")).status_code == 403
    client.cookies.clear()
    await login(client, await make_staff(Role.ADMIN))
    assert (await client.get("/client/orders")).status_code == 403


# --- approving ---------------------------------------------------------------------------------

async def test_approval_records_the_decision_moves_the_order_and_tells_the_coordinator(client, settings):
    s = await setup_sent(settings)
    await login(client, s["buyer"])
    oid = s["order"]["id"]
    response = await approve(client, oid, 1, variant_id=str(s["b"]), signature_name="  Ana   Popescu ")
    assert response.status_code == 303 and response.headers["location"] == f"/client/orders/{oid}"
    spec = await TechnicalSpec.select().where(TechnicalSpec.version == 1).first()
    assert spec["status"] == "approved" and spec["approved_variant"] == s["b"] and spec["signature_name"] == "Ana Popescu"
    assert spec["decided_by"] == s["buyer"]["id"] and spec["decided_at"] is not None and spec["decision_ip"]
    assert await stage_of(oid) == "spec_approved"  # at once, not waiting for a job
    note = await Notification.select().first()
    assert note["user"] == s["coordinator"]["id"] and note["link"] == f"/staff/orders/{oid}"
    assert note["message"] == f"Carpatia Retail SRL approved spec v1 of {s['order']['number']}"
    event = await AuditEvent.select().where(AuditEvent.action == "spec_approved").output(load_json=True).first()
    assert event["actor"] == s["buyer"]["id"] and event["object_id"] == oid and event["after"]["version"] == 1
    assert event["after"]["variant"] == "B: red" and event["ip"]
    page = await client.get(f"/client/orders/{oid}")
    assert "You approved version 1" in html.unescape(page.text) and "Approve version 1" not in page.text
    again = await approve(client, oid, 1, variant_id=str(s["a"]), signature_name="Ana Popescu")
    assert again.status_code == 409 and "already approved version 1" in again.text
    assert (await TechnicalSpec.select(TechnicalSpec.approved_variant).first())["approved_variant"] == s["b"]


async def test_approval_of_a_paid_order_sends_it_straight_into_production(client, settings):
    s = await setup_sent(settings, paid=True)
    await login(client, s["buyer"])
    response = await approve(client, s["order"]["id"], 1, variant_id=str(s["a"]), signature_name="Ana Popescu")
    assert response.status_code == 303
    assert await stage_of(s["order"]["id"]) == "in_production"
    actions = [e["action"] for e in await specs.audit.timeline("order", s["order"]["id"])]
    assert actions[:2] == ["order_entered_production", "spec_approved"]


async def test_approving_an_outdated_version_is_refused_naming_the_current_one(client, settings):
    s = await setup_sent(settings)
    oid = s["order"]["id"]
    await sent_spec(oid, [s["a"]], s["coordinator"], finishing="Matte")  # version 2 supersedes version 1
    await login(client, s["buyer"])
    response = await approve(client, oid, 1, variant_id=str(s["a"]), signature_name="Ana Popescu")
    assert response.status_code == 409
    text = html.unescape(response.text)
    assert "Version 1 of the spec is out of date: we have since sent you version 2." in text
    assert f'href="/client/orders/{oid}#spec-v2"' in response.text and "Review version 2" in text
    statuses = {r["version"]: r["status"] for r in await TechnicalSpec.select(TechnicalSpec.version, TechnicalSpec.status)}
    assert statuses == {1: "superseded", 2: "sent"}
    assert await stage_of(oid) == "spec_sent" and await Notification.count() == 0
    assert await AuditEvent.count().where(AuditEvent.action == "spec_approved") == 0
    assert (await approve(client, oid, 2, variant_id=str(s["a"]), signature_name="Ana Popescu")).status_code == 303


@pytest.mark.parametrize("data,field,message", [
    ({"signature_name": "Ana Popescu"}, "variant_id", "Choose the layout variant you approve."),
    ({"variant_id": "999", "signature_name": "Ana Popescu"}, "variant_id", "Choose the layout variant you approve."),
    ({"variant_id": "A"}, "signature_name", "Type your full name"),
    ({"variant_id": "A", "signature_name": "x"}, "signature_name", "Type your full name"),
], ids=["no variant", "variant not in spec", "no signature", "one letter"])
async def test_an_incomplete_approval_changes_nothing(client, settings, data, field, message):
    s = await setup_sent(settings)
    await login(client, s["buyer"])
    data = {k: (str(s["a"]) if v == "A" else v) for k, v in data.items()}
    response = await approve(client, s["order"]["id"], 1, **data)
    assert response.status_code == 400 and message in html.unescape(response.text)
    assert (await TechnicalSpec.select(TechnicalSpec.status).first())["status"] == "sent"
    assert await stage_of(s["order"]["id"]) == "spec_sent" and await Notification.count() == 0


async def test_a_draft_version_does_not_exist_for_the_client(client, settings):
    s = await setup_sent(settings)
    await specs.save_draft(s["order"]["id"], {"materials": "v2"}, [str(s["a"])], staff_actor(s["coordinator"]))
    await login(client, s["buyer"])
    assert (await approve(client, s["order"]["id"], 2, variant_id=str(s["a"]), signature_name="Ana Popescu")).status_code == 404
    assert (await client.get(f"/client/orders/{s['order']['id']}")).text.count("version 2") == 0


# --- asking for changes ------------------------------------------------------------------------

async def test_asking_for_changes_sends_the_order_back_to_layout(client, settings):
    s = await setup_sent(settings)
    await login(client, s["buyer"])
    oid = s["order"]["id"]
    response = await post(client, f"/client/orders/{oid}/spec/1/changes", {f"comment_{s['a']}": "Bigger logo, please", f"comment_{s['b']}": ""})
    assert response.status_code == 303 and response.headers["location"] == f"/client/orders/{oid}"
    spec = await TechnicalSpec.select().output(load_json=True).first()
    assert spec["status"] == "changes_requested" and spec["change_requests"] == {str(s["a"]): "Bigger logo, please"}
    assert spec["decided_by"] == s["buyer"]["id"] and spec["decided_at"] is not None
    assert await stage_of(oid) == "layout"
    note = await Notification.select().first()
    assert note["user"] == s["coordinator"]["id"] and "asked for changes to spec v1" in note["message"]
    event = await AuditEvent.select().where(AuditEvent.action == "spec_changes_requested").output(load_json=True).first()
    assert event["after"]["version"] == 1 and "Bigger logo, please" in event["after"].values()
    page = html.unescape((await client.get(f"/client/orders/{oid}")).text)
    assert "You asked for changes" in page and "Approve version 1" not in page

    # the coordinator's next version copies the last one and re-opens the approval
    await sent_spec(oid, [s["a"]], s["coordinator"], finishing="Matte")
    assert await stage_of(oid) == "spec_sent"
    statuses = {r["version"]: r["status"] for r in await TechnicalSpec.select(TechnicalSpec.version, TechnicalSpec.status)}
    assert statuses == {1: "superseded", 2: "sent"}


async def test_changes_need_at_least_one_comment(client, settings):
    s = await setup_sent(settings)
    await login(client, s["buyer"])
    response = await post(client, f"/client/orders/{s['order']['id']}/spec/1/changes", {f"comment_{s['a']}": "  "})
    assert response.status_code == 400 and "write a comment on at least one variant" in response.text
    assert (await TechnicalSpec.select(TechnicalSpec.status).first())["status"] == "sent"
    assert await stage_of(s["order"]["id"]) == "spec_sent"
