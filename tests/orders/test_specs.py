"""Staff side of layouts and the spec: designers upload (checked by content), coordinators draft,
send and re-version the spec; everything on the order's timeline."""

from __future__ import annotations

import datetime as dt
import html
import itertools
import os
import re

import pytest

from portal.audit.service import Actor
from portal.audit.tables import AuditEvent
from portal.auth.roles import Role
from portal.billing.tables import Invoice
from portal.clock import utcnow
from portal.orders.specs import rules as spec_rules, service as specs
from portal.orders.tables import LayoutVariant, Order, TechnicalSpec
from portal.web import flash as flash_cookie
from tests.factories import csrf_token, login, make_client, make_client_user, make_staff, post

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
_numbers = itertools.count(1)


# --- building blocks (also used by test_client_orders) -----------------------------------------

async def make_order(client_id: int | None = None, stage: str = "layout", *, invoice_total: int = 100_000, paid: int = 0) -> dict:
    """An order and its invoice, straight into the tables (no intake needed)."""
    client_id = client_id or await make_client()
    now = utcnow()
    n = next(_numbers)
    order = Order(number=f"ORD-{now.year}-{n:04d}-T{os.getpid() % 1000}", client=client_id, product="PVC cards, 0.76 mm, 4+4",
                  quantity=5000, stage=stage, stage_changed_at=now, created_at=now)
    await order.save()
    today = now.date()
    await Invoice(
        series="INV", year=today.year, number=order.id, code=f"INV-T-{order.id:05d}", client=client_id, order=order.id,
        currency="RON", issue_date=today, due_date=today + dt.timedelta(days=14), status="paid" if paid >= invoice_total else "issued",
        net_minor=invoice_total, vat_minor=0, total_minor=invoice_total, paid_minor=paid, created_at=now,
        settled_on=today if paid >= invoice_total else None,
    ).save()
    return await Order.select().where(Order.id == order.id).first()


def staff_actor(user: dict, name: str = "Coordinator") -> Actor:
    return Actor(user_id=user["id"], label=name, ip="10.0.0.1")


async def add_variant(order_id: int, upload_dir, *, label: str = "A", data: bytes = PNG, name: str = "a.png", designer: dict | None = None) -> int:
    actor = staff_actor(designer, "Designer") if designer else Actor.system()
    variant_id, checked = await specs.upload_variant(order_id, label=label, original_name=name, data=data, size=None,
                                                     actor=actor, upload_dir=upload_dir)
    assert variant_id, checked.errors
    return variant_id


async def sent_spec(order_id: int, variant_ids: list[int], coordinator: dict, **fields) -> int:
    form = {"materials": "PVC 0.76 mm", "finishing": "Gloss laminate", "quantities": "5000", "contract_note": "Contract 12/2025", **fields}
    return await specs.send_spec(order_id, staff_actor(coordinator), form=form, chosen=[str(v) for v in variant_ids])


def stored_files(upload_dir) -> list[str]:
    return sorted(os.listdir(upload_dir)) if upload_dir.exists() else []


async def upload(client, order_id: int, data: bytes, name: str = "layout.png", label: str = "A", content_type: str = "image/png", **kwargs):
    return await post(client, f"/staff/orders/{order_id}/variants", {"label": label}, files={"file": (name, data, content_type)}, **kwargs)


def error_beside(page: str, field_id: str) -> str:
    match = re.search(rf'<div class="field[^"]*" id="field-{field_id}">.*?<p class="error"[^>]*>(.*?)</p>', page, re.S)
    assert match, f"no error beside {field_id}"
    return html.unescape(match.group(1).strip())


def flashed(response) -> list[list[str]]:
    from tests.conftest import TEST_SECRET

    cookie = response.cookies.get(flash_cookie.FLASH_COOKIE)
    return flash_cookie.decode(cookie, TEST_SECRET)


# --- uploads -----------------------------------------------------------------------------------

async def test_a_designer_uploads_a_layout_stored_under_a_random_name(client, settings):
    designer = await make_staff(Role.DESIGNER, name="Dana Designer")
    order = await make_order()
    await login(client, designer)
    response = await upload(client, order["id"], PNG, name="../../Macheta A.png", label="A: blue background", content_type="application/x-msdownload")
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/staff/orders/{order['id']}"
    row = await LayoutVariant.select().first()
    assert row["order"] == order["id"] and row["label"] == "A: blue background"
    assert row["original_name"] == "Macheta A.png" and row["content_type"] == "image/png"  # by content, not the browser's type
    assert row["size_bytes"] == len(PNG) and row["uploaded_by"] == designer["id"] and row["uploaded_at"]
    assert re.fullmatch(r"[0-9a-f]{32}\.png", row["stored_name"])
    assert stored_files(settings.upload_dir) == [row["stored_name"]]  # no temporary file left behind
    assert (settings.upload_dir / row["stored_name"]).read_bytes() == PNG
    event = await AuditEvent.select().where(AuditEvent.action == "variant_uploaded").output(load_json=True).first()
    assert (event["object_type"], event["object_id"], event["client_id"], event["actor"]) == ("order", order["id"], order["client"], designer["id"])

    served = await client.get(f"/staff/orders/{order['id']}/variants/{row['id']}")
    assert served.status_code == 200 and served.content == PNG
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-disposition"].startswith('inline; filename="Macheta A.png"')
    page = await client.get(f"/staff/orders/{order['id']}")
    assert page.status_code == 200 and "A: blue background" in page.text and "uploaded" in page.text


async def test_a_pdf_is_served_under_a_strict_policy_and_a_jpeg_keeps_its_type(client, settings):
    order = await make_order()
    pdf_id = await add_variant(order["id"], settings.upload_dir, data=PDF, name="spec.png")
    jpeg_id = await add_variant(order["id"], settings.upload_dir, data=JPEG, name="photo.jpeg")
    await login(client, await make_staff(Role.SALES_MANAGER))
    pdf = await client.get(f"/staff/orders/{order['id']}/variants/{pdf_id}")
    assert pdf.status_code == 200 and pdf.content == PDF
    assert pdf.headers["content-type"] == "application/pdf"
    assert "default-src 'none'" in pdf.headers["content-security-policy"]
    assert 'filename="spec.pdf"' in pdf.headers["content-disposition"]  # the real type's extension
    assert (await client.get(f"/staff/orders/{order['id']}/variants/{pdf_id}?download=true")).headers["content-disposition"].startswith("attachment;")
    jpeg = await client.get(f"/staff/orders/{order['id']}/variants/{jpeg_id}")
    assert jpeg.headers["content-type"] == "image/jpeg" and jpeg.headers["x-content-type-options"] == "nosniff"
    other = await make_order()
    assert (await client.get(f"/staff/orders/{other['id']}/variants/{pdf_id}")).status_code == 404


REFUSED = [
    ("wrong type", b"GIF89a\x01\x00\x01\x00" + b"\x00" * 20, "layout.gif", "Only PNG, JPEG and PDF files are accepted"),
    ("renamed ELF", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 60, "x.png", "program"),
    ("renamed MZ", b"MZ\x90\x00\x03\x00" + b"\x00" * 60, "x.png", "program"),
    ("empty", b"", "x.png", "empty"),
    ("oversized", PNG + b"\x00" * (spec_rules.MAX_UPLOAD_BYTES + 1 - len(PNG)), "big.png", "larger than 10 MiB"),
]


@pytest.mark.parametrize("what,data,name,message", REFUSED, ids=[r[0] for r in REFUSED])
async def test_a_bad_file_is_refused_beside_the_field_and_nothing_is_stored(client, settings, what, data, name, message):
    order = await make_order()
    await add_variant(order["id"], settings.upload_dir)  # one good file already there
    files_before, rows_before = stored_files(settings.upload_dir), await LayoutVariant.count()
    await login(client, await make_staff(Role.DESIGNER))
    events_before = await AuditEvent.count()
    response = await upload(client, order["id"], data, name=name, content_type="image/png")
    assert response.status_code == 400
    assert message in error_beside(response.text, "variant-file")
    assert 'value="A"' in response.text  # the label typed is kept
    assert await LayoutVariant.count() == rows_before and stored_files(settings.upload_dir) == files_before
    assert await AuditEvent.count() == events_before


async def test_a_body_far_over_the_limit_is_refused_and_nothing_is_stored(client, settings):
    order = await make_order()
    await login(client, await make_staff(Role.DESIGNER))
    huge = PNG + b"\x00" * (12 * 1024 * 1024)
    response = await upload(client, order["id"], huge)
    assert response.status_code == 413
    assert await LayoutVariant.count() == 0 and stored_files(settings.upload_dir) == []
    # with the token in a header (htmx), the page answers with the message beside the field
    token = await csrf_token(client)
    response = await client.post(f"/staff/orders/{order['id']}/variants", data={"label": "A"}, files={"file": ("a.png", huge, "image/png")},
                                 headers={"x-csrftoken": token})
    assert response.status_code == 400 and "larger than 10 MiB" in error_beside(response.text, "variant-file")
    assert await LayoutVariant.count() == 0 and stored_files(settings.upload_dir) == []


async def test_a_file_just_under_the_limit_is_accepted(client, settings):
    order = await make_order()
    await login(client, await make_staff(Role.DESIGNER))
    data = PDF + b"\x00" * (spec_rules.MAX_UPLOAD_BYTES - len(PDF))
    response = await upload(client, order["id"], data, name="big.pdf", label="")
    assert response.status_code == 303, response.text[:500]
    row = await LayoutVariant.select().first()
    assert row["size_bytes"] == spec_rules.MAX_UPLOAD_BYTES and row["label"] == "big"  # no label: the file's name


async def test_a_failed_insert_leaves_no_file(client, settings, monkeypatch):
    order = await make_order()

    async def broken(*args, **kwargs):
        raise RuntimeError("database down")

    monkeypatch.setattr(specs.audit, "record", broken)
    with pytest.raises(RuntimeError):
        await specs.upload_variant(order["id"], label="A", original_name="a.png", data=PNG, size=None,
                                   actor=Actor.system(), upload_dir=settings.upload_dir)
    assert await LayoutVariant.count() == 0 and stored_files(settings.upload_dir) == []


@pytest.mark.parametrize("role", [Role.SALES_MANAGER, Role.SPEC_COORDINATOR, Role.CREDIT_CONTROLLER])
async def test_only_designers_and_admins_upload(client, settings, role):
    order = await make_order()
    await login(client, await make_staff(role))
    assert (await upload(client, order["id"], PNG)).status_code == 403
    assert await LayoutVariant.count() == 0 and stored_files(settings.upload_dir) == []


async def test_an_admin_uploads_and_a_client_user_cannot(client, settings):
    order = await make_order()
    await login(client, await make_staff(Role.ADMIN))
    assert (await upload(client, order["id"], PNG)).status_code == 303
    client.cookies.clear()
    await login(client, await make_client_user(order["client"]))
    assert (await upload(client, order["id"], JPEG, name="b.jpg")).status_code == 403
    assert (await client.get(f"/staff/orders/{order['id']}/variants/1")).status_code == 403
    assert await LayoutVariant.count() == 1


async def test_upload_to_an_unknown_order_is_404(client, settings):
    await login(client, await make_staff(Role.DESIGNER))
    assert (await upload(client, 999999, PNG)).status_code == 404
    assert stored_files(settings.upload_dir) == []


# --- the spec ----------------------------------------------------------------------------------

async def test_send_freezes_version_1_and_an_edit_after_sending_makes_version_2(client, settings):
    coordinator = await make_staff(Role.SPEC_COORDINATOR, name="Cora Coordinator")
    order = await make_order(stage="layout")
    a = await add_variant(order["id"], settings.upload_dir, label="A")
    b = await add_variant(order["id"], settings.upload_dir, label="B", data=PDF, name="b.pdf")
    await login(client, coordinator)
    base = f"/staff/orders/{order['id']}"

    draft = {"materials": "PVC 0.76 mm", "finishing": "Gloss", "quantities": "5000", "contract_note": "", "variant_ids": [str(a), str(b)]}
    response = await post(client, f"{base}/spec", draft)
    assert response.status_code == 303 and response.headers["location"] == base
    response = await post(client, f"{base}/spec", {**draft, "finishing": "Matte"})  # the draft stays editable
    assert response.status_code == 303
    v1 = await TechnicalSpec.select().where(TechnicalSpec.order == order["id"]).output(load_json=True)
    assert len(v1) == 1 and v1[0]["version"] == 1 and v1[0]["status"] == "draft" and v1[0]["finishing"] == "Matte"
    assert v1[0]["variant_ids"] == [a, b] and v1[0]["created_by"] == coordinator["id"]

    response = await post(client, f"{base}/spec/send", {"version": "1"})
    assert response.status_code == 303 and response.headers["location"] == base
    v1 = await TechnicalSpec.select().where(TechnicalSpec.version == 1).first()
    assert v1["status"] == "sent" and v1["sent_by"] == coordinator["id"] and v1["sent_at"] is not None
    assert (await Order.select(Order.stage).where(Order.id == order["id"]).first())["stage"] == "spec_sent"
    sent_event = await AuditEvent.select().where(AuditEvent.action == "spec_sent").output(load_json=True).first()
    assert sent_event["after"]["version"] == 1 and sent_event["object_id"] == order["id"] and sent_event["client_id"] == order["client"]

    # version 1 is frozen: the form now makes version 2, copied from the last one
    page = await client.get(base)
    assert page.status_code == 200 and "makes version 2" in page.text and "Matte" in page.text
    response = await post(client, f"{base}/spec", {**draft, "finishing": "Soft-touch", "variant_ids": [str(b)]})
    assert response.status_code == 303
    rows = {r["version"]: r for r in await TechnicalSpec.select().output(load_json=True)}
    assert rows[1]["status"] == "sent" and rows[1]["finishing"] == "Matte"  # untouched
    assert rows[2]["status"] == "draft" and rows[2]["finishing"] == "Soft-touch" and rows[2]["variant_ids"] == [b]

    response = await post(client, f"{base}/spec/send", {"version": "2"})
    assert response.status_code == 303
    statuses = {r["version"]: r["status"] for r in await TechnicalSpec.select(TechnicalSpec.version, TechnicalSpec.status)}
    assert statuses == {1: "superseded", 2: "sent"}
    actions = [e["action"] for e in await specs.audit.timeline("order", order["id"])]
    assert actions.count("spec_sent") == 2 and "spec_draft_created" in actions and "spec_draft_saved" in actions
    page = await client.get(base)
    assert "Version 2" in page.text and "Superseded" in page.text and "Cora Coordinator" in page.text


async def test_save_and_send_in_one_go(client, settings):
    order = await make_order(stage="request")
    a = await add_variant(order["id"], settings.upload_dir)
    await login(client, await make_staff(Role.SPEC_COORDINATOR))
    response = await post(client, f"/staff/orders/{order['id']}/spec/send",
                          {"materials": "Paper 350 g", "finishing": "", "quantities": "1000", "contract_note": "", "variant_ids": str(a)})
    assert response.status_code == 303
    assert ["success", "Spec version 1 sent to the client."] in flashed(response)
    spec = await TechnicalSpec.select().first()
    assert spec["status"] == "sent" and spec["materials"] == "Paper 350 g"
    assert (await Order.select(Order.stage).first())["stage"] == "spec_sent"


async def test_a_spec_without_a_variant_cannot_be_sent(client, settings):
    order = await make_order(stage="layout")
    await add_variant(order["id"], settings.upload_dir)
    await login(client, await make_staff(Role.SPEC_COORDINATOR))
    base = f"/staff/orders/{order['id']}"
    form = {"materials": "PVC", "finishing": "Gloss", "quantities": "5000", "contract_note": "see contract"}
    response = await post(client, f"{base}/spec/send", form)
    assert response.status_code == 400
    assert "Choose at least one layout variant" in response.text
    assert "see contract" in response.text  # what was typed is kept
    assert await TechnicalSpec.count() == 0  # save-and-send is one transaction: nothing saved

    await post(client, f"{base}/spec", form)  # a draft without variants may be saved...
    response = await post(client, f"{base}/spec/send", {"version": "1"})  # ...but not sent
    assert response.status_code == 400 and "Choose at least one layout variant" in response.text
    assert (await TechnicalSpec.select(TechnicalSpec.status).first())["status"] == "draft"
    assert (await Order.select(Order.stage).first())["stage"] == "layout"


async def test_a_spec_takes_only_its_own_orders_variants(client, settings):
    order, other = await make_order(), await make_order()
    foreign = await add_variant(other["id"], settings.upload_dir)
    await login(client, await make_staff(Role.SPEC_COORDINATOR))
    response = await post(client, f"/staff/orders/{order['id']}/spec", {"materials": "PVC", "variant_ids": str(foreign)})
    assert response.status_code == 400 and "Choose among this order" in response.text
    assert await TechnicalSpec.count() == 0


async def test_only_coordinators_edit_and_send_the_spec(client, settings):
    order = await make_order()
    a = await add_variant(order["id"], settings.upload_dir)
    await login(client, await make_staff(Role.DESIGNER))
    assert (await post(client, f"/staff/orders/{order['id']}/spec", {"materials": "x", "variant_ids": str(a)})).status_code == 403
    assert (await post(client, f"/staff/orders/{order['id']}/spec/send", {"materials": "x", "variant_ids": str(a)})).status_code == 403
    assert await TechnicalSpec.count() == 0


async def test_the_spec_cannot_change_in_production(client, settings):
    order = await make_order(stage="in_production")
    a = await add_variant(order["id"], settings.upload_dir)
    await login(client, await make_staff(Role.SPEC_COORDINATOR))
    response = await post(client, f"/staff/orders/{order['id']}/spec/send", {"materials": "x", "variant_ids": str(a)})
    assert response.status_code == 400 and "cannot change once the order is in production" in response.text
    assert await TechnicalSpec.count() == 0


async def test_spec_context_lists_variants_and_versions_newest_first(client, settings):
    coordinator = await make_staff(Role.SPEC_COORDINATOR)
    order = await make_order()
    a = await add_variant(order["id"], settings.upload_dir, label="A")
    b = await add_variant(order["id"], settings.upload_dir, label="B")
    await sent_spec(order["id"], [a], coordinator)
    await specs.save_draft(order["id"], {"materials": "v2"}, [str(a), str(b)], staff_actor(coordinator))
    context = await specs.spec_context(order["id"])
    assert [v["label"] for v in context["variants"]] == ["A", "B"]
    assert [(s["version"], s["status"]) for s in context["specs"]] == [(2, "draft"), (1, "sent")]
    assert context["specs"][0]["variant_ids"] == [a, b] and context["spec_next_version"] == 2
    assert context["spec_values"]["materials"] == "v2"
