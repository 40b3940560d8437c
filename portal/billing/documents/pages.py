"""What the printed documents' pages share: the printable invoice (or credit note) and its PDF,
for staff and for the client who owns it, and the PDF answer every printed document uses.

Both render billing/print_invoice.html in the client's language, whoever asks. Client routes are
scoped by the logged-in user's company: another company's invoice answers 404 as a missing one."""

from __future__ import annotations

import base64
import hashlib
import logging

from litestar import Request, Response

from portal.billing.documents import service as documents
from portal.web import i18n

log = logging.getLogger("portal")

TEMPLATE = "billing/print_invoice.html"
PRINT_HANDLER = "window.print()"  # the Print button's inline handler, allowed by its hash alone
_PRINT_HASH = base64.b64encode(hashlib.sha256(PRINT_HANDLER.encode()).digest()).decode()
PAGE_POLICY = (f"default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
               f"script-src 'unsafe-hashes' 'sha256-{_PRINT_HASH}'; base-uri 'none'; form-action 'none'")
PDF_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:"


def render_document(request: Request, document: dict, *, for_pdf: bool, base_path: str) -> str:
    """The document's HTML in its client's language (the request's language is put back afterwards)."""
    settings = request.app.state.settings
    previous = i18n.current_language()
    i18n.set_language(document["client"]["language"])
    try:
        return request.app.template_engine.get_template(TEMPLATE).render(
            **document, for_pdf=for_pdf, bank_details=settings.bank_details,
            back_url=base_path, pdf_url=f"{base_path}/pdf",
        )
    finally:
        i18n.set_language(previous)


def print_response(request: Request, document: dict, base_path: str) -> Response:
    html = render_document(request, document, for_pdf=False, base_path=base_path)
    return Response(content=html, media_type="text/html", headers={
        "Content-Security-Policy": PAGE_POLICY, "Cache-Control": "private, no-cache",
    })


async def pdf_response(request: Request, document: dict, base_path: str) -> Response:
    html = render_document(request, document, for_pdf=True, base_path=base_path)
    return await pdf_answer(request, html, documents.pdf_filename(document["invoice"]))


async def pdf_answer(request: Request, html: str, filename: str) -> Response:
    """A printed page as a PDF (invoices, letters, case files, repayment schedules), or a plain
    503 when this server cannot make PDFs."""
    try:
        pdf = await documents.render_pdf(html, str(request.base_url))
    except documents.PdfUnavailable as exc:
        log.error("PDF %s unavailable: %s", filename, exc)
        return Response(content=f"The PDF cannot be made on this server: {exc}", media_type="text/plain", status_code=503)
    return Response(content=pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{filename}"',
        "Content-Security-Policy": PDF_POLICY,
        "Cache-Control": "private, no-cache",
    })
