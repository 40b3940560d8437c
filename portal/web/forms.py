"""Reading submitted forms: every value a stripped string, so a re-rendered form keeps what was typed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from litestar import Request

from portal.web.i18n import gettext as _

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^[+0-9 ()./-]{5,40}$")


async def form_data(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: (value.strip() if isinstance(value, str) else "") for key, value in form.items() if not key.startswith("_csrf")}


@dataclass
class Checked:
    """The outcome of validating a form: cleaned values, or errors keyed by field name."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def name(self, form: dict[str, str], missing: str, field: str = "name", limit: int = 200) -> None:
        """A required name of at most `limit` characters; `missing` says what to enter."""
        self.values[field] = form.get(field, "")
        if not self.values[field]:
            self.errors[field] = missing
        elif len(self.values[field]) > limit:
            self.errors[field] = _("Keep the name under %(n)s characters.", n=limit)

    def email(self, form: dict[str, str], field: str = "email", required: bool = False) -> None:
        self.values[field] = form.get(field, "").lower()
        if (self.values[field] or required) and not EMAIL.match(self.values[field]):
            self.errors[field] = _("This is not an email address.")

    def phone(self, form: dict[str, str], field: str = "phone") -> None:
        self.values[field] = form.get(field, "")
        if self.values[field] and not PHONE.match(self.values[field]):
            self.errors[field] = _("Use digits, spaces and + ( ) - only.")
