"""A list's order chosen by its column headers: `?sort=total` upwards, `?sort=-total` downwards,
kept in keyset pagination as (the sort column, id)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sort:
    key: str
    descending: bool = False

    @property
    def param(self) -> str:
        return ("-" if self.descending else "") + self.key

    def state(self, key: str) -> str:
        """aria-sort of a column header: "ascending", "descending" or "" (the list is not sorted by it)."""
        if key != self.key:
            return ""
        return "descending" if self.descending else "ascending"

    def flipped(self, key: str) -> str:
        """The parameter a click on `key`'s header sends: upwards first, downwards when already upwards."""
        return ("-" if key == self.key and not self.descending else "") + key


def parse_sort(raw: str, keys: tuple[str, ...], default: str) -> Sort:
    """The `sort` parameter as typed; anything unknown is the default order."""
    key = (raw or "").strip().lstrip("-")
    if key not in keys:
        return Sort(default)
    return Sort(key, descending=raw.strip().startswith("-"))


def keyset(query, column, id_column, sort: Sort, after: tuple | None):
    """The query after the (value, id) of the last row shown, in the sort's order (ties by id)."""
    if after is not None:
        value, last_id = after
        if sort.descending:
            query = query.where((column < value) | ((column == value) & (id_column < last_id)))
        else:
            query = query.where((column > value) | ((column == value) & (id_column > last_id)))
    ascending = not sort.descending
    return query.order_by(column, ascending=ascending).order_by(id_column, ascending=ascending)
