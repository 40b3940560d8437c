"""The credit controller's worklist: overdue invoices, the most escalated first, grouped by the
step they reached, with the next action and its time. Read from the stored state (kept by the
engine): 50 rows by keyset and the choice lists (two queries a page), then the groups' counts and
sums (loaded by htmx after the page)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal.billing.rules import InvoiceStatus
from portal.billing.tables import Invoice
from portal.web.pagination import Page, decode_cursor, encode_cursor

PAGE_SIZE = 50


@dataclass(frozen=True)
class Filters:
    manager_id: int | None = None
    step_id: int | None = None  # -1: not started
    client_q: str = ""
    paused: str = ""  # "", "yes", "no"


# Every open invoice has a state (made when it is issued, removed when it is settled), so the
# worklist reads the states, in the order of their index, and joins the rest by primary key.
_FROM = f"""
FROM dunning_states s
JOIN invoices i ON i.id = s.invoice
JOIN clients c ON c.id = i.client
WHERE s.due_date < {{}} AND i.status = '{InvoiceStatus.ISSUED}'"""


def _where(filters: Filters, args: list) -> str:
    sql = ""
    if filters.manager_id:
        sql += " AND c.sales_manager = {}"
        args.append(filters.manager_id)
    if filters.step_id == -1:
        sql += " AND s.last_step IS NULL"
    elif filters.step_id:
        sql += " AND s.last_step = {}"
        args.append(filters.step_id)
    if filters.client_q:
        sql += " AND c.name_folded LIKE {}"
        args.append(f"%{filters.client_q.lower().replace('%', '').replace('_', '')}%")
    if filters.paused == "yes":
        sql += " AND s.paused_kind <> ''"
    elif filters.paused == "no":
        sql += " AND (s.paused_kind IS NULL OR s.paused_kind = '')"
    return sql


async def groups(today: dt.date, filters: Filters) -> list[dict]:
    """One line per step reached (and "not started"), with how many invoices and the balance per currency."""
    args: list = [today]
    where = _where(Filters(manager_id=filters.manager_id, client_q=filters.client_q, paused=filters.paused), args)
    rows = await Invoice.raw(
        "SELECT s.last_step AS step_id, st.name AS step_name, s.severity AS severity, "
        "s.last_position AS position, i.currency, COUNT(*) AS invoices, "
        "SUM(i.total_minor - i.paid_minor) AS balance " + _FROM.replace("WHERE", "LEFT JOIN dunning_steps st ON st.id = s.last_step WHERE")
        + where + " GROUP BY s.last_step, st.name, s.severity, s.last_position, i.currency",
        *args,
    )
    out: dict = {}
    for row in rows:
        group = out.setdefault(row["step_id"] or -1, {
            "step_id": row["step_id"] or -1, "step_name": row["step_name"] or "", "severity": row["severity"],
            "position": row["position"], "invoices": 0, "balances": {},
        })
        group["invoices"] += row["invoices"]
        group["balances"][row["currency"]] = group["balances"].get(row["currency"], 0) + int(row["balance"])
    return sorted(out.values(), key=lambda g: (-g["severity"], -g["position"], g["step_name"]))


# Step and manager names are not joined here but taken from the page's choice lists (read anyway).
_COLUMNS = (
    "SELECT i.id, i.code, i.due_date, i.currency, i.total_minor - i.paid_minor AS balance, c.id AS client_id, "
    "c.name AS client_name, c.sales_manager, s.severity AS severity, s.last_position AS position, "
    "s.last_step AS last_step_id, s.next_step AS next_step_id, s.next_at, s.paused_kind, s.paused_until, i.status"
)
_ORDER = " ORDER BY s.severity DESC, s.last_position DESC, s.due_date, s.invoice"
# Without a client filter, the page's states are picked from dunning_states alone, in the order of
# its index, and only those are joined: PostgreSQL plans that the same way at any size. Planning
# the join with the ORDER BY and LIMIT on top re-planned on every request at a million invoices
# (generic plan: a sort of every overdue invoice, 8 ms) and cost more than running it.
_STATES_FIRST = (
    _COLUMNS + " FROM (SELECT s.invoice, s.severity, s.last_position, s.due_date, s.last_step, s.next_step, s.next_at, "
    "s.paused_kind, s.paused_until FROM dunning_states s WHERE s.due_date < {}{where}" + _ORDER + f" LIMIT {PAGE_SIZE + 1}) s "
    "JOIN invoices i ON i.id = s.invoice JOIN clients c ON c.id = i.client" + _ORDER
)


async def rows(today: dt.date, filters: Filters, cursor: str | None = None) -> Page:
    """A page of the worklist's rows, without names (see view())."""
    args: list = [today]
    by_client = bool(filters.manager_id or filters.client_q)
    where = _where(filters if by_client else Filters(step_id=filters.step_id, paused=filters.paused), args)
    key = decode_cursor(cursor, (int, int, str, int))
    if key:
        severity, position, due, last_id = key[0] - 1, key[1] - 1, dt.date.fromisoformat(key[2][:10]), key[3]
        where += (
            " AND (s.severity < {} OR (s.severity = {} AND (s.last_position < {}"
            " OR (s.last_position = {} AND (s.due_date > {} OR (s.due_date = {} AND s.invoice > {}))))))"
        )
        args += [severity, severity, position, position, due, due, last_id]
    if by_client:
        found = await Invoice.raw(_COLUMNS + _FROM + where + _ORDER + " LIMIT {}", *args, PAGE_SIZE + 1)
    else:
        found = await Invoice.raw(_STATES_FIRST.replace("{where}", where), *args)
    for row in found:
        row["due_date"] = _date(row["due_date"])
        row["days_overdue"] = (today - row["due_date"]).days
    more = len(found) > PAGE_SIZE
    found = found[:PAGE_SIZE]
    next_cursor = None
    if more:
        last = found[-1]
        next_cursor = encode_cursor([last["severity"] + 1, last["position"] + 1, last["due_date"].isoformat(), last["id"]])
    # every state is an open invoice's (settling removes it in the same transaction); should one
    # linger, it is not shown, and the cursor above still moves past it
    return Page(rows=[row for row in found if row["status"] == InvoiceStatus.ISSUED], next_cursor=next_cursor, is_first=key is None)


async def view(today: dt.date, filters: Filters, cursor: str | None = None) -> dict:
    """What the worklist page shows: a page of rows with their manager's and steps' names, and the
    choice lists (managers and steps to filter by, staff to reassign to)."""
    found = await choices()
    page = await rows(today, filters, cursor)
    people, steps = found.pop("names"), {step["id"]: step for step in found["steps"]}
    for row in page.rows:
        last, upcoming = steps.get(row["last_step_id"]), steps.get(row["next_step_id"])
        row["manager_name"] = people.get(row["sales_manager"])
        row["last_step_name"] = last["name"] if last else None
        row["next_step_name"] = upcoming["name"] if upcoming else None
        row["next_channel"] = upcoming["channel"] if upcoming else None
    return {"page": page, **found}


def _date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


# The page's choice lists in one round trip: every staff member (managers to filter by, active staff
# to reassign to, and the names of the rows' managers, who may have left) and every step.
_CHOICES_SQL = """
SELECT 'person' AS list, id, name, role AS detail, '' AS channel, is_active AS active, 0 AS ladder, 0 AS position
FROM users WHERE kind = 'staff'
UNION ALL
SELECT 'step', st.id, st.name, l.name, st.channel, st.is_active, st.ladder, st.position
FROM dunning_steps st JOIN dunning_ladders l ON l.id = st.ladder
ORDER BY 1, 7, 8, 3"""


async def choices() -> dict:
    """{"managers": [...], "staff": [...], "steps": [...], "names": {user id: name}}: active sales
    managers and active staff by name (id, name), steps by ladder and position (id, name,
    ladder_name, channel), and the name of every staff member."""
    people, steps = [], []
    for row in await Invoice.raw(_CHOICES_SQL):
        (people if row["list"] == "person" else steps).append(row)
    return {
        "managers": [p for p in people if p["active"] and p["detail"] == "sales_manager"],
        "staff": [p for p in people if p["active"]],
        "steps": [{**s, "ladder_name": s["detail"]} for s in steps],
        "names": {p["id"]: p["name"] for p in people},
    }
