"""No redirect leaves the portal because of what a request said.

Every unsafe route is posted (as an admin for /staff, as a client user for /client, anonymously for
the public pages) with hostile values in every field and header a redirect target could come from;
each answer's Location, HX-Redirect and HX-Location must resolve, as a browser resolves it
(WHATWG: tabs and newlines dropped, backslashes read as slashes), to this portal's own host.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from portal.auth.roles import Role
from portal.web.redirects import local_path
from tests.factories import csrf_token, login, make_client, make_client_user, make_staff
from tests.security.test_access import UNSAFE, fill, http_routes, made_for, params_of, staff_world, under

BASE = "http://testserver.local"
HOSTILE = [
    "https://evil.example/", "//evil.example/", "/\\evil.example/", "\\\\evil.example/", "/\t/evil.example/",
    "/\n/evil.example", " //evil.example", "https:evil.example", "javascript:alert(1)", "/%2F%2Fevil.example",
    "//evil.example@testserver.local", "http://testserver.local.evil.example/", "\x00//evil.example", "/staff\\..\\\\evil.example",
]
TARGET_FIELDS = ("next", "back", "return_to", "redirect", "url", "target", "came_from")
TARGET_HEADERS = ("referer", "hx-current-url", "origin")
REDIRECT_HEADERS = ("location", "hx-redirect", "hx-location")


def browser_resolves(location: str) -> str:
    """The host a browser lands on for this Location, from a page of the portal."""
    cleaned = "".join(c for c in location.strip(" \x00\x01\x02\x1f") if c not in "\t\n\r").replace("\\", "/")
    return urlsplit(urljoin(BASE + "/staff/page", cleaned)).netloc


def offsite(response) -> list[str]:
    out = []
    for name in REDIRECT_HEADERS:
        value = response.headers.get(name)
        if value and browser_resolves(value) != "testserver.local":
            out.append(f"{name}: {value!r}")
    return out


async def _fuzz(client, method: str, url: str) -> list[str]:
    found = []
    for hostile in HOSTILE:
        form = {field: hostile for field in TARGET_FIELDS}
        form["_csrf_token"] = await csrf_token(client)
        for htmx in (False, True):
            headers = {name: hostile.replace("\n", "").replace("\t", "").replace("\x00", "") for name in TARGET_HEADERS}
            if htmx:
                headers["hx-request"] = "true"
            response = await client.request(method, url, params={"next": hostile, "back": hostile}, data=form, headers=headers)
            found += [f"{method} {url} ({'htmx' if htmx else 'form'}, {hostile!r}) -> {where}" for where in offsite(response)]
    return found


def test_local_path_keeps_local_paths_and_refuses_the_rest() -> None:
    for good in ("/staff", "/staff/tasks?bucket=today#t-4", "/client/invoices/3", "/s/abc.def"):
        assert local_path(good, "/x") == good
    for bad in [*HOSTILE, "", None, "staff/tasks", "/staff/\x7f", "/ok\r\nSet-Cookie: a=b"]:
        assert local_path(bad, "/fallback") == "/fallback", repr(bad)
    assert local_path("/client/x", "/staff", prefix="/staff") == "/staff"
    assert local_path("/staff/y", "/staff", prefix="/staff") == "/staff/y"


async def test_no_staff_form_redirects_off_site(app, client):
    ids = await staff_world()
    await login(client, await make_staff(Role.ADMIN))
    found = []
    for method, path in http_routes(app):
        if method in UNSAFE and under(path, "/staff") and "logout" not in path:
            found += await _fuzz(client, method, fill(path, ids))
    assert not found, "\n".join(found)


async def test_no_client_form_redirects_off_site(app, client):
    own = await make_client("Alfa Cartons SRL")
    await login(client, await make_client_user(own))
    found = []
    for method, path in http_routes(app):
        if method in UNSAFE and under(path, "/client"):
            found += await _fuzz(client, method, fill(path, await made_for(own, params_of(path))))
    assert not found, "\n".join(found)


async def test_login_never_sends_anyone_off_site(app, client):
    user = await make_staff(Role.CREDIT_CONTROLLER)
    found = []
    for hostile in HOSTILE:
        await client.post("/logout", data={"_csrf_token": await csrf_token(client)})
        response = await client.post("/login", data={
            "email": user["email"], "password": user["password"], "next": hostile, "_csrf_token": await csrf_token(client)})
        assert response.status_code == 303, (hostile, response.status_code)
        found += [f"login next={hostile!r} -> {where}" for where in offsite(response)]
    assert not found, "\n".join(found)
    ok = await client.post("/login", data={
        "email": user["email"], "password": user["password"], "next": "/staff/tasks?bucket=today",
        "_csrf_token": await csrf_token(client)})
    assert ok.headers["location"] == "/staff/tasks?bucket=today"
