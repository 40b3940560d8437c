"""The printable invoice and its PDF for staff (/staff/invoices/{id}/print, /pdf)."""

from __future__ import annotations

from litestar import Controller, Request, Response, get

from portal.billing.documents import service as documents
from portal.billing.documents.pages import pdf_response, print_response
from portal.web.guards import staff_only
from portal.web.responses import found_or_404


class StaffInvoiceDocuments(Controller):
    path = "/staff/invoices/{invoice_id:int}"
    guards = [staff_only]

    @get("/print")
    async def print_page(self, request: Request, invoice_id: int) -> Response:
        document = found_or_404(await documents.invoice_document(invoice_id))
        return print_response(request, document, f"/staff/invoices/{invoice_id}")

    @get("/pdf")
    async def pdf(self, request: Request, invoice_id: int) -> Response:
        document = found_or_404(await documents.invoice_document(invoice_id))
        return await pdf_response(request, document, f"/staff/invoices/{invoice_id}")
