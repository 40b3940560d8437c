"""The printable repayment schedule (PDF): the firm, the client, the invoices, the accepted version's
installments and the signature (name, time, IP, how, version); before acceptance the version on the
table marked "not signed". Staff print any; a client only its own (another's, or a draft it was never
offered: 404)."""

from __future__ import annotations

import html
import shutil
import subprocess

import pytest

from portal.auth.roles import Role
from portal.negotiation.links import service as links
from portal.negotiation.schedules import service
from portal.negotiation.tables import Schedule
from tests.conftest import TEST_SECRET
from tests.factories import login, make_client, make_client_user, make_staff
from tests.negotiation.schedule_helpers import ctx_of, debtor, local_today, split

FIRM = "Carton Ploiești SA"
IDEAL = "IDEAL-TERMS-ONLY-STAFF"


@pytest.fixture
def settings(database_url, tmp_path):
    from portal.settings import load_settings

    return load_settings({
        "PORTAL_ENV": "test", "DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET,
        "PORTAL_VAR_DIR": str(tmp_path / "var"), "DB_POOL_SIZE": "0", "FIRM_NAME": FIRM,
    })


def pdf_text(pdf: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: install poppler-utils (`make test` does it when run as root)")
    done = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, timeout=60, check=True)
    return html.unescape(done.stdout.decode()).replace("\xa0", " ").replace("\u202f", " ")


def assert_pdf(response, filename: str) -> str:
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == f'inline; filename="{filename}"'
    assert response.content.startswith(b"%PDF-")
    return pdf_text(response.content)


async def offered(settings, *, ladder: bool = True) -> tuple[dict, int]:
    """A negotiator's schedule over two overdue invoices, in three installments, offered through a link."""
    d = await debtor(invoices=2, ladder=ladder)
    total = sum(i["total_minor"] for i in d["invoices"])
    rows = split(total, [10, 40, 70], local_today(settings))
    schedule_id = await service.draft(d["client_id"], [i["id"] for i in d["invoices"]], rows, "Three payments as agreed.",
                                      d["staff_actor"], ctx_of(settings))
    await service.save_preparation(schedule_id, IDEAL, "", "", d["staff_actor"])
    made = await links.create(schedule_id, d["staff_actor"], ctx_of(settings), secret=settings.secret_key, days=14)
    d["token"] = made.token
    return d, schedule_id


async def test_the_signed_schedule_shows_the_installments_and_the_signature(client, settings):
    d, schedule_id = await offered(settings)
    await links.accept(d["token"], "Ion Popescu", "203.0.113.7", ctx_of(settings), secret=settings.secret_key, max_failures=20)
    accepted_at = (await Schedule.select(Schedule.accepted_at).where(Schedule.id == schedule_id).first())["accepted_at"]

    await login(client, await make_staff(Role.CREDIT_CONTROLLER))
    text = assert_pdf(await client.get(f"/staff/schedules/{schedule_id}/print"), f"repayment-schedule-{schedule_id}-v1.pdf")
    client_name = (await service.get(schedule_id))["client_name"]
    assert FIRM in text and client_name in text
    assert all(i["code"] in text for i in d["invoices"])
    assert "SIGNED" in text and "NOT SIGNED" not in text  # the stamp (in capitals)
    assert "Ion Popescu" in text and "203.0.113.7" in text and "Share link" in text
    assert str(accepted_at.year) in text
    rows = (await service.versions_of(schedule_id))[0]["installments"]
    assert [r["amount_minor"] for r in rows] == [79334, 79333, 79333]  # 2 x 1 190,00 in three
    assert "793.34" in text and "793.33" in text and "2,380.00" in text
    assert IDEAL not in text

    # the client who signed prints it too
    await login(client, await make_client_user(d["client_id"]))
    mine = assert_pdf(await client.get(f"/client/schedules/{schedule_id}/print"), f"repayment-schedule-{schedule_id}-v1.pdf")
    assert "Ion Popescu" in mine and IDEAL not in mine


async def test_an_offer_not_yet_accepted_prints_as_not_signed(client, settings):
    _d, schedule_id = await offered(settings)
    await login(client, await make_staff(Role.NEGOTIATOR))
    text = assert_pdf(await client.get(f"/staff/schedules/{schedule_id}/print"), f"repayment-schedule-{schedule_id}-v1.pdf")
    assert "NOT SIGNED" in text and "Accepted by" not in text
    assert "This is version 1" in text


async def test_a_client_cannot_print_another_clients_schedule_or_an_unoffered_draft(client, settings):
    d, schedule_id = await offered(settings)
    other = await make_client("Alfa Cartons SRL")
    await login(client, await make_client_user(other))
    for path in (f"/client/schedules/{schedule_id}/print", "/client/schedules/999999/print"):
        response = await client.get(path)
        assert response.status_code == 404 and b"%PDF" not in response.content
        assert "We could not find that page." in response.text

    # the debtor's own draft, never offered: as if it did not exist
    invoice = d["invoices"][0]
    await service.reject(schedule_id, "client", "No.", d["client_actor"], client_id=d["client_id"])
    draft = await service.draft(d["client_id"], [invoice["id"]], split(invoice["total_minor"], [10, 40], local_today(settings)),
                                "", d["staff_actor"], ctx_of(settings))
    await login(client, await make_client_user(d["client_id"]))
    assert (await client.get(f"/client/schedules/{draft}/print")).status_code == 404
    assert (await client.get(f"/client/schedules/{schedule_id}/print")).status_code == 200  # its own, rejected: printable

    await login(client, await make_staff(Role.DESIGNER))
    assert (await client.get("/staff/schedules/999999/print")).status_code == 404
    assert (await client.get(f"/staff/schedules/{draft}/print")).status_code == 200
