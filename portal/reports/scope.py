"""Whose figures a report shows, as query conditions."""

from __future__ import annotations

from dataclasses import dataclass

from portal.clients.tables import Client


@dataclass(frozen=True)
class Scope:
    """Whose receivables: a sales manager's clients (a sales manager sees no others), a segment, a
    currency, one client. Empty means all."""

    manager: int | None = None
    segment: str = ""
    currency: str = ""
    client: int | None = None

    def clients(self, column=Client):
        """The condition on a Client column (or a foreign key's view of it), or None for all."""
        conditions = [column.sales_manager == self.manager if self.manager is not None else None,
                      column.segment == self.segment if self.segment else None,
                      column.id == self.client if self.client is not None else None]
        condition = None
        for part in conditions:
            if part is not None:
                condition = part if condition is None else condition & part
        return condition


def where_all(query, *conditions):
    """The query with each condition that is not None."""
    for condition in conditions:
        if condition is not None:
            query = query.where(condition)
    return query


