"""Keyset pagination: the cursor is the sort key of the last row shown, never an offset."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, ensure_ascii=False).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    """The key inside a cursor, or None for a missing or malformed one (then: first page)."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        return None
    return key if isinstance(key, list) and len(key) == arity else None


@dataclass
class Page:
    rows: list[dict]
    next_cursor: str | None
    is_first: bool
