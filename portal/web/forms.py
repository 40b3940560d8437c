"""Reading submitted forms: every value a stripped string, so a re-rendered form keeps what was typed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import Request


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
