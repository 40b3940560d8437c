"""The receivables summary the tick keeps: built from invoices and payments, month by month; a
backdated payment rebuilds the months from its date; a past day is recomputed and agrees with
the summary at a month's end. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from portal import settlement
from portal.audit.service import Actor
from portal.billing import service as billing
from portal.billing.rules import Line
from portal.reports.receivables import service as receivables, summary
from portal.reports.scope import Scope
from portal.reports.tables import ClientMonth, StepMonth, SummaryMark
from tests.factories import make_client

SYSTEM = Actor.system()
TZ = "Europe/Bucharest"
NOW = dt.datetime(2025, 6, 15, 10, 0, tzinfo=dt.UTC)  # the refresh's moment: 15 June 2025 in Bucharest
D = dt.date


async def invoice(client_id: int, issued: dt.date, total: int, currency: str = "RON") -> dict:
    return await billing.issue_invoice(client_id=client_id, currency=currency, lines=[Line("Labels", 1, total, 0)], issue_date=issued,
                                       terms_days=30, order_id=None, actor=SYSTEM)


async def pay(inv: dict, amount: int, day: dt.date) -> None:
    await settlement.record_payment(client_id=inv["client"], currency=inv["currency"], allocations=[(inv["id"], amount)],
                                    method="bank_transfer", received_on=day, reference="OP", actor=SYSTEM)


async def month_of(client_id: int, month: dt.date) -> dict:
    row = await ClientMonth.select().where((ClientMonth.client == client_id) & (ClientMonth.month == month)).first()
    assert row is not None, f"no summary row for {month}"
    return row


async def world() -> tuple[int, int, dict, dict]:
    alfa, beta = await make_client("Alfa SRL"), await make_client("Beta GmbH", currency="EUR")
    first = await invoice(alfa, D(2025, 3, 10), 100_000)  # due 9 April
    await pay(first, 40_000, D(2025, 4, 20))
    await pay(first, 60_000, D(2025, 5, 25))  # paid in full 46 days late
    second = await invoice(alfa, D(2025, 5, 5), 50_000)  # due 4 June, open
    await invoice(beta, D(2025, 1, 2), 20_000, "EUR")  # due 1 February, never paid
    return alfa, beta, first, second


async def test_each_month_holds_its_sales_collections_and_what_stood_open_at_its_end(db):
    alfa, beta, _, _ = await world()
    done = await summary.refresh(TZ, NOW)
    assert done.months == 6  # January to June 2025, the first build starts at the first invoice

    march, april, may, june = [await month_of(alfa, D(2025, m, 1)) for m in (3, 4, 5, 6)]
    assert (march["sales_minor"], march["invoices"], march["open_minor"], march["not_due_minor"]) == (100_000, 1, 100_000, 100_000)
    assert (april["collected_minor"], april["open_minor"], april["d1_30_minor"]) == (40_000, 60_000, 60_000)
    assert april["overdue_days_minor"] == 60_000 * 21 and april["as_of"] == D(2025, 4, 30)
    assert (may["sales_minor"], may["collected_minor"], may["open_minor"], may["not_due_minor"]) == (50_000, 60_000, 50_000, 50_000)
    assert (may["settled"], may["settled_on_time"], may["days_late"]) == (1, 0, 46)
    assert (june["as_of"], june["d1_30_minor"], june["open_minor"]) == (D(2025, 6, 15), 50_000, 50_000)

    buckets = {}
    for m in range(1, 7):
        row = await month_of(beta, D(2025, m, 1))
        buckets[m] = next(k for k in ("not_due", "d1_30", "d31_60", "d61_90", "d91_180") if row[f"{k}_minor"] == 20_000)
        assert row["currency"] == "EUR" and row["open_minor"] == 20_000
    assert buckets == {1: "not_due", 2: "d1_30", 3: "d31_60", 4: "d61_90", 5: "d91_180", 6: "d91_180"}
    # the money came before any ladder step was taken
    steps = await StepMonth.select(StepMonth.month, StepMonth.step, StepMonth.amount_minor).order_by(StepMonth.month)
    assert [(s["month"], s["step"], s["amount_minor"]) for s in steps] == [(D(2025, 4, 1), None, 40_000), (D(2025, 5, 1), None, 60_000)]


async def test_nothing_new_rebuilds_nothing_and_a_backdated_payment_rebuilds_from_its_month(db):
    alfa, _, _, second = await world()
    await summary.refresh(TZ, NOW)
    assert (await summary.refresh(TZ, NOW)).months == 0

    await pay(second, 10_000, D(2025, 5, 31))  # recorded today, received at the end of May
    again = await summary.refresh(TZ, NOW)
    assert again.months == 2  # May and June
    assert (await month_of(alfa, D(2025, 5, 1)))["open_minor"] == 40_000
    assert (await month_of(alfa, D(2025, 5, 1)))["collected_minor"] == 70_000
    assert (await month_of(alfa, D(2025, 4, 1)))["open_minor"] == 60_000  # April untouched


async def test_a_new_day_rebuilds_the_month_of_the_last_refresh():
    mark = {"built_on": D(2025, 5, 30)}
    assert summary.dirty_from(mark, None, None, D(2025, 6, 2)) == D(2025, 5, 1)  # May's figures were as of the 30th
    assert summary.dirty_from(mark, None, None, D(2025, 5, 30)) is None
    assert summary.dirty_from(mark, None, D(2025, 2, 3), D(2025, 5, 30)) == D(2025, 2, 1)
    assert summary.dirty_from({"built_on": None}, D(2024, 7, 9), None, D(2025, 5, 30)) == D(2024, 7, 1)


async def test_a_past_day_is_recomputed_and_agrees_with_the_summary_at_a_month_end(db):
    alfa, beta, _, _ = await world()
    await summary.refresh(TZ, NOW)
    today = D(2025, 6, 15)
    on_20_april = await receivables.aging(D(2025, 4, 20), today, Scope(), "client")
    assert on_20_april.source == "recomputed"
    rows = {(r.key, r.currency): r.aging for r in on_20_april.rows}
    assert rows[(alfa, "RON")].amounts["d1_30"] == 60_000  # the payment of the 20th counts that day
    assert rows[(beta, "EUR")].amounts["d61_90"] == 20_000  # 78 days overdue

    from_summary = await receivables.aging(D(2025, 4, 30), today, Scope(), "client")
    assert from_summary.source == "summary"
    recomputed = await receivables._aging_recomputed(D(2025, 4, 30), Scope())
    assert {(r.key, r.currency): r.aging.amounts for r in from_summary.rows} == {k: v.amounts for k, v in recomputed.items()}

    by_currency = await receivables.aging(today, today, Scope(), "currency")
    assert by_currency.source == "summary"
    assert {r.currency: r.aging.total for r in by_currency.rows} == {"RON": 50_000, "EUR": 20_000}
    only_alfa = await receivables.aging(today, today, Scope(client=alfa), "currency")
    assert {r.currency for r in only_alfa.rows} == {"RON"}


async def test_the_invoices_behind_a_cell_with_their_balance_that_day(db):
    alfa, _, first, _ = await world()
    await summary.refresh(TZ, NOW)
    page = await receivables.aging_invoices(D(2025, 4, 30), Scope(client=alfa), "d1_30")
    assert [(r["id"], r["balance_minor"], r["days_overdue"]) for r in page.rows] == [(first["id"], 60_000, 21)]
    assert (await receivables.aging_invoices(D(2025, 4, 30), Scope(client=alfa), "d31_60")).rows == []


async def test_monthly_dso_and_cei_from_the_summary(db):
    alfa, _, _, _ = await world()
    await summary.refresh(TZ, NOW)
    months = (await receivables.months(Scope(client=alfa), D(2025, 6, 1), D(2025, 6, 15), count=4))["RON"]
    march, april, may, june = months
    assert march.dso == 31.0 and march.cei is None  # nothing was collectable yet: it all falls due in April
    # April: nothing invoiced, 60 000 open and overdue: counted back over March's 100 000 sales
    assert april.sales == 0 and april.dso == 30 + 0.6 * 31 and april.best_dso == 0.0
    assert april.cei == 40.0  # 40 000 of the 100 000 collectable came in
    assert may.cei == 100.0 and may.end_overdue == 0
    assert june.end_overdue == 50_000


async def test_building_a_few_clients_at_a_time_gives_the_same_rows(db):
    await world()
    await summary.refresh(TZ, NOW)
    at_once = await ClientMonth.select().order_by(ClientMonth.client, ClientMonth.month)
    await SummaryMark.update({SummaryMark.built_on: None, SummaryMark.last_invoice_id: 0, SummaryMark.last_payment_id: 0}).where(
        SummaryMark.id > 0)
    done = await summary.refresh(TZ, NOW, clients_per_pass=1)  # one client per pass
    one_by_one = await ClientMonth.select().order_by(ClientMonth.client, ClientMonth.month)
    assert done.rows == len(one_by_one) + 2  # and the two step rows
    assert [{k: v for k, v in r.items() if k != "id"} for r in one_by_one] == [{k: v for k, v in r.items() if k != "id"} for r in at_once]


async def test_clients_come_a_page_at_a_time_biggest_balance_first(db):
    alfa, beta, _, _ = await world()
    gamma = await make_client("Gamma SRL")
    await invoice(gamma, D(2025, 6, 1), 70_000)
    await summary.refresh(TZ, NOW)
    seen, cursor = [], None
    while True:
        page = await receivables._aging_from_summary(D(2025, 6, 15), Scope(), "client", cursor, size=1)
        seen += [(r.currency, r.key, r.aging.total) for r in page.rows]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == [("EUR", beta, 20_000), ("RON", gamma, 70_000), ("RON", alfa, 50_000)]
    assert {c: a.total for c, a in page.totals.items()} == {"EUR": 20_000, "RON": 120_000}
