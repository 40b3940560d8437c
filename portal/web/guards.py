"""Route guards: staff pages for staff (optionally some roles), client pages for client users.

They are coroutines on purpose: Litestar runs a plain-function guard in a worker thread, a
thread hop on every request for what is a dictionary lookup."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from portal.auth import permissions
from portal.auth.roles import Kind, Role
from portal.web.pagination import MAX_ID


async def staff_only(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    _require_staff(connection)


def _require_staff(connection: ASGIConnection) -> None:
    user = connection.scope.get("user")
    if user is None:
        raise NotAuthorizedException()
    if user.kind is not Kind.STAFF:
        raise PermissionDeniedException("staff_only")


async def client_only(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    user = connection.scope.get("user")
    if user is None:
        raise NotAuthorizedException()
    if user.kind is not Kind.CLIENT or user.client_id is None:
        raise PermissionDeniedException("client_only")


def roles(*allowed: Role):
    """Staff with one of these roles (admins always pass)."""

    async def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        _require_staff(connection)
        if not connection.scope["user"].has_role(*allowed):
            raise PermissionDeniedException("role")

    return guard


def allowed(permission: str):
    """Staff who hold this permission (portal.auth.permissions; admins hold every one)."""
    if permission not in permissions.GRANTS:
        raise ValueError(permission)

    async def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        _require_staff(connection)
        if not getattr(connection.scope["user"].can, permission):
            raise PermissionDeniedException(permission)

    return guard



async def ids_in_range(request) -> None:
    """An id no table can hold is a missing page (404), not a database error (500)."""
    for value in request.path_params.values():
        if isinstance(value, int) and not 0 < value <= MAX_ID:
            raise NotFoundException()
