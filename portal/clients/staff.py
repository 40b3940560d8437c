"""Staff pages for client companies: list, detail with timeline, create and edit, contacts, portal users."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.response import Response, Template

from portal.accounts import service as accounts
from portal.audit import service as audit
from portal.clients import rules, service
from portal.dunning.escalation import state as escalation_state
from portal.dunning.ladders import service as dunning_ladders
from portal.dunning.sanctions import service as sanctions
from portal.money import CURRENCIES
from portal.negotiation.disputes import service as disputes
from portal.tasks import service as tasks_service
from portal.web.flash import flash
from portal.web.forms import form_data
from portal.web.guards import allowed, staff_only
from portal.web.i18n import gettext as _
from portal.web.responses import actor, found_or_404, is_htmx, page, see_other
from portal.web.sorting import parse_sort

EDITORS = allowed("edit_clients")


async def _form_context(values: dict[str, str], errors: dict[str, str]) -> dict:
    return {
        "values": values,
        "errors": errors,
        "currency_options": [(c, c) for c in CURRENCIES],
        "manager_options": [(str(m["id"]), m["name"]) for m in await service.sales_managers()],
    }


async def _detail_context(client_id: int, **extra) -> dict:
    client = found_or_404(await service.get_client(client_id))
    return {
        "client": client,
        "contacts": await service.contacts_of(client_id),
        "portal_users": await accounts.client_users(client_id),
        "timeline": await audit.timeline("client", client_id, client_id=client_id),
        "callbacks": await tasks_service.open_for_client(client_id),
        "sanctions_history": await sanctions.sanction_history(client_id),
        "dunning_ladder": await dunning_ladders.client_ladder(client_id),
        "worst_escalation": await escalation_state.worst_for_client(client_id),
        "discipline": await disputes.payment_discipline(client_id),
        "contact_values": {},
        "contact_errors": {},
        "user_values": {},
        "user_errors": {},
        **extra,
    }


class ClientsController(Controller):
    path = "/staff/clients"
    guards = [staff_only]

    @get("/")
    async def index(self, request: Request, q: str = "", segment: str = "", privileged: bool = False, sort: str = "",
                    cursor: str = "") -> Template:
        order = parse_sort(sort, service.CLIENT_SORTS, "name")
        result = await service.list_clients(search=q.strip(), segment=segment, privileged=privileged, cursor=cursor or None, sort=order)
        context = {"page": result, "q": q.strip(), "segment": segment, "privileged": privileged, "segments": rules.SEGMENTS,
                   "sort": order}
        if is_htmx(request) and request.headers.get("hx-target") == "client-list":
            return page("clients/_list.html", **context)
        return page("clients/index.html", **context)

    @get("/new", guards=[EDITORS])
    async def new(self) -> Template:
        defaults = {"currency": "EUR", "payment_terms_days": "30", "credit_limit": "0", "discount": "0",
                    "service_priority": "2", "segment": "B", "forgiveness_days": "0", "language": "en"}
        return page("clients/form.html", client=None, **await _form_context(defaults, {}))

    @post("/new", guards=[EDITORS])
    async def create(self, request: Request) -> Response:
        form = await form_data(request)
        client_id, checked = await service.create_client(form, actor(request))
        if client_id is None:
            return page("clients/form.html", status_code=400, client=None, **await _form_context(form, checked.errors))
        flash(request, _("Client %(name)s created.", name=checked.values["name"]))
        return see_other(f"/staff/clients/{client_id}")

    @post("/validate", guards=[EDITORS], status_code=200)
    async def validate(self, request: Request) -> Template:
        """Inline validation: re-render the one field that changed, with its message."""
        form = await form_data(request)
        checked = await service.check_client_form(form)
        name = request.headers.get("hx-trigger-name", "")
        if name not in rules.CLIENT_FIELDS:
            name = "name"
        return page("clients/_field.html", field_name=name, **await _form_context(form, checked.errors))

    @get("/{client_id:int}")
    async def detail(self, client_id: int) -> Template:
        return page("clients/detail.html", **await _detail_context(client_id))

    @get("/{client_id:int}/edit", guards=[EDITORS])
    async def edit(self, client_id: int) -> Template:
        client = found_or_404(await service.get_client(client_id))
        return page("clients/form.html", client=client, **await _form_context(service.client_form_values(client), {}))

    @post("/{client_id:int}/edit", guards=[EDITORS])
    async def update(self, request: Request, client_id: int) -> Response:
        client = found_or_404(await service.get_client(client_id))
        form = await form_data(request)
        checked = await service.update_client(client_id, form, actor(request))
        if not checked.ok:
            return page("clients/form.html", status_code=400, client=client, **await _form_context(form, checked.errors))
        flash(request, _("Changes to %(name)s saved.", name=checked.values["name"]))
        return see_other(f"/staff/clients/{client_id}")

    @post("/{client_id:int}/contacts", guards=[EDITORS])
    async def add_contact(self, request: Request, client_id: int) -> Response:
        found_or_404(await service.get_client(client_id))
        form = await form_data(request)
        checked = await service.add_contact(client_id, form, actor(request))
        if checked.ok:
            flash(request, _("Contact %(name)s added.", name=checked.values["name"]))
            return see_other(f"/staff/clients/{client_id}#contacts")
        context = await _detail_context(client_id, contact_values=form, contact_errors=checked.errors)
        return page("clients/detail.html", status_code=400, **context)

    @post("/{client_id:int}/contacts/{contact_id:int}/delete", guards=[EDITORS])
    async def remove_contact(self, request: Request, client_id: int, contact_id: int) -> Response:
        found_or_404(await service.remove_contact(client_id, contact_id, actor(request)) or None)
        flash(request, _("Contact removed."), "info")
        return see_other(f"/staff/clients/{client_id}#contacts")

    @post("/{client_id:int}/users", guards=[EDITORS])
    async def add_portal_user(self, request: Request, client_id: int) -> Response:
        found_or_404(await service.get_client(client_id))
        form = await form_data(request)
        user_id, checked = await accounts.create_from_form(form, staff=False, client_id=client_id, actor=actor(request))
        if user_id is None:
            form.pop("password", None)
            context = await _detail_context(client_id, user_values=form, user_errors=checked.errors)
            return page("clients/detail.html", status_code=400, **context)
        flash(request, _("%(email)s can now log in to the portal.", email=checked.values["email"]))
        return see_other(f"/staff/clients/{client_id}#portal-users")
