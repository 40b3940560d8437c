"""The credit controller's pages: the worklist with bulk actions, an invoice's escalation panel,
admins' approvals of legal steps, and lifting a pause."""

from __future__ import annotations

import datetime as dt

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Response, Template

from portal.clock import local_date, utcnow
from portal.dunning.engine import rules
from portal.dunning.escalation import state
from portal.dunning.escalation.tables import Pause
from portal.dunning.worklist import listing as worklist, service
from portal.web.flash import flash
from portal.web.forms import form_data
from portal.web.guards import allowed, staff_only
from portal.web.i18n import gettext as _, ngettext
from portal.web.local_input import date_input_value, parse_date
from portal.web.responses import actor, is_htmx, page, see_other

CONTROL = allowed("control_dunning")
ADMINS = allowed("decide_hand_overs")
BULK_ACTIONS = ("pause", "skip", "reassign")


def _tz(request: Request) -> str:
    return request.app.state.settings.firm_timezone


def _today(request: Request) -> dt.date:
    return local_date(utcnow(), _tz(request))


def _int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.lstrip("-").isdigit() and -1 <= int(raw) <= 2_147_483_647 and int(raw) != 0 else None


def _filters(request: Request) -> worklist.Filters:
    q = request.query_params
    paused = q.get("paused", "")
    return worklist.Filters(manager_id=_int(q.get("manager")), step_id=_int(q.get("step")), client_q=(q.get("q") or "").strip()[:100],
                            paused=paused if paused in ("yes", "no") else "")


async def _context(request: Request, **extra) -> dict:
    filters = _filters(request)
    today = _today(request)
    return {
        "filters": filters, "today": today,
        **await worklist.view(today, filters, request.query_params.get("cursor")),
        "channel_labels": rules.CHANNEL_LABELS, "errors": {}, "values": {}, "ticked": frozenset(), **extra,
    }


class DunningWorklistController(Controller):
    path = "/staff/dunning"
    guards = [staff_only]

    @get("/")
    async def index(self, request: Request) -> Template:
        context = await _context(request)
        if is_htmx(request) and request.headers.get("hx-target") == "worklist":
            return page("dunning/_worklist.html", **context)
        return page("dunning/worklist.html", **context)

    @get("/groups")
    async def groups(self, request: Request) -> Template:
        return page("dunning/_worklist_groups.html", groups=await worklist.groups(_today(request), _filters(request)))

    @post("/bulk", guards=[CONTROL])
    async def bulk(self, request: Request) -> Response:
        form = await request.form()
        ids = [int(v) for v in form.getall("invoice_ids", []) if isinstance(v, str) and v.isdigit() and len(v) <= 10]
        values = await form_data(request)
        action = values.get("action", "")
        who, tz = actor(request), _tz(request)
        try:
            if action == "pause":
                until = parse_date(values["until"]) if values.get("until") else None
                if values.get("until") and until is None:
                    raise ValueError(values["until"])
                n = await service.pause_many(ids, values.get("reason", ""), until, who, tz=tz)
                message = ngettext("%(num)s invoice paused.", "%(num)s invoices paused.", n)
            elif action == "skip":
                n = await service.skip_next_many(ids, values.get("reason", ""), who, tz=tz)
                message = ngettext("The next step of %(num)s invoice skipped.", "The next step of %(num)s invoices skipped.", n)
            elif action == "reassign":
                n = await service.reassign_many(ids, _int(values.get("user_id")) or 0, who)
                message = ngettext("%(num)s task reassigned.", "%(num)s tasks reassigned.", n)
            else:
                raise service.DunningError("Choose what to do with the ticked invoices.")
        except ValueError:
            return await self._refused(request, values, ids, _("Enter a date such as %(example)s.", example=date_input_value(_today(request))))
        except service.DunningError as exc:
            return await self._refused(request, values, ids, _(str(exc)))
        flash(request, message)
        query = request.url.query  # the worklist page the form was on (it posts with that page's query)
        return see_other(f"/staff/dunning?{query}" if query else "/staff/dunning")

    async def _refused(self, request: Request, values: dict, ids: list[int], message: str) -> Template:
        """The same page again (the form posts with the page's query), the same invoices ticked."""
        return page("dunning/worklist.html", status_code=400,
                    **await _context(request, errors={"bulk": message}, values=values, ticked=frozenset(ids)))

    @get("/invoices/{invoice_id:int}/escalation")
    async def escalation(self, request: Request, invoice_id: int) -> Template:
        data = await state.for_invoice(invoice_id, utcnow(), _tz(request))
        if data is None:
            raise NotFoundException()
        return page("dunning/_escalation.html", escalation=data, invoice_id=invoice_id)

    @post("/actions/{action_id:int}/approve", guards=[ADMINS])
    async def approve(self, request: Request, action_id: int) -> Response:
        return await self._decide(request, action_id, True)

    @post("/actions/{action_id:int}/refuse", guards=[ADMINS])
    async def refuse(self, request: Request, action_id: int) -> Response:
        return await self._decide(request, action_id, False)

    async def _decide(self, request: Request, action_id: int, approve: bool) -> Response:
        values = await form_data(request)
        try:
            action = await service.decide_approval(action_id, approve, values.get("reason", ""), actor(request))
        except LookupError:
            raise NotFoundException() from None
        except service.DunningError as exc:
            flash(request, _(str(exc)), "error")
            return see_other("/staff/dunning")
        flash(request, _("Approved: the hand-over goes ahead with the next tick.") if approve else _("Refused: the ladder stops here."))
        return see_other(f"/staff/invoices/{action['invoice']}#escalation")

    @post("/pauses/{pause_id:int}/lift", guards=[CONTROL])
    async def lift(self, request: Request, pause_id: int) -> Response:
        row = await Pause.select(Pause.invoice).where(Pause.id == pause_id).first()
        if row is None or not await service.lift(pause_id, actor(request)):
            raise NotFoundException()
        flash(request, _("Pause lifted: the ladder goes on with the next tick."))
        return see_other(f"/staff/invoices/{row['invoice']}#escalation")
