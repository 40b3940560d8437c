"""What users type, read in their language, and what their fields show.

Amounts: Babel's parse_decimal in the user's locale ("1.234,56" in ro, "1 234,56" in hu,
"1,234.56" in en). A single separator that cannot be a thousands group (not followed by exactly
three digits) is read as the decimal mark whatever the locale, as people type "12.50" everywhere.
Dates: typed as the language writes them ("02.12.2026", "2026. 12. 02.", "02/12/2026") and read
with Babel's parse_date; ISO dates (what links and the server itself write) are read everywhere.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from babel import dates, numbers
from markupsafe import Markup

from portal.money import exponent
from portal.web.i18n import current_language, locale_for

_AMOUNT_CHARACTERS = re.compile(r"^-?[0-9.,]+$")
_ONE_DECIMAL_MARK = re.compile(r"^-?\d+[.,](\d{1,2}|\d{4,})$")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009'")
YEARS = range(1900, 2200)

# How a date field shows a day, and the hint in an empty one, per language.
DATE_INPUT = {
    "en": ("dd/MM/yyyy", "dd/mm/yyyy"),
    "ro": ("dd.MM.yyyy", "zz.ll.aaaa"),
    "uk": ("dd.MM.yyyy", "дд.мм.рррр"),
    "bg": ("dd.MM.yyyy", "дд.мм.гггг"),
    "hu": ("yyyy. MM. dd.", "éééé. hh. nn."),
}


def parse_amount(text: str | None, currency: str, language: str | None = None) -> int:
    """The amount typed, in minor units of `currency`. Raises ValueError."""
    cleaned = (text or "").strip().translate(_SPACES)
    if not _AMOUNT_CHARACTERS.match(cleaned):
        raise ValueError("not an amount")
    try:
        value = numbers.parse_decimal(cleaned, locale=locale_for(language or current_language()), strict=True)
    except numbers.NumberFormatError:
        if not _ONE_DECIMAL_MARK.match(cleaned):
            raise ValueError("not an amount") from None
        value = Decimal(cleaned.replace(",", "."))
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"at most {exponent(currency)} decimals")
    return int(scaled)


def amount_input_value(minor: int | None, currency: str) -> str:
    """An amount as a field shows it for editing: the language's marks, no currency sign."""
    if minor is None:
        return ""
    places = exponent(currency)
    value = Decimal(int(minor)).scaleb(-places)
    return numbers.format_decimal(value, format="#,##0." + "0" * places, locale=locale_for(current_language()))


def parse_date(text: str | None, language: str | None = None) -> dt.date | None:
    """The day typed, or None when it is not a day (empty included)."""
    raw = (text or "").strip()
    if not raw or len(raw) > 20 or len(re.findall(r"\d+", raw)) != 3:  # a day, a month and a year
        return None
    try:
        day = dt.date.fromisoformat(raw) if _ISO_DAY.match(raw) else dates.parse_date(
            raw, locale=locale_for(language or current_language()), format="short")
    except (ValueError, IndexError):  # Babel's ParseError is a ValueError; a missing part an IndexError
        return None
    return day if day.year in YEARS else None


def date_input_value(value: dt.date | str | None) -> str:
    """A day as a date field shows it. A string is what the user typed (shown again as typed),
    unless it is an ISO date written by the server or a link."""
    if isinstance(value, str):
        if not _ISO_DAY.match(value):
            return value
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            return value
    if value is None:
        return ""
    language = current_language()
    return dates.format_date(value, DATE_INPUT[language][0], locale=locale_for(language))


def date_attributes() -> Markup:
    """The attributes of a date field (a text field: the browser's own picker would follow the
    browser's language, not the reader's)."""
    return Markup('type="text" autocomplete="off" spellcheck="false" placeholder="%s"') % DATE_INPUT[current_language()][1]
