"""Why the PostgreSQL test server cannot be used, said so that the reader can fix it."""

from __future__ import annotations

from urllib.parse import urlsplit


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def why_unusable(url: str, exc: BaseException) -> str:
    import asyncpg

    parts = urlsplit(url)
    where = f"{parts.hostname or 'localhost'}:{parts.port or 5432}"
    user = parts.username or "postgres"
    detail = f"{type(exc).__name__}: {exc}"
    fix = (f"set DATABASE_URL_TEST=postgres://USER:PASSWORD@{where}/postgres (a role that may create databases), "
           "or run .ci/postgres-login as root, which makes one and prints that URL")
    if isinstance(exc, (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError)):
        return f"PostgreSQL at {where} refused the login of {user!r} ({detail}): {fix}"
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):
        return f"PostgreSQL at {where}: {user!r} may not create the test database ({detail}): {fix}"
    if isinstance(exc, (OSError, TimeoutError)):
        return (f"no PostgreSQL server answers at {where} ({detail}): start one "
                "(pg_ctlcluster <version> main start) or point DATABASE_URL_TEST at one")
    return f"PostgreSQL at {without_password(url)} cannot be used ({detail})"
