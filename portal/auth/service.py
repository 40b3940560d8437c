"""Logging in and out, and the server-side sessions behind the cookie."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from portal import db
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.auth import passwords, permissions, rules
from portal.auth.roles import Kind, Role
from portal.auth.tables import LoginAttempt, Session, User
from portal.clock import utcnow

IP_FAILURE_FACTOR = 4  # an address may fail this many times more than one account


@dataclass(frozen=True)
class CurrentUser:
    id: int
    email: str
    name: str
    kind: Kind
    role: Role
    is_legal: bool
    language: str
    client_id: int | None
    client_name: str
    session_id: int
    unread_notifications: int = 0  # a staff user's, counted when the session is read

    @property
    def is_staff(self) -> bool:
        return self.kind is Kind.STAFF

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def has_role(self, *roles: Role) -> bool:
        return self.is_staff and (self.is_admin or self.role in roles)

    @property
    def can(self) -> permissions.Can:
        """What this user may do (portal.auth.permissions): read by guards, pages and templates."""
        return permissions.can(self.role, staff=self.is_staff)

    def actor(self, ip: str = "") -> Actor:
        return Actor(user_id=self.id, label=self.name, ip=ip)


@dataclass(frozen=True)
class LoginOk:
    token: str
    user_id: int
    kind: Kind


@dataclass(frozen=True)
class LoginRefused:
    locked_minutes: int = 0  # > 0: too many failures; otherwise: wrong email or password


async def _failures(email: str, ip: str, since: dt.datetime) -> tuple[list[dt.datetime], list[dt.datetime]]:
    rows = await LoginAttempt.select(LoginAttempt.email, LoginAttempt.ip, LoginAttempt.at).where(
        (LoginAttempt.at > since) & ((LoginAttempt.email == email) | (LoginAttempt.ip == ip))
    )
    by_email = [r["at"] for r in rows if r["email"] == email]
    by_ip = [r["at"] for r in rows if r["ip"] == ip]
    return by_email, by_ip


async def login(
    email: str,
    password: str,
    *,
    ip: str,
    user_agent: str,
    max_failures: int,
    window_minutes: int,
    previous_token: str | None = None,
) -> LoginOk | LoginRefused:
    email = rules.normalise_email(email)
    now = utcnow()
    by_email, by_ip = await _failures(email, ip, now - dt.timedelta(minutes=window_minutes))
    locked = max(
        rules.lockout_minutes_left(by_email, now, max_failures, window_minutes),
        rules.lockout_minutes_left(by_ip, now, max_failures * IP_FAILURE_FACTOR, window_minutes),
    )
    if locked:
        return LoginRefused(locked_minutes=locked)

    user = await User.objects().where((User.email == email) & (User.is_active == True)).first()  # noqa: E712
    ok = await passwords.verify_password(user.password_hash if user else None, password)
    if not ok or user is None:
        await LoginAttempt.insert(LoginAttempt(email=email, ip=ip[:64], at=now))
        return LoginRefused()

    new_hash = await passwords.hash_password(password) if passwords.needs_rehash(user.password_hash) else None
    token = secrets.token_urlsafe(32)
    async with db.transaction():
        if previous_token:  # rotate: the pre-login session id never survives a login
            await Session.delete().where(Session.token_hash == rules.token_hash(previous_token))
        await LoginAttempt.delete().where(LoginAttempt.email == email)
        values = {User.last_login_at: now}
        if new_hash:
            values[User.password_hash] = new_hash
        await User.update(values).where(User.id == user.id)
        await Session.insert(
            Session(
                token_hash=rules.token_hash(token),
                user=user.id,
                created_at=now,
                last_seen_at=now,
                ip=ip[:64],
                user_agent=user_agent[:300],
            )
        )
        await audit.record(
            Actor(user.id, user.name, ip), "logged_in", "user", user.id, client_id=user.client
        )
    return LoginOk(token=token, user_id=user.id, kind=Kind(user.kind))


# Every page asks this first: written once, not built by the ORM on each request.
_SESSION_SQL = """SELECT s.id AS "id", s.last_seen_at AS "last_seen_at", u.id AS "user.id", u.email AS "user.email",
u.name AS "user.name", u.kind AS "user.kind", u.role AS "user.role", u.is_legal AS "user.is_legal",
u.language AS "user.language", u.is_active AS "user.is_active", c.id AS "user.client.id", c.name AS "user.client.name",
c.language AS "user.client.language",
(SELECT COUNT(*) FROM notifications n WHERE n."user" = u.id AND n.read_at IS NULL) AS "user.unread"
FROM sessions s JOIN users u ON u.id = s."user" LEFT JOIN clients c ON c.id = u.client
WHERE s.token_hash = {}"""


async def user_for_token(token: str, idle_minutes: int) -> CurrentUser | None:
    """The logged-in user behind a cookie token, or None (unknown, idle too long, deactivated)."""
    rows = await Session.raw(_SESSION_SQL, rules.token_hash(token))
    if not rows:
        return None
    row = rows[0]
    now = utcnow()
    if rules.session_expired(row["last_seen_at"], now, idle_minutes) or not row["user.is_active"]:
        await Session.delete().where(Session.id == row["id"])
        return None
    if rules.should_touch(row["last_seen_at"], now):
        await Session.update({Session.last_seen_at: now}).where(Session.id == row["id"])
    kind = Kind(row["user.kind"])
    # a client user follows their company's language unless they chose their own
    language = (row["user.language"] or row["user.client.language"]) if kind is Kind.CLIENT else row["user.language"]
    return CurrentUser(
        id=row["user.id"],
        email=row["user.email"],
        name=row["user.name"],
        kind=kind,
        role=Role(row["user.role"]),
        is_legal=row["user.is_legal"],
        language=language or "en",
        client_id=row["user.client.id"],
        client_name=row["user.client.name"] or "",
        session_id=row["id"],
        unread_notifications=int(row["user.unread"] or 0),
    )


async def logout(token: str) -> None:
    await Session.delete().where(Session.token_hash == rules.token_hash(token))


async def end_sessions_of(user_id: int) -> None:
    """Deactivating a user or changing their password ends every session they have."""
    await Session.delete().where(Session.user == user_id)


# --- the users table, for portal.accounts (which administers logins through these) -------------------

USER_FIELDS = ("name", "role", "is_legal", "language", "is_active", "password_hash")


async def store_user(**values) -> int:
    """A new login row (portal.accounts.service.create_user checks and audits it)."""
    user = User(**values)
    await user.save()
    return user.id


async def update_user(user_id: int, values: dict) -> None:
    """Change a login's fields (of USER_FIELDS); the caller audits it."""
    unknown = set(values) - set(USER_FIELDS)
    if unknown:
        raise ValueError(f"not a user field: {sorted(unknown)}")
    if values:
        await User.update({getattr(User, k): v for k, v in values.items()}).where(User.id == user_id)
