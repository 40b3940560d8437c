"""Pure validation of what credit controllers type about ladders: a ladder's name, a step's
schedule and channel, a step's wording in one language. No I/O: the service checks what needs
the database (a name already taken, a position already used).

A step's wording may use only the placeholders of rules.PLACEHOLDERS ({client}, {amount} ...):
anything else is refused with the list of what is allowed, so a typo never reaches a client.
"""

from __future__ import annotations

import datetime as dt
import re
import string

from portal.dunning.engine import rules
from portal.messages import N_
from portal.web.forms import Checked
from portal.web.i18n import format_date, format_money, gettext as _, ngettext

MAX_NAME = 120
MAX_DESCRIPTION = 2000
MAX_SUBJECT = 300
MAX_BODY = 5000
MIN_OFFSET, MAX_OFFSET = -60, 365
MAX_DEADLINE = 365
MAX_POSITION = 9999
NEEDS_DEADLINE = ("formal_claim", "court_warning", "negotiation")
STEP_FIELDS = ("name", "position", "offset_days", "time_of_day", "channel", "assignee", "sanction", "deadline_days",
               "skip_if_deferral")
TEMPLATE_FIELDS = ("subject", "body")
INTEGER = re.compile(r"^[+-]?\d{1,6}$")
TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
CHECKED = ("on", "true", "1", "yes")
DEBT, PREPAYMENT = "debt", "prepayment"
PURPOSES = {DEBT: N_("Overdue invoices"), PREPAYMENT: N_("Orders waiting for their prepayment")}
# An unpaid prepayment means the order is not produced, nothing more: its ladder only reminds.
PREPAYMENT_CHANNELS = ("email", "call", "portal_notice")


def _integer(raw: str) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if INTEGER.match(raw) else None


def parse_time_of_day(raw: str) -> str | None:
    """'9:05' or '09:05' -> '09:05'; None for anything that is not a time of day."""
    match = TIME.match((raw or "").strip())
    if not match:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours > 23 or minutes > 59:
        return None
    return f"{hours:02d}:{minutes:02d}"


def check_ladder(form: dict[str, str]) -> Checked:
    out = Checked()
    out.name(form, _("Give the ladder a name."), limit=MAX_NAME)
    out.values["purpose"] = form.get("purpose", "") or DEBT
    if out.values["purpose"] not in PURPOSES:
        out.errors["purpose"] = _("Choose what the ladder is for.")
    out.values["description"] = form.get("description", "")
    if len(out.values["description"]) > MAX_DESCRIPTION:
        out.errors["description"] = _("Keep the description under %(n)s characters.", n=MAX_DESCRIPTION)
    return out


def check_step(form: dict[str, str], *, position_required: bool = False, purpose: str = DEBT) -> Checked:
    """A step's schedule, channel and who does it. An empty position means "after the last step".
    A prepayment ladder's step only reminds (PREPAYMENT_CHANNELS)."""
    out = Checked()
    v, e = out.values, out.errors
    out.name(form, _("Give the step a name."), limit=MAX_NAME)

    raw_position = form.get("position", "")
    v["position"] = None
    if raw_position or position_required:
        position = _integer(raw_position)
        if position is None or not 1 <= position <= MAX_POSITION:
            e["position"] = _("Enter a position from 1 to %(max)s.", max=MAX_POSITION)
        v["position"] = position

    offset = _integer(form.get("offset_days", ""))
    if offset is None or not MIN_OFFSET <= offset <= MAX_OFFSET:
        e["offset_days"] = _("Enter whole days from %(low)s (before the due date) to %(high)s (after it).",
                             low=MIN_OFFSET, high=MAX_OFFSET)
    v["offset_days"] = offset

    time_of_day = parse_time_of_day(form.get("time_of_day", ""))
    if time_of_day is None:
        e["time_of_day"] = _("Enter a time of day from 00:00 to 23:59, e.g. 10:00.")
    v["time_of_day"] = time_of_day

    channel = form.get("channel", "")
    if channel not in rules.CHANNELS:
        e["channel"] = _("Choose one of the channels.")
    elif purpose == PREPAYMENT and channel not in PREPAYMENT_CHANNELS:
        e["channel"] = _("A prepayment ladder only reminds: by email, by a call or by a notice in the portal. "
                         "Sanctions, letters and court are for overdue debt.")
    v["channel"] = channel

    assignee = form.get("assignee", "")
    if assignee not in rules.ASSIGNEES:
        e["assignee"] = _("Choose who does this step.")
    v["assignee"] = assignee

    sanction = form.get("sanction", "")
    if channel == "sanction" and sanction not in rules.SANCTIONS:
        e["sanction"] = _("Choose which sanction this step applies.")
    elif channel != "sanction" and sanction:
        e["sanction"] = _("Only a sanction step applies a sanction: choose “none”, or make the channel a sanction.")
    v["sanction"] = sanction if channel == "sanction" else ""

    raw_deadline = form.get("deadline_days", "") or "0"
    deadline = _integer(raw_deadline)
    if deadline is None or not 0 <= deadline <= MAX_DEADLINE:
        e["deadline_days"] = _("Enter whole days from 0 to %(max)s.", max=MAX_DEADLINE)
    elif channel in NEEDS_DEADLINE and deadline == 0:
        e["deadline_days"] = _("This channel gives the client (or the manager) a period: enter its days.")
    v["deadline_days"] = deadline

    v["skip_if_deferral"] = form.get("skip_if_deferral", "").lower() in CHECKED
    return out


def unknown_placeholders(text: str) -> list[str] | None:
    """The {names} in `text` that are no placeholder of ours, as typed; None when the braces
    do not pair up (a lone '{' or '}'; write '{{' for a brace itself)."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        return None
    unknown = []
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        typed = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        if (name not in rules.PLACEHOLDERS or spec or conversion) and typed not in unknown:
            unknown.append(typed)
    return unknown


def allowed_placeholders() -> str:
    return ", ".join("{" + p + "}" for p in rules.PLACEHOLDERS)


def check_template(form: dict[str, str]) -> Checked:
    """One language's wording of a step: subject (one line) and body."""
    out = Checked()
    for part, limit in (("subject", MAX_SUBJECT), ("body", MAX_BODY)):
        text = form.get(part, "")
        if part == "subject":
            text = " ".join(text.split())
        out.values[part] = text
        if len(text) > limit:
            out.errors[part] = _("Keep it under %(n)s characters.", n=limit)
            continue
        unknown = unknown_placeholders(text)
        if unknown is None:
            out.errors[part] = _("A brace is not closed. Write placeholders like {amount}; for a brace itself write {{ or }}.")
        elif unknown:
            out.errors[part] = ngettext(
                "Unknown placeholder %(names)s. You can use: %(allowed)s.",
                "Unknown placeholders %(names)s. You can use: %(allowed)s.",
                len(unknown), names=", ".join(unknown), allowed=allowed_placeholders(),
            )
    if not out.errors and out.values["subject"] and not out.values["body"]:
        out.errors["body"] = _("Write the text too, or clear the subject to remove this language.")
    elif not out.errors and out.values["body"] and not out.values["subject"]:
        out.errors["subject"] = _("Write a subject (a call's task title) too.")
    return out


def timing_label(offset_days: int, time_of_day: str) -> str:
    """'day -3 at 10:00 (3 days before due)' in words, in the reader's language."""
    if offset_days < 0:
        relation = ngettext("%(num)s day before due", "%(num)s days before due", -offset_days)
    elif offset_days == 0:
        relation = _("on the due date")
    else:
        relation = ngettext("%(num)s day after due", "%(num)s days after due", offset_days)
    day = f"+{offset_days}" if offset_days > 0 else str(offset_days)
    return _("day %(day)s at %(time)s (%(relation)s)", day=day, time=time_of_day, relation=relation)


def step_form_values(step: dict) -> dict[str, str]:
    """A stored step as the edit form shows it."""
    return {
        "name": step["name"], "position": str(step["position"]), "offset_days": str(step["offset_days"]),
        "time_of_day": step["time_of_day"], "channel": step["channel"], "assignee": step["assignee"],
        "sanction": step["sanction"] or "", "deadline_days": str(step["deadline_days"]),
        "skip_if_deferral": "on" if step["skip_if_deferral"] else "",
    }


def sample_values(step_name: str, firm: str, deadline_days: int) -> dict[str, str]:
    """What the preview fills the placeholders with: a made-up invoice three days overdue."""
    return {
        "client": "Carpatia Retail SRL", "invoice": "INV-2026-00042", "amount": format_money(1_250_000, "RON"),
        "due_date": format_date(dt.date(2026, 3, 2)), "due_status": ngettext("%(num)s day overdue", "%(num)s days overdue", 3),
        "days_overdue": "3", "days_late": ngettext("%(num)s day", "%(num)s days", 3),
        "deadline": format_date(dt.date(2026, 3, 5 + max(0, min(deadline_days, 26)))),
        "firm": firm, "step": step_name,
    }


PLACEHOLDER_HINTS = (
    ("client", N_("the client's name")),
    ("invoice", N_("the invoice number")),
    ("amount", N_("what is still owed, with its currency")),
    ("due_date", N_("the invoice's due date")),
    ("due_status", N_("when it is due, in words: “due today”, “due in 3 days”, “3 days overdue”")),
    ("days_overdue", N_("days past the due date, as a number")),
    ("days_late", N_("days past the due date, in words: “1 day”, “3 days”")),
    ("deadline", N_("the date this step gives the client (claims, warnings) or the manager (negotiation)")),
    ("firm", N_("our firm's name")),
    ("step", N_("this step's name")),
)
