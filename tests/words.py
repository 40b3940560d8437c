"""A message as the portal words it in one language (tests read pages as their users do)."""

from __future__ import annotations

from portal.web.i18n import translations


def said(language: str, message: str, **values: object) -> str:
    return translations(language).gettext(message) % values


def said_plural(language: str, singular: str, plural: str, n: int, **values: object) -> str:
    return translations(language).ngettext(singular, plural, n) % {"num": n, **values}
