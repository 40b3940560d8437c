"""The navigation offers each role exactly the pages it may open: every link it shows opens,
and a staff page it leaves out refuses that role. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest

from portal.auth.roles import STAFF_ROLES
from tests.factories import login, make_client, make_client_user, make_staff

# every page the staff navigation can link to
STAFF_PAGES = ["/staff", "/staff/orders", "/staff/invoices", "/staff/bank", "/staff/clients", "/staff/reports",
               "/staff/tasks", "/staff/calendar", "/staff/notifications", "/staff/outbox", "/staff/dunning",
               "/staff/dunning/ladders", "/staff/dunning/letters", "/staff/disputes", "/staff/schedules", "/staff/users",
               "/staff/account"]


def _nav_links(page: str) -> list[str]:
    """The links of everything above the page's own content (the sidebar or the top bar)."""
    chrome = page.split("<main", 1)[0]
    return [link for link in re.findall(r'href="(/[^"#?]*)"', chrome) if not link.startswith("/static/")]


@pytest.mark.parametrize("role", STAFF_ROLES, ids=lambda r: r.value)
async def test_a_staff_role_is_shown_only_the_pages_it_may_open(client, role):
    await login(client, await make_staff(role))
    shown = _nav_links((await client.get("/staff")).text)
    assert "/staff" in shown and "/staff/account" in shown and set(shown) <= set(STAFF_PAGES), shown
    for path in STAFF_PAGES:
        status = (await client.get(path)).status_code
        if path in shown:
            assert status == 200, f"{role.value} is shown {path} but it answers {status}"
        else:
            assert status == 403, f"{role.value} is not shown {path}, which it may open ({status})"


async def test_a_client_user_is_shown_its_own_pages_only(client):
    await login(client, await make_client_user(await make_client("Tipo Print SRL")))
    shown = _nav_links((await client.get("/client")).text)
    assert set(shown) == {"/client", "/client/orders", "/client/invoices", "/client/schedules", "/client/account"}
    for path in shown:
        assert (await client.get(path)).status_code == 200
