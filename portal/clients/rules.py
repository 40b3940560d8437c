"""Pure validation of client companies and their contacts."""

from __future__ import annotations

import re

from portal.messages import N_
from portal.money import CURRENCIES
from portal.settings import LANGUAGES
from portal.web.forms import Checked
from portal.web.i18n import gettext as _
from portal.web.local_input import amount_input_value, parse_amount

SEGMENTS = ("A", "B", "C")
PRIORITIES = (1, 2, 3)  # high, normal, low
PRIORITY_LABELS = {1: N_("High"), 2: N_("Normal"), 3: N_("Low")}
# Staff changes of the terms (values: before, after).
TERM_CHANGE_MESSAGES = {
    "discount_bp": N_("Your discount changed from %(before)s to %(after)s."),
    "service_priority": N_("Your service priority changed from %(before)s to %(after)s."),
    "credit_limit_minor": N_("Your credit limit changed from %(before)s to %(after)s."),
    "on_credit_hold": N_("Your credit hold changed from %(before)s to %(after)s."),
}
WATCHED_TERMS = tuple(TERM_CHANGE_MESSAGES)
MAX_TERMS_DAYS = 365
MAX_FORGIVENESS_DAYS = 180

CLIENT_FIELDS = (
    "name", "tax_id", "email", "phone", "address", "currency", "payment_terms_days", "credit_limit",
    "discount", "service_priority", "segment", "privileged", "forgiveness_days", "language", "sales_manager",
)


def _whole(raw: str, low: int, high: int) -> int | None:
    if not re.fullmatch(r"\d{1,6}", raw or ""):
        return None
    value = int(raw)
    return value if low <= value <= high else None


def parse_percent_bp(raw: str) -> int | None:
    """'5,5' or '5.50' -> 550 basis points; None when not a percentage from 0 to 100 with <= 2 decimals."""
    cleaned = (raw or "").replace(",", ".").replace("%", "").strip()
    if not re.fullmatch(r"\d{1,3}(\.\d{1,2})?", cleaned):
        return None
    whole, _, frac = cleaned.partition(".")
    bp = int(whole) * 100 + int((frac + "00")[:2])
    return bp if bp <= 10_000 else None


def check_client(form: dict[str, str], sales_manager_ids: set[int]) -> Checked:
    out = Checked()
    v, e = out.values, out.errors

    out.name(form, _("Enter the company's name."))

    v["tax_id"] = form.get("tax_id", "")
    if len(v["tax_id"]) > 40:
        e["tax_id"] = _("Keep the tax ID under 40 characters.")

    out.email(form)
    out.phone(form)
    v["address"] = form.get("address", "")[:1000]

    currency = form.get("currency", "")
    if currency not in CURRENCIES:
        e["currency"] = _("Choose a currency.")
    v["currency"] = currency

    terms = _whole(form.get("payment_terms_days", ""), 0, MAX_TERMS_DAYS)
    if terms is None:
        e["payment_terms_days"] = _("Enter a number of days from 0 to %(max)s.", max=MAX_TERMS_DAYS)
    v["payment_terms_days"] = terms

    v["credit_limit_minor"] = None
    raw_limit = form.get("credit_limit", "") or "0"
    if currency in CURRENCIES:
        try:
            limit = parse_amount(raw_limit, currency)
        except ValueError:
            e["credit_limit"] = _("Enter an amount such as %(example)s.", example=amount_input_value(1500050, currency))
        else:
            if limit < 0:
                e["credit_limit"] = _("The credit limit cannot be negative.")
            v["credit_limit_minor"] = limit

    discount = parse_percent_bp(form.get("discount", "") or "0")
    if discount is None:
        e["discount"] = _("Enter a percentage from 0 to 100, e.g. 5 or 7.5.")
    v["discount_bp"] = discount

    priority = _whole(form.get("service_priority", ""), 1, 3)
    if priority is None:
        e["service_priority"] = _("Choose a service priority.")
    v["service_priority"] = priority

    segment = form.get("segment", "")
    if segment not in SEGMENTS:
        e["segment"] = _("Choose segment A, B or C.")
    v["segment"] = segment

    privileged = form.get("privileged") in ("on", "true", "1")
    v["privileged"] = privileged
    forgiveness = _whole(form.get("forgiveness_days", "") or "0", 0, MAX_FORGIVENESS_DAYS)
    if forgiveness is None:
        e["forgiveness_days"] = _("Enter a number of days from 0 to %(max)s.", max=MAX_FORGIVENESS_DAYS)
    elif forgiveness and not privileged:
        e["forgiveness_days"] = _("Only privileged clients are forgiven days of delay.")
    v["forgiveness_days"] = forgiveness

    language = form.get("language", "")
    if language not in LANGUAGES:
        e["language"] = _("Choose a language.")
    v["language"] = language

    manager = form.get("sales_manager", "")
    if not manager:
        v["sales_manager"] = None
    elif manager.isdigit() and int(manager) in sales_manager_ids:
        v["sales_manager"] = int(manager)
    else:
        e["sales_manager"] = _("Choose one of the sales managers.")
    return out


def check_contact(form: dict[str, str]) -> Checked:
    out = Checked()
    v, e = out.values, out.errors
    out.name(form, _("Enter the contact's name."))
    v["position"] = form.get("position", "")[:120]
    out.email(form)
    out.phone(form)
    if not v["email"] and not v["phone"] and "email" not in e and "phone" not in e:
        e["email"] = _("Give an email address or a phone number.")
    v["is_primary"] = form.get("is_primary") in ("on", "true", "1")
    return out


def fold(name: str) -> str:
    return name.casefold()


def priority_text(priority: int) -> str:
    return PRIORITY_LABELS.get(priority, PRIORITY_LABELS[2])


def changed_terms(before: dict, after: dict) -> list[str]:
    """The watched terms whose value differs, in a fixed order."""
    return [name for name in WATCHED_TERMS if name in before and name in after and before[name] != after[name]]
