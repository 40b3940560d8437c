"""/staff/bank: statements uploaded, what was booked, and the reconciliation queue worked with htmx
(Enter on a row confirms its suggestion); /staff/bank/accounts: the firm's accounts and their CSV columns."""

from __future__ import annotations

import datetime as dt

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.response import Response, Template

from portal.bank import forms, service
from portal.bank.formats import StatementError
from portal.billing import service as billing
from portal.money import CURRENCIES
from portal.orders.service import client_options
from portal.web.flash import flash
from portal.web.forms import form_data
from portal.web.guards import allowed
from portal.web.i18n import format_date, format_money, gettext as _
from portal.web.local_input import amount_input_value
from portal.web.responses import actor, found_or_404, is_htmx, page, see_other

RECONCILERS = allowed("reconcile_bank")
UPLOAD_BODY_LIMIT = service.MAX_FILE_BYTES + 1024 * 1024  # the file plus the form's other parts
BOOK_WHILE_WAITING = 250  # lines booked before the page answers (about 6 s); the tick books the rest


def reason_text(row: dict) -> str:
    """A match's reason in the reader's language (dates in the reader's format)."""
    if not row.get("reason_message"):
        return ""
    params = {k: (format_date(dt.date.fromisoformat(v)) if k == "date" and isinstance(v, str) else v)
              for k, v in (row.get("reason_params") or {}).items()}
    return _(row["reason_message"], **params)


def refusal_text(exc: Exception) -> str:
    """A refusal in the reader's language: its message id with its parameters."""
    return _(getattr(exc, "message", None) or str(exc), **getattr(exc, "params", {}))


async def _queue_context(account_id: int | None = None, cursor: str | None = None, **extra) -> dict:
    return {
        "accounts": await service.accounts(),
        "queue": await service.queue_page(account_id, cursor),
        "queue_count": await service.queue_count(),
        "imports": await service.imports(),
        "account_id": account_id,
        "reason_text": reason_text,
        "upload_errors": {},
        "upload_values": {},
        "result": None,
        **extra,
    }


class BankController(Controller):
    path = "/staff/bank"
    guards = [RECONCILERS]

    @get("/")
    async def index(self, request: Request, account: int | None = None, cursor: str = "", imported: int | None = None) -> Template:
        context = await _queue_context(account, cursor or None)
        if imported:
            context["result"] = next((i for i in context["imports"] if i["id"] == imported), None)
        if is_htmx(request) and request.headers.get("hx-target") == "bank-queue":
            return page("bank/_queue.html", **context)
        return page("bank/index.html", **context)

    @post("/import", request_max_body_size=UPLOAD_BODY_LIMIT)
    async def upload(self, request: Request) -> Response:
        try:
            form = await request.form()
        except RequestEntityTooLarge:
            return await self._refused({"file": _("The file is larger than %(limit)s MB.", limit=service.MAX_FILE_BYTES // (1024 * 1024))}, {})
        raw_account = form.get("account")
        values = {"account": raw_account if isinstance(raw_account, str) else ""}
        upload = form.get("file")
        account_id = int(values["account"]) if values["account"].isdigit() else None
        if values["account"] and (account_id is None or await service.get_account(account_id) is None):
            return await self._refused({"account": _("Choose the account the statement is for.")}, values)
        if not isinstance(upload, UploadFile) or not upload.filename:
            return await self._refused({"file": _("Choose a statement file: CAMT.053 or CAMT.054 (XML), MT940 or CSV.")}, values)
        try:
            data = await upload.read(service.MAX_FILE_BYTES + 1)  # never more than the limit in memory
            result = await service.import_file(account_id, data, upload.filename, actor(request), book_at_most=BOOK_WHILE_WAITING)
        except (service.BankError, StatementError) as exc:
            return await self._refused({"file": refusal_text(exc)}, values)
        finally:
            await upload.close()
        flash(request, _("Statement imported: %(lines)s transactions, %(booked)s booked, %(queued)s to reconcile, %(duplicates)s already imported.",
                         lines=result.lines, booked=result.booked, queued=result.queued, duplicates=result.duplicates))
        if result.booking_later:
            flash(request, _("%(count)s more matched transactions are being booked in the background; they leave the list within minutes.",
                             count=result.booking_later))
        return see_other(f"/staff/bank?imported={result.import_id}")

    async def _refused(self, errors: dict[str, str], values: dict) -> Template:
        return page("bank/index.html", status_code=400, **await _queue_context(upload_errors=errors, upload_values=values))

    # --- one queued line -----------------------------------------------------------------------

    async def _row(self, line_id: int, status_code: int = 200, **extra) -> Template:
        row = found_or_404(await service.line(line_id))
        return page("bank/_line.html", status_code=status_code, line=row, reason_text=reason_text, **extra)

    async def _done(self, request: Request, line_id: int, message: str) -> Response:
        if is_htmx(request):
            row = found_or_404(await service.line(line_id))
            return page("bank/_decided.html", line=row, message=message, queue_count=await service.queue_count())
        flash(request, message)
        return see_other("/staff/bank")

    @get("/lines/{line_id:int}")
    async def line(self, line_id: int) -> Template:
        return await self._row(line_id)

    @post("/lines/{line_id:int}/confirm")
    async def confirm(self, request: Request, line_id: int) -> Response:
        try:
            received = await service.confirm(line_id, actor(request))
        except LookupError:
            raise NotFoundException() from None
        except (service.BankError, billing.BillingError) as exc:
            return await self._row(line_id, status_code=400, error=refusal_text(exc))
        row = found_or_404(await service.line(line_id))
        message = _("Booked %(amount)s for %(client)s.", amount=format_money(received.allocated_minor, row["currency"]), client=row["client_name"])
        if received.credit_minor:
            message += " " + _("%(credit)s kept as the client's credit.", credit=format_money(received.credit_minor, row["currency"]))
        return await self._done(request, line_id, message)

    @get("/lines/{line_id:int}/split")
    async def split_form(self, line_id: int, client: int | None = None) -> Template:
        return await self._split_page(line_id, client, {}, {})

    async def _split_page(self, line_id: int, client_id: int | None, values: dict, errors: dict, status_code: int = 200) -> Template:
        row = found_or_404(await service.line(line_id))
        client_id = client_id or row["client"]
        invoices = await billing.open_invoices_of(client_id) if client_id else []
        invoices = [i for i in invoices if i["currency"] == row["currency"]]
        if not values:
            suggested = {s["invoice"]["id"]: s["amount_minor"] for s in row["suggested"]} if client_id == row["client"] else {}
            values = {f"part-{i['id']}": amount_input_value(suggested[i["id"]], row["currency"]) if i["id"] in suggested else "" for i in invoices}
        return page("bank/_split.html", status_code=status_code, line=row, client_id=client_id, invoices=invoices, values=values,
                    errors=errors, clients=await client_options(), reason_text=reason_text)

    @post("/lines/{line_id:int}/split")
    async def split(self, request: Request, line_id: int) -> Response:
        form = await form_data(request)
        client_id = int(form["client"]) if form.get("client", "").isdigit() else None
        if client_id is None:
            return await self._split_page(line_id, None, form, {"client": _("Choose the client who paid.")}, status_code=400)
        parts, errors = forms.split_parts(form, (found_or_404(await service.line(line_id)))["currency"])
        if errors:
            return await self._split_page(line_id, client_id, form, errors, status_code=400)
        try:
            checked = await service.split(line_id, parts, client_id, actor(request))
        except LookupError:
            raise NotFoundException() from None
        except (service.BankError, billing.BillingError) as exc:
            return await self._split_page(line_id, client_id, form, {"split": refusal_text(exc)}, status_code=400)
        if not checked.ok:
            return await self._split_page(line_id, client_id, form, {k: _(m) for k, m in checked.errors.items()}, status_code=400)
        row = found_or_404(await service.line(line_id))
        message = _("Booked over %(count)s invoices for %(client)s.", count=len(checked.allocations), client=row["client_name"])
        if checked.credit_minor:
            message += " " + _("%(credit)s kept as the client's credit.", credit=format_money(checked.credit_minor, row["currency"]))
        return await self._done(request, line_id, message)

    @post("/lines/{line_id:int}/credit")
    async def credit(self, request: Request, line_id: int) -> Response:
        form = await form_data(request)
        if not form.get("client", "").isdigit():
            return await self._split_page(line_id, None, form, {"client": _("Choose the client who paid.")}, status_code=400)
        try:
            amount = await service.credit(line_id, int(form["client"]), actor(request))
        except LookupError:
            raise NotFoundException() from None
        except (service.BankError, billing.BillingError) as exc:
            return await self._split_page(line_id, int(form["client"]), form, {"split": refusal_text(exc)}, status_code=400)
        row = found_or_404(await service.line(line_id))
        return await self._done(request, line_id, _("%(credit)s kept as %(client)s's credit.",
                                                    credit=format_money(amount, row["currency"]), client=row["client_name"]))

    @post("/lines/{line_id:int}/not-ours")
    async def not_ours(self, request: Request, line_id: int) -> Response:
        form = await form_data(request)
        try:
            await service.not_ours(line_id, form.get("note", ""), actor(request))
        except LookupError:
            raise NotFoundException() from None
        except service.BankError as exc:
            return await self._row(line_id, status_code=400, error=refusal_text(exc))
        return await self._done(request, line_id, _("Marked as not a client's payment."))


class BankAccountsController(Controller):
    path = "/staff/bank/accounts"
    guards = [RECONCILERS]

    @get("/")
    async def index(self) -> Template:
        return page("bank/accounts.html", accounts=await service.accounts(), **_account_form({}, {}))

    @post("/")
    async def create(self, request: Request) -> Response:
        form = await form_data(request)
        checked = forms.check_account(form)
        if checked.ok:
            try:
                await service.save_account(checked.values, actor(request))
            except service.BankError as exc:
                checked.errors["iban"] = refusal_text(exc)
        if not checked.ok:
            return page("bank/accounts.html", status_code=400, accounts=await service.accounts(), **_account_form(form, checked.errors))
        flash(request, _("Account %(name)s added.", name=checked.values["name"]))
        return see_other("/staff/bank/accounts")

    @get("/{account_id:int}")
    async def edit(self, account_id: int) -> Template:
        account = found_or_404(await service.get_account(account_id))
        return page("bank/account.html", account=account, **_account_form(forms.account_values(account), {}))

    @post("/{account_id:int}")
    async def update(self, request: Request, account_id: int) -> Response:
        account = found_or_404(await service.get_account(account_id))
        form = await form_data(request)
        checked = forms.check_account(form)
        if checked.ok:
            try:
                await service.save_account(checked.values, actor(request), account_id)
            except service.BankError as exc:
                checked.errors["iban"] = refusal_text(exc)
        if not checked.ok:
            return page("bank/account.html", status_code=400, account=account, **_account_form(form, checked.errors))
        flash(request, _("Account %(name)s saved.", name=checked.values["name"]))
        return see_other("/staff/bank/accounts")


def _account_form(values: dict, errors: dict) -> dict:
    return {
        "values": {"currency": "RON", "auto_book_threshold": "90", "delimiter": ";", "date_format": "%d.%m.%Y",
                   "decimal_separator": ",", "encoding": "utf-8", "skip_rows": "0", **values},
        "errors": errors,
        "currencies": list(CURRENCIES),
        "delimiters": list(forms.DELIMITERS),
        "date_formats": forms.DATE_FORMATS,
        "encodings": forms.ENCODINGS,
    }
