"""Where a redirect may go when the request names it (a login's `next`, a form's `back`).

Only a path of this portal: a browser reading the Location drops tabs and newlines and reads a
backslash as a slash (WHATWG URL), so "/\\evil.example" or "/\t/evil.example" would leave the site.
Anything but a plain local path falls back to the default.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# printable ASCII without backslash and space; one slash first, never two (nor an encoded second one)
_LOCAL = re.compile(r"^/(?![/\\]|%2[fF]|%5[cC])[!-\[\]-~]*$")


def local_path(target: str | None, default: str, prefix: str = "/") -> str:
    """`target` when it is a path of this portal under `prefix`; else `default`."""
    if not target or not _LOCAL.match(target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    if prefix != "/" and not (parts.path == prefix or parts.path.startswith(prefix.rstrip("/") + "/")):
        return default
    return target
