"""ASGI middleware: who is asking (from the server-side session), in which language, and
the flash-message cookie. It sets scope["user"] to a CurrentUser or None."""

from __future__ import annotations

from http.cookies import SimpleCookie

from litestar.datastructures import Cookie
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from portal.auth import service as auth
from portal.settings import LANGUAGES, Settings
from portal.web import flash as flash_cookie
from portal.web.i18n import language_from_header, set_language, set_reader_timezone, set_timezone

SESSION_COOKIE = "portal_session"
LANGUAGE_COOKIE = "portal_language"  # a visitor's choice from the language switch (login and share-link pages)
_SKIP_PREFIXES = ("/static/", "/healthz")


def session_cookie(settings: Settings, token: str | None) -> Cookie:
    """The session cookie, or (token None) the header that deletes it."""
    return Cookie(
        key=SESSION_COOKIE,
        value=token or "",
        path="/",
        httponly=True,
        secure=settings.production,
        samesite="lax",
        max_age=None if token else 0,
    )


def _cookies(scope: Scope) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header is ignored, not a 500
                continue
    return {k: m.value for k, m in jar.items()}


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


def session_middleware(settings: Settings):
    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or scope["path"].startswith(_SKIP_PREFIXES):
                scope["user"] = None
                await app(scope, receive, send)
                return
            cookies = _cookies(scope)
            token = cookies.get(SESSION_COOKIE)
            user = await auth.user_for_token(token, settings.session_idle_minutes) if token else None
            scope["user"] = user
            scope["auth"] = token if user else None
            scope["session_ended"] = bool(token) and user is None  # it expired or was ended: the login page says so
            scope["flashes"] = flash_cookie.decode(cookies.get(flash_cookie.FLASH_COOKIE), settings.secret_key)
            scope["new_flashes"] = []
            chosen = _chosen_language(scope, cookies)
            scope["language_chosen"] = bool(chosen)  # a page may speak its own default (the share link: the client's)
            set_language(user.language if user else chosen or language_from_header(_header(scope, b"accept-language"), settings.default_language))
            set_timezone(settings.firm_timezone)
            set_reader_timezone(settings.firm_timezone if user and user.is_staff else None)  # a client may be elsewhere

            async def send_with_cookies(message: Message) -> None:
                if message["type"] == "http.response.start":
                    extra: list[Cookie] = []
                    if token and user is None:
                        extra.append(session_cookie(settings, None))
                    if chosen and chosen != cookies.get(LANGUAGE_COOKIE):
                        extra.append(language_cookie(settings, chosen))
                    if scope.get("new_flashes"):
                        extra.append(_flash(settings, scope["new_flashes"]))
                    elif scope.get("flashes_shown") and flash_cookie.FLASH_COOKIE in cookies:
                        extra.append(_flash(settings, []))
                    headers = list(message.get("headers", []))
                    headers += [c.to_encoded_header() for c in extra]
                    if user is not None:  # after logout, Back must not show private pages from the cache
                        headers += [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]
                    message["headers"] = headers
                await send(message)

            await app(scope, receive, send_with_cookies)

        return middleware

    return factory


def _chosen_language(scope: Scope, cookies: dict[str, str]) -> str:
    """The language a visitor picked: ?lang=xx from the switch (remembered in a cookie), else the cookie."""
    for part in scope.get("query_string", b"").decode("latin-1").split("&"):
        name, _, value = part.partition("=")
        if name == "lang" and value in LANGUAGES:
            return value
    remembered = cookies.get(LANGUAGE_COOKIE, "")
    return remembered if remembered in LANGUAGES else ""


def language_cookie(settings: Settings, language: str) -> Cookie:
    return Cookie(key=LANGUAGE_COOKIE, value=language, path="/", httponly=True, secure=settings.production,
                  samesite="lax", max_age=365 * 24 * 3600)


def _flash(settings: Settings, messages: list[list[str]]) -> Cookie:
    return Cookie(
        key=flash_cookie.FLASH_COOKIE,
        value=flash_cookie.encode(messages, settings.secret_key) if messages else "",
        path="/",
        httponly=True,
        secure=settings.production,
        samesite="lax",
        max_age=None if messages else 0,
    )
