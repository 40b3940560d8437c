"""Pure validation of user accounts (staff and client users)."""

from __future__ import annotations

from portal.auth.passwords import MIN_LENGTH, password_problem
from portal.auth.roles import STAFF_ROLES, Role
from portal.settings import LANGUAGES
from portal.web.forms import Checked
from portal.web.i18n import gettext as _


def check_password(password: str, confirm: str | None = None) -> str | None:
    problem = password_problem(password)
    if problem:
        return _(problem, n=MIN_LENGTH)
    if confirm is not None and password != confirm:
        return _("The two passwords differ.")
    return None


def check_own_language(form: dict[str, str], *, client_user: bool) -> Checked:
    """A person's own language; a client user may choose "" (their company's)."""
    out = Checked()
    language = form.get("language", "")
    if language not in LANGUAGES and not (client_user and language == ""):
        out.errors["language"] = _("Choose a language.")
    out.values["language"] = language
    return out


def check_user(form: dict[str, str], *, staff: bool, new: bool, email_taken: bool) -> Checked:
    out = Checked()
    v, e = out.values, out.errors
    out.name(form, _("Enter the person's name."))
    if new:
        out.email(form, required=True)
        if "email" not in e and email_taken:
            e["email"] = _("Somebody already logs in with this email address.")
        problem = check_password(form.get("password", ""))
        if problem:
            e["password"] = problem
        v["password"] = form.get("password", "")
    if staff:
        role = form.get("role", "")
        if role not in {r.value for r in STAFF_ROLES}:
            e["role"] = _("Choose a role.")
        v["role"] = role
        v["is_legal"] = form.get("is_legal") in ("on", "true", "1") and role == Role.NEGOTIATOR.value
        if form.get("is_legal") in ("on", "true", "1") and role != Role.NEGOTIATOR.value:
            e["is_legal"] = _("Only negotiators can be lawyers.")
        language = form.get("language", "en")
        if language not in LANGUAGES:
            e["language"] = _("Choose a language.")
        v["language"] = language
        if not new:
            v["is_active"] = form.get("is_active") in ("on", "true", "1")
    return out
