"""Staff calendar pages: a person's day or week of tasks, finishing a task with its outcome, the
private iCalendar link; and the feed itself, which is public (the token in its URL is the key).

Everyone sees their own calendar; admins and credit controllers may pick anyone's (others asking
for someone else's get 403). Done answers htmx with the task's calendar row, a plain post with a
redirect back (or, when something was wrong, the task on its own page).
"""

from __future__ import annotations

from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.response import Response, Template

from portal.calendar import feed as ical, rules, service as calendar
from portal.clock import local_date, utcnow
from portal.dunning.escalation import prepayment
from portal.dunning.reasons.service import active_reasons
from portal.tasks import service as tasks
from portal.tasks.rules import parse_id
from portal.tasks.staff import back_to
from portal.web.flash import flash
from portal.web.forms import form_data
from portal.web.guards import staff_only
from portal.web.i18n import format_date, gettext as _, set_language
from portal.web.responses import actor, current_user, found_or_404, is_htmx, page, see_other

HOME = "/staff/calendar"


def calendar_url(view: str, day, user_id: int | None = None) -> str:
    query = {"view": view, "date": day.isoformat()}
    if user_id:
        query["user"] = str(user_id)
    return f"{HOME}?{urlencode(query)}"


def _settings(request: Request):
    return request.app.state.settings


def _may_pick(request: Request) -> bool:
    me = current_user(request)
    return me.can.see_others_calendars


async def _feed_context(request: Request, token: str | None = None) -> dict:
    settings = _settings(request)
    token = token or await ical.feed_token(current_user(request).id, settings.secret_key)
    return {"feed_url": settings.base_url.rstrip("/") + ical.feed_path(token)}


def _row_context(request: Request, task: dict, back: str, reasons: list[dict], errors: dict | None = None,
                 values: dict | None = None, just_changed: bool = False, with_day: bool = False) -> dict:
    return {"task": task, "back": back, "reasons": reasons, "errors": errors or {}, "values": values or {},
            "just_changed": just_changed, "with_day": with_day, "kind_label": rules.kind_label,
            "takes_call_outcome": rules.takes_call_outcome}


class CalendarController(Controller):
    path = HOME
    guards = [staff_only]

    @get("/")
    async def index(self, request: Request) -> Template:
        me = current_user(request)
        tz, now = _settings(request).firm_timezone, utcnow()
        query = request.query_params
        view = rules.parse_view(query.get("view"))
        day = rules.parse_day(query.get("date"), local_date(now, tz))
        wanted = parse_id((query.get("user") or "").strip())
        person = {"id": me.id, "name": me.name}
        if wanted and wanted != me.id:
            if not _may_pick(request):
                raise PermissionDeniedException("calendar of another person")
            person = found_or_404(await calendar.staff_person(wanted))
        rng = rules.range_for(view, day, tz)
        user_param = person["id"] if person["id"] != me.id else None
        back = calendar_url(view, day, user_param)
        context = {
            "person": person, "own": person["id"] == me.id, "rng": rng, "view": view,
            "sections": await calendar.calendar(person["id"], rng, now, tz),
            "reasons": await active_reasons(),
            "choices": await calendar.staff_choices() if _may_pick(request) else [],
            "today": local_date(now, tz), "back": back, "kind_label": rules.kind_label,
            "takes_call_outcome": rules.takes_call_outcome,
            "links": {
                "previous": calendar_url(view, rng.previous, user_param),
                "following": calendar_url(view, rng.following, user_param),
                "today": calendar_url(view, local_date(now, tz), user_param),
                "day": calendar_url(rules.DAY, day, user_param),
                "week": calendar_url(rules.WEEK, day, user_param),
            },
            "day_link": lambda d: calendar_url(rules.DAY, d, user_param),
        }
        if context["own"]:
            context.update(await _feed_context(request))
        return page("calendar/calendar.html", **context)

    @post("/tasks/{task_id:int}/done")
    async def done(self, request: Request, task_id: int) -> Response:
        form = await form_data(request)
        me = current_user(request)
        settings = _settings(request)
        tz = settings.firm_timezone
        task = await calendar.task_for_actor(task_id, me.id, me.is_admin)
        if task is None:
            raise NotFoundException()
        try:
            if task["kind"] == rules.CALLBACK:
                checked = await prepayment.complete_callback(task_id, form.get("outcome", ""), actor(request), is_admin=me.is_admin)
            elif rules.takes_call_outcome(task):
                checked = await calendar.complete_with_outcome(
                    task_id, form, actor(request), tz=tz, grace_days=settings.promise_grace_days,
                    max_days=settings.max_promise_days, is_admin=me.is_admin,
                )
            else:
                checked = await calendar.complete_plain(task_id, form.get("outcome", ""), actor(request), is_admin=me.is_admin)
        except tasks.TaskNotFound:
            raise NotFoundException() from None
        row = found_or_404(await calendar.calendar_row(task_id, utcnow(), tz))
        back = back_to(form.get("back") or HOME)
        reasons = await active_reasons() if checked.errors else []
        context = _row_context(request, row, back, reasons, checked.errors, form if checked.errors else {},
                               just_changed=checked.ok, with_day=form.get("with_day") == "1")
        if is_htmx(request):  # the row in place: done and greyed, or the form with its messages
            return page("calendar/_row.html", **context)
        if checked.errors:
            return page("calendar/task.html", status_code=400, **context)
        promised = checked.values.get("promised")
        if promised:
            flash(request, _("Outcome recorded. The reminders wait for the payment promised by %(date)s.",
                             date=format_date(promised)))
        else:
            flash(request, _("Outcome recorded."))
        return see_other(back)

    @post("/feed")
    async def renew_feed(self, request: Request) -> Response:
        me = current_user(request)
        token = await ical.renew_token(me.id, actor(request), _settings(request).secret_key)
        if is_htmx(request):
            return page("calendar/_feed.html", renewed=True, **await _feed_context(request, token))
        flash(request, _("A new calendar link is ready; the old one no longer works."))
        return see_other(HOME)


@get("/calendar/{feed_token:str}", include_in_schema=False)
async def calendar_feed(request: Request, feed_token: str) -> Response:
    """The private feed: no login, the token is the key. Anything wrong is a plain 404."""
    settings = _settings(request)
    owner = await ical.feed_owner(feed_token, settings.secret_key)
    if owner is None:
        raise NotFoundException()
    set_language(owner["language"])
    body = await ical.feed_for(owner, base_url=settings.base_url, tz=settings.firm_timezone, firm_name=settings.firm_name)
    return Response(
        content=body, media_type="text/calendar",  # Litestar adds "; charset=utf-8"
        headers={"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"},
    )
