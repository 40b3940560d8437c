from piccolo.columns import (
    Boolean,
    ForeignKey,
    Serial,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portal.clients.tables import Client


class User(Table, tablename="users"):
    """A person who logs in: staff (with a role) or a client user (tied to one client)."""

    id: Serial  # the primary key Piccolo adds, declared for the type checker
    email = Varchar(length=254, unique=True, index=True)
    name = Varchar(length=200)
    kind = Varchar(length=10)  # Kind
    role = Varchar(length=30)  # Role
    is_legal = Boolean(default=False)  # negotiators who are lawyers
    client = ForeignKey(references=Client, null=True, index=True, on_delete=OnDelete.restrict)
    language = Varchar(length=5, default="en")
    password_hash = Varchar(length=255)
    is_active = Boolean(default=True)
    created_at = Timestamptz()
    last_login_at = Timestamptz(null=True, default=None)


class Session(Table, tablename="sessions"):
    """A server-side session; the cookie holds a random token, we keep its SHA-256."""

    id: Serial
    token_hash = Varchar(length=64, unique=True, index=True)
    user = ForeignKey(references=User, index=True, on_delete=OnDelete.cascade)
    created_at = Timestamptz()
    last_seen_at = Timestamptz()
    ip = Varchar(length=64, default="")
    user_agent = Varchar(length=300, default="")


class LoginAttempt(Table, tablename="login_attempts"):
    """Failed logins, counted per email and per IP over a window (rate limiting)."""

    id: Serial
    email = Varchar(length=254, index=True)
    ip = Varchar(length=64, index=True)
    at = Timestamptz(index=True)
