"""The invoice as a document: what the printable page shows, and that page rendered to PDF.

The document is the same for staff and for the client (one template, billing/print_invoice.html),
set in the CLIENT's language whoever opens it. PDFs come from WeasyPrint, which needs Debian's Pango
(`make install` / `make test` install it when run as root; see the README's "PDF" paragraph)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import anyio.to_thread

from portal.billing import rules
from portal.billing.rules import InvoiceKind
from portal.billing.tables import Invoice, InvoiceLine
from portal.clients.tables import Client
from portal.settings import ROOT

STATIC_DIR = ROOT / "static"
PANGO_HINT = ("WeasyPrint cannot load Pango: install the Debian packages libpango-1.0-0 libpangoft2-1.0-0 "
              "fonts-dejavu-core (`make install` does it when run as root)")


class PdfUnavailable(RuntimeError):
    """WeasyPrint or its system libraries are missing; the message says what to install."""


async def invoice_document(invoice_id: int, client_id: int | None = None) -> dict | None:
    """An invoice or credit note with what its printed form shows: lines, the client (name, tax id,
    address, language), the invoice a credit note cancels, what has been paid and what is still due.
    With `client_id`, None unless the document is that client's (as for a missing one)."""
    query = Invoice.select(Invoice.all_columns(), Invoice.order.number.as_alias("order_number")).where(Invoice.id == invoice_id)
    if client_id is not None:
        query = query.where(Invoice.client == client_id)
    invoice = await query.first()
    if invoice is None:
        return None
    client = await Client.select(
        Client.id, Client.name, Client.tax_id, Client.address, Client.email, Client.language, Client.currency,
    ).where(Client.id == invoice["client"]).first()
    lines = await InvoiceLine.select(
        InvoiceLine.position, InvoiceLine.description, InvoiceLine.quantity, InvoiceLine.unit_price_minor,
        InvoiceLine.vat_rate_bp, InvoiceLine.net_minor, InvoiceLine.vat_minor, InvoiceLine.total_minor,
    ).where(InvoiceLine.invoice == invoice_id).order_by(InvoiceLine.position)
    credited = None
    if invoice["credits_invoice"]:
        credited = await Invoice.select(Invoice.id, Invoice.code, Invoice.issue_date).where(
            (Invoice.id == invoice["credits_invoice"]) & (Invoice.client == invoice["client"])
        ).first()
    credit_note = await Invoice.select(Invoice.id, Invoice.code, Invoice.issue_date).where(
        (Invoice.credits_invoice == invoice_id) & (Invoice.kind == InvoiceKind.CREDIT_NOTE)
    ).order_by(Invoice.id).first()
    return {
        "invoice": invoice,
        "lines": lines,
        "client": client,
        "credited": credited,
        "credit_note": credit_note,
        "order_number": invoice["order_number"],
        # paid_minor is the sum of the invoice's payment allocations (billing.service keeps them together)
        "paid_minor": invoice["paid_minor"],
        "balance_minor": rules.balance_of(invoice["kind"], invoice["status"], invoice["total_minor"], invoice["paid_minor"]),
    }


def pdf_filename(invoice: dict) -> str:
    """INV-2026-00012.pdf: codes are letters, digits and dashes only, safe in a header."""
    return "".join(c for c in invoice["code"] if c.isalnum() or c in "-_") + ".pdf"


def _local_only(url: str, timeout: int = 10, ssl_context=None) -> dict:
    """WeasyPrint fetches nothing from the network: data: URIs and the portal's own /static files only."""
    from weasyprint.urls import default_url_fetcher  # WeasyPrint loads Pango when imported: only once a PDF is made

    if url.startswith("data:"):
        return default_url_fetcher(url, timeout=timeout, ssl_context=ssl_context)
    path = urlparse(url).path
    if path.startswith("/static/"):
        target = (STATIC_DIR / path.removeprefix("/static/")).resolve()
        if target.is_file() and target.is_relative_to(STATIC_DIR):
            return default_url_fetcher(Path(target).as_uri(), timeout=timeout, ssl_context=ssl_context)
    raise ValueError(f"the invoice PDF does not fetch {url}")


def _write_pdf(html: str, base_url: str) -> bytes:
    try:  # imported here, not at the top, so that a server without Pango still serves every page
        import weasyprint
    except OSError as exc:  # Pango missing: cffi cannot dlopen it
        raise PdfUnavailable(f"{PANGO_HINT} ({exc})") from exc
    return weasyprint.HTML(string=html, base_url=base_url, url_fetcher=_local_only).write_pdf()


async def render_pdf(html: str, base_url: str) -> bytes:
    """The HTML rendered to a PDF, in a worker thread (WeasyPrint takes a while and would block the event loop)."""
    return await anyio.to_thread.run_sync(_write_pdf, html, base_url)
