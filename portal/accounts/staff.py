"""Staff users admin: admins create staff accounts, change roles, deactivate, reset passwords."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.response import Response, Template

from portal.accounts import rules, service
from portal.accounts.pages import own_settings_form, save_own_settings
from portal.auth.roles import STAFF_ROLES, Role
from portal.web.flash import flash
from portal.web.forms import form_data
from portal.web.guards import allowed, staff_only
from portal.web.i18n import gettext as _
from portal.web.responses import actor, found_or_404, page, see_other


def _context(values: dict, errors: dict, **extra) -> dict:
    return {"values": values, "errors": errors, "roles": [r.value for r in STAFF_ROLES], **extra}


class StaffUsersController(Controller):
    path = "/staff/users"
    guards = [allowed("administer_users")]

    @get("/")
    async def index(self) -> Template:
        return page("accounts/index.html", users=await service.staff_users())

    @get("/new")
    async def new(self) -> Template:
        return page("accounts/form.html", **_context({"role": Role.SALES_MANAGER.value, "language": "en"}, {}, user=None))

    @post("/new")
    async def create(self, request: Request) -> Response:
        form = await form_data(request)
        user_id, checked = await service.create_from_form(form, staff=True, client_id=None, actor=actor(request))
        if user_id is None:
            form.pop("password", None)
            return page("accounts/form.html", status_code=400, **_context(form, checked.errors, user=None))
        flash(request, _("%(name)s can now log in.", name=checked.values["name"]))
        return see_other("/staff/users")

    @get("/{user_id:int}")
    async def edit(self, user_id: int) -> Template:
        user = found_or_404(await service.get_staff_user(user_id))
        values = {k: user[k] for k in ("name", "role", "language")} | {
            "is_legal": "on" if user["is_legal"] else "", "is_active": "on" if user["is_active"] else ""}
        return page("accounts/form.html", **_context(values, {}, user=user))

    @post("/{user_id:int}")
    async def update(self, request: Request, user_id: int) -> Response:
        user = found_or_404(await service.get_staff_user(user_id))
        form = await form_data(request)
        checked = await service.update_staff_user(user_id, form, actor(request))
        if not checked.ok:
            return page("accounts/form.html", status_code=400, **_context(form, checked.errors, user=user))
        flash(request, _("Changes to %(name)s saved.", name=checked.values["name"]))
        return see_other("/staff/users")

    @post("/{user_id:int}/password")
    async def reset_password(self, request: Request, user_id: int) -> Response:
        user = found_or_404(await service.get_staff_user(user_id))
        form = await form_data(request)
        problem = rules.check_password(form.get("password", ""), form.get("password_confirm", ""))
        if problem:
            values = {k: user[k] for k in ("name", "role", "language")} | {
                "is_legal": "on" if user["is_legal"] else "", "is_active": "on" if user["is_active"] else ""}
            return page("accounts/form.html", status_code=400, **_context(values, {"password": problem}, user=user))
        await service.set_password(user_id, form["password"], actor(request))
        flash(request, _("New password set; %(name)s must log in again.", name=user["name"]))
        return see_other("/staff/users")


class StaffAccountController(Controller):
    path = "/staff/account"
    guards = [staff_only]

    @get("/")
    async def show(self, request: Request) -> Template:
        return await own_settings_form(request, client_user=False)

    @post("/")
    async def save(self, request: Request) -> Response:
        return await save_own_settings(request, client_user=False)
