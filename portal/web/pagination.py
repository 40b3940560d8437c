"""Keyset pagination: the cursor is the sort key of the last row shown, never an offset."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

MAX_ID = 2_147_483_647  # the largest id a path or a cursor may carry (a 32-bit serial)



def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, ensure_ascii=False).encode()).decode().rstrip("=")


MAX_CURSOR = 600


def decode_cursor(cursor: str | None, shape: tuple[type, ...]) -> list[Any] | None:
    """The key inside a cursor if it has the expected shape (e.g. (str, int)); None for a
    missing or malformed one, which means: the first page."""
    if not cursor or len(cursor) > MAX_CURSOR:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, RecursionError):
        return None
    if not isinstance(key, list) or len(key) != len(shape):
        return None
    for value, kind in zip(key, shape, strict=True):
        if type(value) is not kind or (kind is int and not 0 < value <= MAX_ID):
            return None
    return key


@dataclass
class Page:
    rows: list[dict]
    next_cursor: str | None
    is_first: bool
