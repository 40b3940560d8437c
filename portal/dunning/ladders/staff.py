"""Staff pages for dunning ladders: every staff member reads them; credit controllers (and
admins) change them.

A step's row (dunning/_step_row.html) is the same partial in the ladder page and in the htmx
answers: "Edit" swaps it to its form, "Save" swaps it back (or keeps the form with its messages).
Without htmx a mistake shows the whole ladder page with that step's form open, as typed.
"""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Response, Template

from portal.audit import service as audit
from portal.clients.rules import SEGMENTS
from portal.dunning.engine import rules
from portal.dunning.ladders import rules as ladder_rules, service as ladders
from portal.dunning.ladders.service import LadderNotFound
from portal.settings import LANGUAGES
from portal.web.flash import flash
from portal.web.forms import form_data
from portal.web.guards import allowed, staff_only
from portal.web.i18n import current_language, gettext as _, in_language
from portal.web.responses import actor, current_user, found_or_404, is_htmx, page, see_other

CHANGERS = allowed("control_dunning")
BASE = "/staff/dunning/ladders"
NEW_STEP_DEFAULTS = {"offset_days": "0", "time_of_day": "10:00", "channel": "email", "assignee": "manager",
                     "deadline_days": "0"}


def _options(purpose: str = ladder_rules.DEBT) -> dict:
    """The choices of the step forms, labelled in the reader's language (a prepayment ladder only reminds)."""
    channels = ladder_rules.PREPAYMENT_CHANNELS if purpose == ladder_rules.PREPAYMENT else rules.CHANNELS
    return {
        "channel_options": [(c, _(rules.CHANNEL_LABELS[c])) for c in channels],
        "assignee_options": [(a, _(rules.ASSIGNEE_LABELS[a])) for a in rules.ASSIGNEES],
        "sanction_options": [("", _("None"))] + [(s, _(rules.SANCTION_LABELS[s])) for s in rules.SANCTIONS],
        "channel_labels": rules.CHANNEL_LABELS, "assignee_labels": rules.ASSIGNEE_LABELS,
        "sanction_labels": rules.SANCTION_LABELS,
    }


def _can_change(request: Request) -> bool:
    return current_user(request).can.control_dunning


def _id_or_none(raw: str) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


async def _index_context(request: Request, **extra) -> dict:
    return {"ladders": await ladders.list_ladders(), "segment_ladders": await ladders.segment_ladders(),
            "segments": SEGMENTS, "can_change": _can_change(request), "values": {}, "errors": {},
            "purposes": ladder_rules.PURPOSES, "purpose_options": [(k, _(v)) for k, v in ladder_rules.PURPOSES.items()], **extra}


async def _ladder_context(request: Request, ladder_id: int, **extra) -> dict:
    ladder = found_or_404(await ladders.get_ladder(ladder_id))
    context = {
        "ladder": ladder, "can_change": _can_change(request), "editing": None, "step_values": {}, "step_errors": {},
        "add_values": NEW_STEP_DEFAULTS, "add_errors": {},
        "ladder_values": {"name": ladder["name"], "description": ladder["description"]}, "ladder_errors": {},
        "timeline": await audit.timeline("ladder", ladder_id, limit=50), "placeholders": ladder_rules.PLACEHOLDER_HINTS,
        "purposes": ladder_rules.PURPOSES, **_options(ladder["purpose"]),
    }
    context.update(extra)
    return context


async def _step_or_404(ladder_id: int, step_id: int) -> dict:
    return found_or_404(await ladders.get_step(ladder_id, step_id))


def _row(request: Request, ladder_id: int, step: dict, *, editing: bool, values=None, errors=None) -> Template:
    purpose = step.get("ladder_purpose", ladder_rules.DEBT)
    return page("dunning/_step_row.html", ladder={"id": ladder_id, "purpose": purpose}, step=step, row_editing=editing,
                can_change=_can_change(request), row_errors=errors or {},
                row_values=values if values is not None else ladder_rules.step_form_values(step), **_options(purpose))


class LaddersController(Controller):
    path = BASE
    guards = [staff_only]

    @get("/")
    async def index(self, request: Request) -> Template:
        return page("dunning/ladders.html", **await _index_context(request))

    @post("/", guards=[CHANGERS])
    async def create(self, request: Request) -> Response:
        form = await form_data(request)
        ladder_id, checked = await ladders.create_ladder(form, actor(request))
        if ladder_id is None:
            return page("dunning/ladders.html", status_code=400, **await _index_context(request, values=form, errors=checked.errors))
        flash(request, _("Ladder %(name)s created: add its steps.", name=checked.values["name"]))
        return see_other(f"{BASE}/{ladder_id}")

    @post("/segments", guards=[CHANGERS])
    async def set_segment(self, request: Request) -> Response:
        form = await form_data(request)
        segment, ladder_id = form.get("segment", ""), _id_or_none(form.get("ladder_id", ""))
        if segment not in SEGMENTS or (form.get("ladder_id") and ladder_id is None):
            flash(request, _("Choose a segment and one of the ladders."), "error")
            return see_other(f"{BASE}#segments")
        try:
            changed = await ladders.set_segment_ladder(segment, ladder_id, actor(request))
        except LadderNotFound:
            flash(request, _("That ladder no longer exists; choose another."), "error")
            return see_other(f"{BASE}#segments")
        if changed:
            flash(request, _("Segment %(segment)s now follows its new ladder.", segment=segment))
        return see_other(f"{BASE}#segments")

    @post("/clients/{client_id:int}", guards=[CHANGERS])
    async def set_client(self, request: Request, client_id: int) -> Response:
        """Override the ladder of one client (an empty choice: back to its segment's)."""
        form = await form_data(request)
        raw = form.get("ladder_id", "")
        ladder_id = _id_or_none(raw) if raw else None
        if raw and ladder_id is None:
            ladder_id = 0  # no ladder has it: refused below as a ladder that does not exist
        back = f"/staff/clients/{client_id}#dunning-ladder"
        try:
            changed = await ladders.set_client_ladder(client_id, ladder_id, actor(request))
        except LadderNotFound:
            flash(request, _("That ladder no longer exists; choose another."), "error")
            return see_other(back)
        except LookupError:  # no such client
            raise NotFoundException() from None
        if changed:
            flash(request, _("This client now follows its own ladder.") if ladder_id else _("This client follows its segment's ladder again."))
        return see_other(back)

    @get("/{ladder_id:int}")
    async def detail(self, request: Request, ladder_id: int) -> Template:
        return page("dunning/ladders_ladder.html", **await _ladder_context(request, ladder_id))

    @post("/{ladder_id:int}", guards=[CHANGERS])
    async def update(self, request: Request, ladder_id: int) -> Response:
        form = await form_data(request)
        try:
            checked = await ladders.update_ladder(ladder_id, form, actor(request))
        except LadderNotFound:
            raise NotFoundException() from None
        if not checked.ok:
            context = await _ladder_context(request, ladder_id, ladder_values=form, ladder_errors=checked.errors)
            return page("dunning/ladders_ladder.html", status_code=400, **context)
        flash(request, _("Ladder saved."))
        return see_other(f"{BASE}/{ladder_id}")

    @post("/{ladder_id:int}/steps", guards=[CHANGERS])
    async def add_step(self, request: Request, ladder_id: int) -> Response:
        form = await form_data(request)
        try:
            step_id, checked = await ladders.add_step(ladder_id, form, actor(request))
        except LadderNotFound:
            raise NotFoundException() from None
        if step_id is None:
            context = await _ladder_context(request, ladder_id, add_values=form, add_errors=checked.errors)
            return page("dunning/ladders_ladder.html", status_code=400, **context)
        flash(request, _("Step “%(name)s” added.", name=checked.values["name"]))
        return see_other(f"{BASE}/{ladder_id}#step-{step_id}")

    @get("/{ladder_id:int}/steps/{step_id:int}")
    async def step_row(self, request: Request, ladder_id: int, step_id: int) -> Response:
        step = await _step_or_404(ladder_id, step_id)
        if is_htmx(request):  # "Cancel" of the inline edit: the row as it is
            return _row(request, ladder_id, step, editing=False)
        return see_other(f"{BASE}/{ladder_id}#step-{step_id}")

    @get("/{ladder_id:int}/steps/{step_id:int}/edit", guards=[CHANGERS])
    async def edit_step_form(self, request: Request, ladder_id: int, step_id: int) -> Template:
        step = await _step_or_404(ladder_id, step_id)
        if is_htmx(request):
            return _row(request, ladder_id, step, editing=True)
        context = await _ladder_context(request, ladder_id, editing=step_id, step_values=ladder_rules.step_form_values(step))
        return page("dunning/ladders_ladder.html", **context)

    @post("/{ladder_id:int}/steps/{step_id:int}", guards=[CHANGERS])
    async def save_step(self, request: Request, ladder_id: int, step_id: int) -> Response:
        form = await form_data(request)
        try:
            checked = await ladders.edit_step(ladder_id, step_id, form, actor(request))
        except LadderNotFound:
            raise NotFoundException() from None
        if is_htmx(request):  # htmx swaps 2xx answers only: the row, or its form with the messages
            step = await _step_or_404(ladder_id, step_id)
            if checked.ok:
                return _row(request, ladder_id, step, editing=False)
            return _row(request, ladder_id, step, editing=True, values=form, errors=checked.errors)
        if not checked.ok:
            context = await _ladder_context(request, ladder_id, editing=step_id, step_values=form, step_errors=checked.errors)
            return page("dunning/ladders_ladder.html", status_code=400, **context)
        flash(request, _("Step “%(name)s” saved.", name=checked.values["name"]))
        return see_other(f"{BASE}/{ladder_id}#step-{step_id}")

    @post("/{ladder_id:int}/steps/{step_id:int}/move", guards=[CHANGERS])
    async def move_step(self, request: Request, ladder_id: int, step_id: int) -> Response:
        form = await form_data(request)
        try:
            await ladders.move_step(ladder_id, step_id, form.get("direction", ""), actor(request))
        except LadderNotFound:
            raise NotFoundException() from None
        return see_other(f"{BASE}/{ladder_id}#step-{step_id}")

    @post("/{ladder_id:int}/steps/{step_id:int}/retire", guards=[CHANGERS])
    async def retire_step(self, request: Request, ladder_id: int, step_id: int) -> Response:
        step = await _step_or_404(ladder_id, step_id)
        try:
            outcome = await ladders.retire_step(ladder_id, step_id, actor(request))
        except LadderNotFound:
            raise NotFoundException() from None
        if outcome == "deleted":
            flash(request, _("“%(name)s” deleted: it had never been taken.", name=step["name"]), "info")
        else:
            flash(request, _("“%(name)s” retired: its history stays, it is not taken again.", name=step["name"]), "info")
        return see_other(f"{BASE}/{ladder_id}#steps")

    @get("/{ladder_id:int}/steps/{step_id:int}/templates")
    async def wording(self, request: Request, ladder_id: int, step_id: int, language: str = "en") -> Template:
        step = await _step_or_404(ladder_id, step_id)
        language = language if language in LANGUAGES else "en"
        current = step["templates"].get(language) or {"subject": "", "body": ""}
        return page("dunning/ladders_template.html", **await self._wording_context(request, ladder_id, step, language, current, {}))

    @post("/{ladder_id:int}/steps/{step_id:int}/templates", guards=[CHANGERS])
    async def save_wording(self, request: Request, ladder_id: int, step_id: int) -> Response:
        form = await form_data(request)
        step = await _step_or_404(ladder_id, step_id)
        language = form.get("language", "")
        try:
            checked = await ladders.save_template(ladder_id, step_id, language, form, actor(request))
        except LadderNotFound:
            raise NotFoundException() from None
        if not checked.ok:
            language = language if language in LANGUAGES else "en"
            context = await self._wording_context(request, ladder_id, step, language, form, checked.errors)
            return page("dunning/ladders_template.html", status_code=400, **context)
        flash(request, _("Wording saved."))
        return see_other(f"{BASE}/{ladder_id}/steps/{step_id}/templates?language={language}")

    @post("/{ladder_id:int}/steps/{step_id:int}/preview")
    async def preview(self, request: Request, ladder_id: int, step_id: int) -> Template:
        """The live preview beside the editor: the wording filled with sample values."""
        form = await form_data(request)
        step = await _step_or_404(ladder_id, step_id)
        return page("dunning/_step_preview.html", **self._preview(request, step, form))

    @staticmethod
    def _preview(request: Request, step: dict, form: dict) -> dict:
        checked = ladder_rules.check_template(form)
        firm = request.app.state.settings.firm_name
        language = str(form.get("language") or "")
        language = language if language in LANGUAGES else current_language()
        with in_language(language):  # the sample written as the wording's language writes dates and money
            values = ladder_rules.sample_values(step["name"], firm, step["deadline_days"])
        shown = rules.render({"subject": checked.values["subject"], "body": checked.values["body"]}, values)
        return {"preview": shown, "preview_errors": checked.errors}

    async def _wording_context(self, request: Request, ladder_id: int, step: dict, language: str, values: dict,
                               errors: dict) -> dict:
        ladder = found_or_404(await ladders.get_ladder(ladder_id))
        return {
            "ladder": ladder, "step": step, "language": language, "languages": LANGUAGES, "values": values, "errors": errors,
            "can_change": _can_change(request), "placeholders": ladder_rules.PLACEHOLDER_HINTS,
            "english": step["templates"].get("en") if language != "en" else None,
            **self._preview(request, step, {"language": language, **values}), **_options(),
        }

