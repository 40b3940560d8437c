"""Staff pages of the print-and-send register: the list, a letter's print page and PDF, marking a
letter sent, and the lawyers' case file (a legal hand-over's PDF, or any invoice's).

Every staff member reads the register and prints letters; credit controllers, negotiators (the
lawyers) and admins mark letters sent and open case files. A letter prints in its own language
(the client's); a case file prints in the reader's language with the invoice inside it exactly as
the client got it (billing/print_invoice.html, in the client's language). Mark sent answers htmx
with the letter's row (letters/_row.html), a plain post with a redirect back to the register.
"""

from __future__ import annotations

import re

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.response import Response, Template

from portal.billing.documents import pages as printed
from portal.clock import utcnow
from portal.dunning.letters import case_file, service as letters
from portal.web import i18n
from portal.web.flash import flash
from portal.web.guards import allowed, staff_only
from portal.web.i18n import gettext as _
from portal.web.responses import actor, current_user, found_or_404, is_htmx, page, see_other

HOME = "/staff/dunning/letters"
SENDERS = allowed("send_letters")
CASE_FILE_READERS = SENDERS
_INVOICE_STYLE = re.compile(r"<style>(.*?)</style>", re.S)
_INVOICE_SHEET = re.compile(r'<main class="sheet">(.*)</main>', re.S)


def _may_send(request: Request) -> bool:
    return current_user(request).can.send_letters


def _labels() -> dict:
    return {"kind_labels": letters.KIND_LABELS, "status_labels": letters.STATUS_LABELS}


def _row_context(request: Request, row: dict, **extra) -> dict:
    return {"r": row, "can_send": _may_send(request), **_labels(), **extra}


# --- rendering the documents -----------------------------------------------------------------

def _settings(request: Request):
    return request.app.state.settings


def render_letter(request: Request, document: dict, *, for_pdf: bool) -> str:
    """The letter's HTML in the letter's language (the request's language is put back afterwards)."""
    letter_id = document["letter"]["id"]
    previous = i18n.current_language()
    i18n.set_language(document["letter"]["language"])
    try:
        return request.app.template_engine.get_template("letters/print_letter.html").render(
            **document, for_pdf=for_pdf, bank_details=_settings(request).bank_details, kind_labels=letters.KIND_LABELS,
            back_url=HOME, pdf_url=f"{HOME}/{letter_id}/pdf",
        )
    finally:
        i18n.set_language(previous)


def invoice_parts(invoice_html: str) -> tuple[str, str]:
    """The printed invoice's style sheet and its sheet's content, to set inside the case file."""
    style, sheet = _INVOICE_STYLE.search(invoice_html), _INVOICE_SHEET.search(invoice_html)
    if style is None or sheet is None:
        raise RuntimeError("billing/print_invoice.html no longer has one <style> and one <main class=\"sheet\">")
    return style.group(1), sheet.group(1)


def render_case_file(request: Request, facts: dict, *, for_pdf: bool, back_url: str, pdf_url: str) -> str:
    """The case file's HTML in the reader's language, with the invoice in the client's."""
    invoice_id = facts["invoice"]["id"]
    invoice_html = printed.render_document(request, facts, for_pdf=True, base_path=f"/staff/invoices/{invoice_id}")
    invoice_style, invoice_sheet = invoice_parts(invoice_html)
    return request.app.template_engine.get_template("letters/print_case_file.html").render(
        **facts, for_pdf=for_pdf, invoice_style=invoice_style, invoice_sheet=invoice_sheet,
        bank_details=_settings(request).bank_details, back_url=back_url, pdf_url=pdf_url,
    )


def _print_response(html: str) -> Response:
    return Response(content=html, media_type="text/html", headers={
        "Content-Security-Policy": printed.PAGE_POLICY, "Cache-Control": "private, no-cache",
    })


async def _case_file_facts(request: Request, invoice_id: int) -> dict:
    return found_or_404(await case_file.case_file(invoice_id, tz=_settings(request).firm_timezone, now=utcnow()))


def _check_case_file_reader(request: Request) -> None:
    if not _may_send(request):
        raise PermissionDeniedException("case file")


async def _letter_html(request: Request, letter_id: int, *, for_pdf: bool) -> tuple[str, str]:
    """The HTML of a letter's printed form (a case file for a legal hand-over) and its PDF's name."""
    letter = found_or_404(await letters.get_letter(letter_id))
    filename = letters.pdf_filename(letter["invoice_code"], letter["kind"])
    if letter["kind"] == letters.CASE_FILE:
        _check_case_file_reader(request)
        facts = await _case_file_facts(request, letter["invoice"])
        html = render_case_file(request, facts, for_pdf=for_pdf, back_url=HOME, pdf_url=f"{HOME}/{letter_id}/pdf")
        return html, filename
    document = found_or_404(await letters.letter_document(letter_id, tz=_settings(request).firm_timezone))
    return render_letter(request, document, for_pdf=for_pdf), filename


# --- the controllers -------------------------------------------------------------------------

class LettersController(Controller):
    path = HOME
    guards = [staff_only]

    @get("/")
    async def index(self, request: Request, kind: str = "", status: str = "", cursor: str = "") -> Template:
        current_kind, current_status = letters.kind_filter(kind), letters.status_filter(status)
        return page(
            "letters/_list.html" if is_htmx(request) else "letters/register.html",
            page=await letters.register(current_kind, current_status, cursor or None),
            counts=await letters.register_counts(), current_kind=current_kind, current_status=current_status,
            can_send=_may_send(request), **_labels(),
        )

    @get("/{letter_id:int}/print")
    async def print_page(self, request: Request, letter_id: int) -> Response:
        html, _filename = await _letter_html(request, letter_id, for_pdf=False)
        return _print_response(html)

    @get("/{letter_id:int}/pdf")
    async def pdf(self, request: Request, letter_id: int) -> Response:
        html, filename = await _letter_html(request, letter_id, for_pdf=True)
        return await printed.pdf_answer(request, html, filename)

    @post("/{letter_id:int}/sent", guards=[SENDERS])
    async def mark_sent(self, request: Request, letter_id: int) -> Response:
        try:
            result = await letters.mark_sent(letter_id, actor(request))
        except letters.LetterNotFound:
            raise NotFoundException() from None
        row = found_or_404(await letters.get_letter(letter_id))
        problem = "" if result.sent else _("This letter was already marked sent on %(date)s.",
                                           date=i18n.format_datetime(row["sent_at"]))
        if is_htmx(request):  # the row, updated in place
            return page("letters/_row.html", **_row_context(request, row, row_error=problem, just_changed=result.sent))
        if result.sent:
            flash(request, _("Marked sent: %(subject)s.", subject=row["subject"]))
        else:
            flash(request, problem, "error")
        return see_other(HOME)


class InvoiceCaseFileController(Controller):
    """Any invoice's case file, whether or not the ladder handed it over."""

    path = "/staff/invoices/{invoice_id:int}"
    guards = [CASE_FILE_READERS]

    @get("/case-file.pdf")
    async def case_file_pdf(self, request: Request, invoice_id: int) -> Response:
        facts = await _case_file_facts(request, invoice_id)
        html = render_case_file(request, facts, for_pdf=True, back_url=f"/staff/invoices/{invoice_id}",
                                pdf_url=f"/staff/invoices/{invoice_id}/case-file.pdf")
        return await printed.pdf_answer(request, html, letters.pdf_filename(facts["invoice"]["code"], letters.CASE_FILE))
