"""Staff pages for callbacks ("my tasks") and in-portal notifications.

Done and move answer an htmx request with the task's row (tasks/_row.html, the same partial
the lists are made of); a plain form post is redirected back, or on an error shown on the
task's own page. A task that is not the person's (and they are no admin) is a 404, exactly
like a task that does not exist: nobody learns which task ids exist.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Response, Template

from portal.clock import utcnow
from portal.dunning.escalation import prepayment
from portal.tasks import notifications, rules, service
from portal.web.flash import flash
from portal.web.forms import form_data
from portal.web.guards import staff_only
from portal.web.i18n import format_datetime, gettext as _
from portal.web.redirects import local_path
from portal.web.responses import actor, current_user, found_or_404, is_htmx, page, see_other

DEFAULT_BACK = "/staff/tasks"


def firm_timezone(request: Request) -> str:
    return request.app.state.settings.firm_timezone


def back_to(raw: str | None) -> str:
    """Where to return after a form: a local /staff path, else the task list."""
    return local_path((raw or "").strip(), DEFAULT_BACK, prefix="/staff")


def htmx_go_to(request: Request, target: str) -> dict[str, str]:
    """Send an htmx request's page to `target`. To the page it is on (whatever its #fragment),
    a redirect would only scroll, not reload; so that page is refreshed instead."""
    current = urlsplit(request.headers.get("hx-current-url", ""))
    wanted = urlsplit(target)
    if (current.path, current.query) == (wanted.path, wanted.query):
        return {"HX-Refresh": "true"}
    return {"HX-Redirect": target}


class TasksController(Controller):
    path = "/staff/tasks"
    guards = [staff_only]

    @get("/")
    async def index(self, request: Request) -> Template:
        user = current_user(request)
        tasks = await service.my_tasks(user.id, utcnow(), firm_timezone(request))
        return page("tasks/index.html", tasks=tasks, back=DEFAULT_BACK)

    @post("/")
    async def create(self, request: Request) -> Response:
        form = await form_data(request)
        back = back_to(form.get("back"))
        tz = firm_timezone(request)
        task_id, checked = await prepayment.schedule_callback(form, actor(request), tz=tz)
        if task_id is None:
            client_id = rules.parse_id(form.get("client_id", ""))
            order_id = rules.parse_id(form.get("order_id", ""))
            context = {
                "client_id": client_id or "", "order_id": order_id or "", "back": back, "values": form,
                "errors": checked.errors, **await service.subject_names(client_id, order_id),
            }
            if is_htmx(request):  # htmx swaps 2xx answers only: the form with its messages, in place
                return page("tasks/_callback_form.html", **context)
            return page("tasks/new.html", status_code=400, **context)
        flash(request, _("Callback scheduled for %(when)s.", when=format_datetime(checked.values["due_at"])))
        if is_htmx(request):
            return Response(content="", status_code=200, headers=htmx_go_to(request, back))
        return see_other(back)

    @post("/{task_id:int}/done")
    async def done(self, request: Request, task_id: int) -> Response:
        form = await form_data(request)
        user = current_user(request)
        try:
            checked = await prepayment.complete_callback(task_id, form.get("outcome", ""), actor(request), is_admin=user.is_admin)
        except service.TaskNotFound:
            raise NotFoundException() from None
        return await self._answer(request, task_id, form, checked.errors, _("Callback done."))

    @post("/{task_id:int}/move")
    async def move(self, request: Request, task_id: int) -> Response:
        form = await form_data(request)
        user = current_user(request)
        try:
            checked = await prepayment.move_callback(task_id, form, actor(request), tz=firm_timezone(request), is_admin=user.is_admin)
        except service.TaskNotFound:
            raise NotFoundException() from None
        message = "" if not checked.ok else _("Callback moved to %(when)s.", when=format_datetime(checked.values["due_at"]))
        return await self._answer(request, task_id, form, checked.errors, message)

    async def _answer(self, request: Request, task_id: int, form: dict[str, str], errors: dict[str, str], message: str) -> Response:
        task = found_or_404(await service.get_task(task_id, now=utcnow(), tz=firm_timezone(request)))
        back = back_to(form.get("back"))
        context = {"task": task, "errors": errors, "values": form if errors else {}, "back": back, "just_changed": not errors,
                   "show_assignee": form.get("show_assignee") == "1"}
        if is_htmx(request):  # the row, updated in place (with its messages when something was wrong)
            return page("tasks/_row.html", **context)
        if errors:
            return page("tasks/task.html", status_code=400, **context)
        flash(request, message)
        return see_other(back)


class NotificationsController(Controller):
    path = "/staff/notifications"
    guards = [staff_only]

    @get("/")
    async def index(self, request: Request) -> Template:
        return page("tasks/notifications.html", items=await notifications.recent(current_user(request).id))

    @post("/{notification_id:int}/read")
    async def read(self, request: Request, notification_id: int) -> Response:
        user_id = current_user(request).id
        if not await notifications.mark_read(notification_id, user_id):
            raise NotFoundException()
        if is_htmx(request):
            return page("tasks/_notification_read.html", item=await notifications.get(notification_id, user_id),
                        count=await notifications.unread_count(user_id), oob=True)
        return see_other("/staff/notifications")
