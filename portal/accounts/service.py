"""Creating and managing accounts: staff users (by admins) and client users (by staff)."""

from __future__ import annotations

from portal import db
from portal.accounts import rules
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.auth import passwords, service as auth
from portal.auth.roles import Kind, Role
from portal.auth.service import end_sessions_of
from portal.auth.tables import User
from portal.clock import utcnow
from portal.web.forms import Checked
from portal.web.i18n import gettext as _


class AccountError(Exception):
    """A request the service refuses; the message is shown to the user."""


async def email_taken(email: str) -> bool:
    return await User.exists().where(User.email == email.strip().lower())


async def staff_users() -> list[dict]:
    return await User.select(
        User.id, User.name, User.email, User.role, User.is_legal, User.is_active, User.last_login_at
    ).where(User.kind == Kind.STAFF.value).order_by(User.name)


async def client_users(client_id: int) -> list[dict]:
    return await User.select(User.id, User.name, User.email, User.is_active, User.last_login_at).where(
        (User.kind == Kind.CLIENT.value) & (User.client == client_id)
    ).order_by(User.name)


async def get_staff_user(user_id: int) -> dict | None:
    return await User.select(User.id, User.name, User.email, User.role, User.is_legal, User.language, User.is_active).where(
        (User.id == user_id) & (User.kind == Kind.STAFF.value)
    ).first()


async def create_user(
    *, email: str, name: str, password: str, kind: Kind, role: Role, client_id: int | None = None,
    is_legal: bool = False, language: str | None = None, actor: Actor,
) -> int:
    """A login. A client user's language is "" unless given: they follow their company's."""
    if language is None:
        language = "" if kind is Kind.CLIENT else "en"
    if (kind is Kind.CLIENT) != (client_id is not None) or (kind is Kind.CLIENT) != (role is Role.CLIENT):
        raise AccountError("A client user belongs to exactly one client company; staff to none.")
    email = email.strip().lower()
    password_hash = await passwords.hash_password(password)
    async with db.transaction():
        if await User.exists().where(User.email == email):
            raise AccountError(f"Somebody already logs in with {email}.")
        user_id = await auth.store_user(
            email=email, name=name, kind=kind.value, role=role.value, is_legal=is_legal, client=client_id,
            language=language, password_hash=password_hash, is_active=True, created_at=utcnow(),
        )
        await audit.record(
            actor, "user_created", "user", user_id, client_id=client_id,
            after={"email": email, "name": name, "role": role.value, "is_legal": is_legal},
        )
    return user_id


async def create_from_form(form: dict[str, str], *, staff: bool, client_id: int | None, actor: Actor) -> tuple[int | None, Checked]:
    checked = rules.check_user(form, staff=staff, new=True, email_taken=await email_taken(form.get("email", "")))
    if not checked.ok:
        return None, checked
    v = checked.values
    try:
        user_id = await create_user(
            email=v["email"], name=v["name"], password=v["password"],
            kind=Kind.STAFF if staff else Kind.CLIENT, role=Role(v["role"]) if staff else Role.CLIENT,
            client_id=client_id, is_legal=v.get("is_legal", False), language=v.get("language"), actor=actor,
        )
    except AccountError:  # lost a race for the same email
        checked.errors["email"] = _("Somebody already logs in with this email address.")
        return None, checked
    return user_id, checked


async def update_staff_user(user_id: int, form: dict[str, str], actor: Actor) -> Checked:
    checked = rules.check_user(form, staff=True, new=False, email_taken=False)
    if user_id == actor.user_id and (checked.values.get("role") != Role.ADMIN.value or not checked.values.get("is_active")):
        checked.errors["role"] = _("You cannot remove your own admin rights or deactivate yourself.")
    if not checked.ok:
        return checked
    fields = ("name", "role", "is_legal", "language", "is_active")
    async with db.transaction():
        current = await User.select(*(getattr(User, f) for f in fields)).where(
            (User.id == user_id) & (User.kind == Kind.STAFF.value)
        ).first()
        if current is None:
            raise LookupError(user_id)
        before, after = audit.changes(current, {f: checked.values[f] for f in fields})
        if after:
            await auth.update_user(user_id, {f: checked.values[f] for f in fields})
            if not checked.values["is_active"]:
                await end_sessions_of(user_id)
            await audit.record(actor, "user_updated", "user", user_id, before=before, after=after)
    return checked


async def set_own_language(user_id: int, form: dict[str, str], actor: Actor, *, client_user: bool) -> Checked:
    """The person chooses the language the portal speaks to them (a client user: "" = their company's)."""
    checked = rules.check_own_language(form, client_user=client_user)
    if not checked.ok:
        return checked
    async with db.transaction():
        current = await User.select(User.language).where(User.id == user_id).first()
        if current is None:
            raise LookupError(user_id)
        if current["language"] != checked.values["language"]:
            await auth.update_user(user_id, {"language": checked.values["language"]})
            await audit.record(actor, "user_updated", "user", user_id, before={"language": current["language"]},
                               after={"language": checked.values["language"]})
    return checked


async def set_password(user_id: int, password: str, actor: Actor) -> None:
    password_hash = await passwords.hash_password(password)
    async with db.transaction():
        await auth.update_user(user_id, {"password_hash": password_hash})
        await end_sessions_of(user_id)
        await audit.record(actor, "password_set", "user", user_id)
