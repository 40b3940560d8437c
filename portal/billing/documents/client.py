"""The printable invoice and its PDF for the client who owns it (/client/invoices/{id}/print,
/pdf): another company's invoice answers 404 as a missing one."""

from __future__ import annotations

from litestar import Controller, Request, Response, get

from portal.billing.documents import service as documents
from portal.billing.documents.pages import pdf_response, print_response
from portal.web.guards import client_only
from portal.web.responses import current_user, found_or_404


class ClientInvoiceDocuments(Controller):
    path = "/client/invoices/{invoice_id:int}"
    guards = [client_only]

    @get("/print")
    async def print_page(self, request: Request, invoice_id: int) -> Response:
        document = found_or_404(await documents.invoice_document(invoice_id, current_user(request).client_id))
        return print_response(request, document, f"/client/invoices/{invoice_id}")

    @get("/pdf")
    async def pdf(self, request: Request, invoice_id: int) -> Response:
        document = found_or_404(await documents.invoice_document(invoice_id, current_user(request).client_id))
        return await pdf_response(request, document, f"/client/invoices/{invoice_id}")
