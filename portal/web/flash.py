"""Flash messages: shown once on the next page, carried in a signed cookie so they work
for anonymous visitors too (e.g. "You have been logged out")."""

from __future__ import annotations

import base64
import json

from litestar.connection import ASGIConnection

from portal import signing

FLASH_COOKIE = "portal_flash"
SIGNATURE_BYTES = 16


def flash(connection: ASGIConnection, message: str, category: str = "success") -> None:
    """Queue a message for the next page the user sees (category: success, info, warning, error)."""
    connection.scope.setdefault("new_flashes", []).append([category, str(message)])


def take_flashes(connection: ASGIConnection) -> list[list[str]]:
    """The messages to show now; the cookie is cleared once they have been shown."""
    scope = connection.scope
    shown = scope.get("flashes", []) + scope.get("new_flashes", [])
    scope["flashes_shown"] = True
    scope["flashes"], scope["new_flashes"] = [], []
    return shown


def encode(messages: list[list[str]], secret: str) -> str:
    body = base64.urlsafe_b64encode(json.dumps(messages).encode()).decode()
    return f"{body}.{signing.sign(secret, 'flash', body, size=SIGNATURE_BYTES)}"


def decode(value: str | None, secret: str) -> list[list[str]]:
    if not value or "." not in value:
        return []
    body, signature = value.rsplit(".", 1)
    if not signing.verify(signature, secret, "flash", body, size=SIGNATURE_BYTES):
        return []
    try:
        messages = json.loads(base64.urlsafe_b64decode(body.encode()))
    except ValueError:
        return []
    return [[str(c), str(m)] for c, m in messages][:10] if isinstance(messages, list) else []

