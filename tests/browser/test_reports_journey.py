"""The receivables reports as a credit controller meets them: the aging table redrawn by client when
the filter changes (htmx, the address kept for Back), a cell opened to the invoices behind it, and
the table downloaded as XLSX and opened with the library that wrote it."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_journeys import log_in, t

pytestmark = pytest.mark.browser
CONTROLLER = "cristina.credit@demo.example"


def test_aging_by_client_drill_down_and_the_xlsx_download(page: Page, portal_server, screenshot):
    page.goto("/login")
    log_in(page, CONTROLLER)
    page.get_by_role("link", name=t(page, "Reports"), exact=True).first.click()
    expect(page.locator("h1")).to_have_text(t(page, "Reports"))
    expect(page.locator("#aging-chart-title")).to_be_attached()
    screenshot(page, "80-reports-aging")

    page.get_by_label(t(page, "Rows by")).select_option("client")  # htmx redraws the report
    expect(page.locator("#aging-table thead th").first).to_have_text(t(page, "Client"))
    expect(page).to_have_url(re.compile(r"group=client"))
    first_client = page.locator("#aging-table tbody tr th a").first.text_content().strip()  # as typed, not as styled
    total_link = page.locator("#aging-table tbody tr").first.locator("td strong a")
    total_text = total_link.inner_text()
    screenshot(page, "81-reports-aging-by-client")

    total_link.click()
    expect(page.locator("#aging-invoices h2")).to_contain_text(first_client)
    rows = page.locator("#aging-invoices-table tbody tr")
    expect(rows.first).to_be_visible()
    codes = rows.locator("th a").all_inner_texts()
    assert codes and all(re.fullmatch(r"[A-Z]+-\d{4}-\d{5}", c) for c in codes)
    screenshot(page, "82-reports-drill-down")

    page.go_back()
    expect(page.locator("#aging-table thead th").first).to_have_text(t(page, "Client"))
    with page.expect_download() as download_info:
        page.locator("#report .exports a", has_text="XLSX").click()
    download = download_info.value
    assert re.fullmatch(r"aging-\d{4}-\d{2}-\d{2}\.xlsx", download.suggested_filename)
    workbook = openpyxl.load_workbook(io.BytesIO(download.path().read_bytes()))  # the saved file has no .xlsx name
    sheet = workbook.active
    header, *body = [row for row in sheet.iter_rows(values_only=True) if any(v is not None for v in row)]
    assert header[0] == t(page, "Client") and header[1] == t(page, "Currency")
    assert body[0][0] == first_client
    digits = re.sub(r"\D", "", total_text)
    assert f"{float(body[0][8]):.2f}".replace(".", "") == digits  # the page's total, as a number in the sheet
