"""The staff invoices list (filters, overdue buckets, keyset pages, per-currency totals) and an invoice's page."""

from __future__ import annotations

import re

from portal import settlement
from portal.auth.roles import Role
from portal.billing import service as billing
from portal.billing.rules import Line
from portal.billing.tables import Invoice
from tests.billing.staff_helpers import SYSTEM, codes_in, issue, next_link, pay
from tests.factories import login, make_client, make_client_user, make_staff, post


async def as_staff(client, role: Role = Role.CREDIT_CONTROLLER, name: str | None = None) -> dict:
    user = await make_staff(role, name=name)
    await login(client, user)
    return user


async def listed(client, query: str = "") -> list[str]:
    response = await client.get(f"/staff/invoices?{query}")
    assert response.status_code == 200, response.text
    return codes_in(response.text)


async def test_sixty_invoices_page_by_page_each_once_in_due_date_order(client):
    company = await make_client()
    # due dates repeat (three invoices a day), so the order within a day is by id
    invoices = [await issue(company, due_in=-40 + n // 3) for n in range(60)]
    await as_staff(client)
    expected = [i["code"] for i in sorted(invoices, key=lambda i: (i["due_date"], i["id"]))]
    seen, url, pages = [], "/staff/invoices?status=open", 0
    while url:
        response = await client.get(url)
        assert response.status_code == 200
        seen += codes_in(response.text)
        pages += 1
        url = next_link(response.text)
        if url:
            assert "Next page" in response.text
    assert pages == 3
    assert seen == expected  # every invoice once, in order, nothing skipped on a page boundary


async def test_status_client_manager_currency_and_code_filters(client):
    anna = await make_staff(Role.SALES_MANAGER, name="Anna Manager")
    alfa = await make_client("Alfa SRL", sales_manager=str(anna["id"]))
    beta = await make_client("Beta SRL", currency="EUR")
    open_ron = await issue(alfa)
    paid_ron = await issue(alfa)
    await pay(paid_ron)
    cancelled = await issue(alfa)
    credit_note = await settlement.cancel_invoice(cancelled["id"], "Duplicate", SYSTEM)
    open_eur = await issue(beta, currency="EUR")
    await as_staff(client)

    assert set(await listed(client)) == {open_ron["code"], open_eur["code"]}  # open is the default
    assert set(await listed(client, "status=paid")) == {paid_ron["code"]}
    assert set(await listed(client, "status=cancelled")) == {cancelled["code"], credit_note["code"]}
    assert len(await listed(client, "status=all")) == 5
    assert set(await listed(client, f"status=all&client={beta}")) == {open_eur["code"]}
    assert set(await listed(client, f"manager={anna['id']}")) == {open_ron["code"]}
    assert set(await listed(client, "status=all&currency=EUR")) == {open_eur["code"]}
    number = open_eur["code"].rsplit("-", 1)[1].lstrip("0")
    assert await listed(client, f"status=all&q={number}") == [open_eur["code"]]
    assert await listed(client, f"status=all&q={open_ron['code'].lower()}") == [open_ron["code"]]
    # nonsense in the query string is simply not a filter
    assert set(await listed(client, "status=weird&client=abc&currency=XYZ&overdue=soon")) == {open_ron["code"], open_eur["code"]}


async def test_overdue_buckets_and_days_overdue(client):
    company = await make_client()
    by_days = {days: await issue(company, due_in=-days) for days in (-5, 0, 1, 30, 31, 60, 61, 90, 91, 200)}
    paid_late = await issue(company, due_in=-45)
    await pay(paid_late)
    await as_staff(client)
    codes = {days: inv["code"] for days, inv in by_days.items()}

    def of(*days: int) -> set[str]:
        return {codes[d] for d in days}

    assert set(await listed(client, "overdue=not_due")) == of(-5, 0)
    assert set(await listed(client, "overdue=1_30")) == of(1, 30)
    assert set(await listed(client, "overdue=31_60")) == of(31, 60)
    assert set(await listed(client, "overdue=61_90")) == of(61, 90)
    assert set(await listed(client, "overdue=90_plus")) == of(91, 200)
    assert set(await listed(client, "overdue=overdue")) == of(1, 30, 31, 60, 61, 90, 91, 200)
    assert paid_late["code"] not in await listed(client, "status=all&overdue=31_60")  # a paid invoice is not overdue

    page = (await client.get("/staff/invoices?overdue=90_plus")).text
    row = page[page.index(f'data-invoice="{codes[200]}"'):]
    assert re.search(r'class="num days-overdue">\s*<span class="badge badge-danger">200</span>', row)


async def test_totals_per_currency_cover_the_whole_filtered_set(client):
    company = await make_client()
    for _ in range(30):  # more than a page
        await issue(company, unit_minor=10000, vat_bp=0)  # 100.00 RON each
    partly = await issue(company, unit_minor=10000, vat_bp=0)
    await pay(partly, 2550)
    for _ in range(2):
        await issue(company, currency="EUR", unit_minor=5000, vat_bp=1900)  # 59.50 EUR each
    await as_staff(client)
    page = (await client.get("/staff/invoices")).text
    totals = page[page.index('id="invoice-totals"'):]
    ron = totals[totals.index('data-currency="RON"'):].split("</tr>")[0]
    eur = totals[totals.index('data-currency="EUR"'):].split("</tr>")[0]
    assert ">31<" in ron and "RON3,100.00" in ron and "RON3,074.50" in ron
    assert ">2<" in eur and "€119.00" in eur
    # filtered: only EUR
    eur_only = (await client.get("/staff/invoices?currency=EUR")).text
    assert 'data-currency="RON"' not in eur_only and 'data-currency="EUR"' in eur_only


async def test_filtering_with_htmx_answers_only_the_list(client):
    company = await make_client()
    invoice = await issue(company)
    await as_staff(client)
    response = await client.get("/staff/invoices?q=" + invoice["code"], headers={"hx-request": "true", "hx-target": "invoice-list"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="invoice-list">') and "<html" not in response.text
    assert codes_in(response.text) == [invoice["code"]]
    full = await client.get("/staff/invoices")
    assert "<html" in full.text and 'id="invoice-list"' in full.text and 'hx-target="#invoice-list"' in full.text


async def test_empty_states(client):
    await as_staff(client)
    assert "No open invoices" in (await client.get("/staff/invoices")).text
    assert "No invoices yet" in (await client.get("/staff/invoices?status=all")).text
    await issue(await make_client())
    assert "No invoice matches these filters" in (await client.get("/staff/invoices?q=NOPE")).text


async def test_the_sidebar_and_the_dashboard_tiles_lead_to_the_list(client):
    await issue(await make_client(), due_in=-3)
    await as_staff(client)
    dashboard = (await client.get("/staff")).text
    assert 'href="/staff/invoices"' in dashboard
    assert 'href="/staff/invoices?status=open"' in dashboard
    assert 'href="/staff/invoices?status=open&amp;overdue=overdue"' in dashboard
    assert len(await listed(client, "status=open&overdue=overdue")) == 1


async def test_invoice_page_shows_lines_totals_payments_order_and_history(client):
    from tests.orders.test_pipeline import make_order

    order = await make_order("spec_sent")
    invoice = await Invoice.select().where(Invoice.order == order["id"]).first()
    lines = [Line("Gift boxes, 4+0", 250, 480, 1900), Line("Die cutting form", 1, 35000, 900)]
    extra = await issue(order["client"], lines=lines)
    await pay(extra, 10000, reference="OP 4411")
    await as_staff(client, Role.SALES_MANAGER, name="Ioana Casieru")
    await post(client, f"/staff/invoices/{extra['id']}/payments",
               {"amount": "50", "received_on": str(extra["issue_date"]), "method": "cash", "reference": "Receipt 7"})
    page = (await client.get(f"/staff/invoices/{extra['id']}")).text
    assert "Gift boxes, 4+0" in page and "Die cutting form" in page
    # 250 x 4.80 = 1,200.00 net + 228.00 VAT; 350.00 + 31.50 VAT; total 1,809.50
    for text in ("RON1,200.00", "RON228.00", "RON1,428.00", "RON350.00", "RON31.50", "RON1,809.50", "19%", "9%"):
        assert text in page, text
    payments = page[page.index('id="payments"'):page.index('id="timeline"')]
    assert "OP 4411" in payments and "RON100.00" in payments and "Bank transfer" in payments
    assert "Receipt 7" in payments and "RON50.00" in payments and "Cash" in payments
    assert "Ioana Casieru" in payments  # who recorded it
    assert "RON1,659.50" in page  # still to pay
    history = page[page.index('id="timeline"'):]
    assert "Invoice issued" in history and history.count("Payment recorded") == 2

    order_invoice_page = (await client.get(f"/staff/invoices/{invoice['id']}")).text
    assert f'href="/staff/orders/{order["id"]}"' in order_invoice_page and order["number"] in order_invoice_page


async def test_a_missing_invoice_is_a_404(client):
    await as_staff(client)
    assert (await client.get("/staff/invoices/424242")).status_code == 404


async def test_a_client_user_is_refused_on_every_staff_invoice_route(client):
    company = await make_client()
    invoice = await issue(company)
    payment = await pay(invoice, 1000)
    await login(client, await make_client_user(company))
    gets = ["/staff/invoices", f"/staff/invoices/{invoice['id']}", f"/staff/clients/{company}/payments/new"]
    posts = [f"/staff/invoices/{invoice['id']}/payments", f"/staff/invoices/{invoice['id']}/cancel",
             f"/staff/invoices/{invoice['id']}/payments/{payment.payment_id}/reverse", f"/staff/clients/{company}/payments"]
    for url in gets:
        assert (await client.get(url)).status_code == 403, url
    for url in posts:
        assert (await post(client, url, {"amount": "1", "reason": "x"})).status_code == 403, url
    assert (await billing.get_invoice(invoice["id"]))["paid_minor"] == 1000


async def test_roles_that_do_not_handle_money_read_but_do_not_act(client):
    company = await make_client()
    invoice = await issue(company)
    await as_staff(client, Role.DESIGNER)
    page = await client.get(f"/staff/invoices/{invoice['id']}")
    assert page.status_code == 200 and "Record a payment" not in page.text
    response = await post(client, f"/staff/invoices/{invoice['id']}/payments",
                          {"amount": "1", "received_on": str(invoice["issue_date"]), "method": "cash"})
    assert response.status_code == 403
    assert (await post(client, f"/staff/invoices/{invoice['id']}/cancel", {"reason": "x"})).status_code == 403
    assert (await client.get(f"/staff/clients/{company}/payments/new")).status_code == 403
    assert (await billing.get_invoice(invoice["id"]))["status"] == "issued"


async def _all_pages(client, url: str) -> list[str]:
    seen = []
    while url:
        response = await client.get(url)
        assert response.status_code == 200
        seen += codes_in(response.text)
        url = next_link(response.text)
    return seen


async def test_the_list_sorts_by_total_or_number_either_way_and_pages_stay_whole(client):
    company = await make_client()
    # totals repeat (a tie is ordered by id, each way), across three pages
    invoices = [await issue(company, unit_minor=10_000 * (1 + n % 7), due_in=5 - n % 3) for n in range(55)]
    await as_staff(client)
    by_total = sorted(invoices, key=lambda i: (i["total_minor"], i["id"]))
    assert await _all_pages(client, "/staff/invoices?sort=total") == [i["code"] for i in by_total]
    assert await _all_pages(client, "/staff/invoices?sort=-total") == [i["code"] for i in reversed(by_total)]
    assert await _all_pages(client, "/staff/invoices?sort=-number") == sorted((i["code"] for i in invoices), reverse=True)
    issued = sorted(invoices, key=lambda i: (i["issue_date"], i["id"]), reverse=True)
    assert await _all_pages(client, "/staff/invoices?sort=-issued") == [i["code"] for i in issued]


async def test_a_sorted_header_says_so_and_its_link_turns_the_order_and_keeps_the_filters(client):
    company = await make_client()
    await issue(company)
    await as_staff(client)
    page = (await client.get(f"/staff/invoices?client={company}&sort=total")).text
    header = re.search(r'<th class="sortable num" aria-sort="ascending"><a class="sort-link" href="([^"]+)">Total', page)
    assert header, "the Total header says it sorts upwards"
    assert f"client={company}" in header.group(1) and "sort=-total" in header.group(1)
    assert 'name="sort" value="total"' in page  # the filters keep the order
    assert "aria-sort" not in page.split("Due</a>")[0].rsplit("<th", 1)[1]  # the Due header is not sorted now
    unknown = await client.get("/staff/invoices?sort=drop table")
    assert unknown.status_code == 200 and 'aria-sort="ascending"><a class="sort-link" href="/staff/invoices?' in unknown.text


async def test_the_subtitle_names_the_order_only_when_it_is_the_due_date(client):
    await as_staff(client)
    assert "the oldest due first" in (await client.get("/staff/invoices")).text
    assert "the oldest due first" not in (await client.get("/staff/invoices?sort=-total")).text
