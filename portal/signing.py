"""The portal's signed values: flash cookies, calendar feed links and schedule share links.

One HMAC-SHA256 keyed with SECRET_KEY over "purpose:part:part...", so a signature made for one
use never verifies for another; URL-safe base64 without padding; compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def sign(secret: str, purpose: str, *parts: object, size: int = 32) -> str:
    """The signature of `parts` for `purpose`, `size` bytes of the digest (43 characters for 32)."""
    message = ":".join((purpose, *(str(p) for p in parts))).encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()[:size]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def verify(signature: str, secret: str, purpose: str, *parts: object, size: int = 32) -> bool:
    return hmac.compare_digest(signature.encode(), sign(secret, purpose, *parts, size=size).encode())
