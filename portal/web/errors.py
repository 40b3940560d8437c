"""Friendly error pages: never a stack trace. Anonymous visitors are sent to the login page."""

from __future__ import annotations

import logging
from urllib.parse import quote, urlsplit

from litestar import Request, Response, route
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from portal.web.flash import flash
from portal.web.i18n import gettext as _
from portal.web.redirects import local_path

log = logging.getLogger("portal")


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _page_of(url: str) -> str:
    """The path and query of an address (a header's full URL), without its host or fragment."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def return_to(request: Request) -> str:
    """The page to come back to after logging in: the one the browser shows, never the address of
    an htmx fragment or a form's POST (after login the browser GETs `next`: a POST URL is a 405)."""
    if _is_htmx(request):
        return _page_of(request.headers.get("hx-current-url", ""))
    if request.method in ("GET", "HEAD"):
        return _page_of(str(request.url))
    referer = urlsplit(request.headers.get("referer", ""))
    return _page_of(referer.geturl()) if referer.netloc == request.url.netloc else ""


def login_redirect(request: Request, exc: NotAuthorizedException) -> Response:
    target = local_path(return_to(request), "")
    location = f"/login?next={quote(target)}" if target and target != "/" else "/login"
    if request.scope.get("session_ended"):
        flash(request, _("Your session has ended. Log in again to go on where you were."), "info")
    if _is_htmx(request):  # htmx follows HX-Redirect with a full page load, whatever the status
        return Response(content="", status_code=401, headers={"HX-Redirect": location})
    return Redirect(path=location, status_code=303)


def error_page(request: Request, status: int, template: str, **context) -> Template:
    return Template(template_name=template, context={"status": status, **context}, status_code=status)


def forbidden(request: Request, exc: PermissionDeniedException) -> Response:
    csrf = "csrf" in (exc.detail or "").lower()
    return error_page(request, 403, "errors/403.html", csrf=csrf)


def not_found(request: Request, _: NotFoundException) -> Response:
    return error_page(request, 404, "errors/404.html")


def http_error(request: Request, exc: HTTPException) -> Response:
    if exc.status_code == 404:
        return not_found(request, exc)  # type: ignore[arg-type]
    if exc.status_code >= 500:
        log.error("HTTP %s on %s %s: %s", exc.status_code, request.method, request.url.path, exc.detail)
    return error_page(request, exc.status_code, "errors/error.html")


def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    try:
        return error_page(request, 500, "errors/error.html")
    except Exception:  # the error page itself failed: plain text, still no trace
        return Response("Something went wrong on our side.", status_code=HTTP_500_INTERNAL_SERVER_ERROR, media_type="text/plain")


EXCEPTION_HANDLERS = {
    NotAuthorizedException: login_redirect,
    PermissionDeniedException: forbidden,
    NotFoundException: not_found,
    HTTPException: http_error,
    Exception: server_error,
}


@route("/{unknown:path}", http_method=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
async def no_such_page(unknown: str) -> Response:
    """Any address no route knows: raised inside a route, so the session and the reader's language
    are known and the friendly 404 speaks it (a miss outside every route would skip the middleware)."""
    raise NotFoundException()
