"""The credit controller's worklist: overdue invoices, the most escalated first, grouped by the
step they reached, with the next action and its time. Read from the stored state (kept by the
engine) in two queries a page: the groups' counts and sums, and 50 rows by keyset."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

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
_FROM = """
FROM dunning_states s
JOIN invoices i ON i.id = s.invoice
JOIN clients c ON c.id = i.client
WHERE s.due_date < {} AND i.status = 'issued'"""


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


async def rows(today: dt.date, filters: Filters, cursor: str | None = None) -> Page:
    args: list = [today]
    where = _where(filters, args)
    key = decode_cursor(cursor, (int, int, str, int))
    if key:
        severity, position, due, last_id = key[0] - 1, key[1] - 1, dt.date.fromisoformat(key[2][:10]), key[3]
        where += (
            " AND (s.severity < {} OR (s.severity = {} AND (s.last_position < {}"
            " OR (s.last_position = {} AND (s.due_date > {} OR (s.due_date = {} AND s.invoice > {}))))))"
        )
        args += [severity, severity, position, position, due, due, last_id]
    found = await Invoice.raw(
        "SELECT i.id, i.code, i.due_date, i.currency, i.total_minor - i.paid_minor AS balance, c.id AS client_id, "
        "c.name AS client_name, u.name AS manager_name, s.severity AS severity, "
        "s.last_position AS position, ls.name AS last_step_name, ls.id AS last_step_id, "
        "ns.name AS next_step_name, ns.channel AS next_channel, s.next_at, s.paused_kind, s.paused_until"
        + _FROM.replace("WHERE", "LEFT JOIN users u ON u.id = c.sales_manager LEFT JOIN dunning_steps ls ON ls.id = s.last_step "
                        "LEFT JOIN dunning_steps ns ON ns.id = s.next_step WHERE")
        + where + " ORDER BY s.severity DESC, s.last_position DESC, s.due_date, s.invoice LIMIT {}",
        *args, PAGE_SIZE + 1,
    )
    for row in found:
        row["due_date"] = _date(row["due_date"])
        row["days_overdue"] = (today - row["due_date"]).days
    more = len(found) > PAGE_SIZE
    found = found[:PAGE_SIZE]
    next_cursor = None
    if more:
        last = found[-1]
        next_cursor = encode_cursor([last["severity"] + 1, last["position"] + 1, last["due_date"].isoformat(), last["id"]])
    return Page(rows=found, next_cursor=next_cursor, is_first=key is None)


def _date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


# The page's three choice lists (managers to filter by, staff to reassign to, steps to filter by)
# in one round trip: the worklist is the controller's most opened page.
_CHOICES_SQL = """
SELECT 'manager' AS list, id, name, '' AS ladder_name, 0 AS ladder, 0 AS position FROM users
WHERE kind = 'staff' AND role = 'sales_manager' AND is_active
UNION ALL
SELECT 'staff', id, name, '', 0, 0 FROM users WHERE kind = 'staff' AND is_active
UNION ALL
SELECT 'step', st.id, st.name, l.name, st.ladder, st.position FROM dunning_steps st JOIN dunning_ladders l ON l.id = st.ladder
ORDER BY 1, 5, 6, 3"""


async def choices() -> dict[str, list[dict]]:
    """{"managers": [...], "staff": [...], "steps": [...]}, each row with id and name (steps also
    ladder_name), managers and staff by name, steps by ladder and position."""
    found: dict[str, list[dict]] = {"manager": [], "staff": [], "step": []}
    for row in await Invoice.raw(_CHOICES_SQL):
        found[row["list"]].append(row)
    return {"managers": found["manager"], "staff": found["staff"], "steps": found["step"]}
