"""Small helpers every controller shares."""

from __future__ import annotations

from litestar import Request
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.response import Redirect, Template

from portal.auth.service import CurrentUser


def current_user(request: Request) -> CurrentUser:
    return request.scope["user"]


def own_client_id(request: Request) -> int:
    """The company of the logged-in client user (the routes that ask are guarded by client_only)."""
    client_id = current_user(request).client_id
    if client_id is None:
        raise NotAuthorizedException()
    return client_id


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def actor(request: Request):
    return current_user(request).actor(client_ip(request))


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def page(template: str, status_code: int = 200, **context) -> Template:
    return Template(template_name=template, context=context, status_code=status_code)


def see_other(path: str) -> Redirect:
    return Redirect(path=path, status_code=303)


def found_or_404(value):
    if value is None:
        raise NotFoundException()
    return value
