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
        condition = None
        for applies, cond in ((self.manager is not None, lambda: column.sales_manager == self.manager),
                              (bool(self.segment), lambda: column.segment == self.segment),
                              (self.client is not None, lambda: column.id == self.client)):
            if applies:
                condition = cond() if condition is None else condition & cond()
        return condition


def where_all(query, *conditions):
    """The query with each condition that is not None."""
    for condition in conditions:
        if condition is not None:
            query = query.where(condition)
    return query


