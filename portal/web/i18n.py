"""Languages: the request's locale lives in a context variable; gettext and Babel's
formatters read it. Catalogs are compiled from portal/locale/<lang>/LC_MESSAGES/messages.po."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, dates, negotiate_locale, numbers
from babel.support import LazyProxy, NullTranslations, Translations
from markupsafe import Markup

from portal import clock
from portal.money import exponent, to_decimal
from portal.settings import LANGUAGES

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
BABEL_LOCALES = {"en": "en_GB", "ro": "ro_RO", "uk": "uk_UA", "bg": "bg_BG", "hu": "hu_HU"}
LANGUAGE_NAMES = {"en": "English", "ro": "Română", "uk": "Українська", "bg": "Български", "hu": "Magyar"}

_language: contextvars.ContextVar[str] = contextvars.ContextVar("language", default="en")


def set_language(language: str) -> None:
    _language.set(language if language in LANGUAGES else "en")


@contextlib.contextmanager
def in_language(language: str) -> Iterator[None]:
    """Words, dates and money in `language` inside the block (a letter, a task for someone else)."""
    token = _language.set(language if language in LANGUAGES else "en")
    try:
        yield
    finally:
        _language.reset(token)


set_timezone = clock.set_firm_timezone
current_timezone = clock.firm_timezone


def current_language() -> str:
    return _language.get()


def current_locale() -> Locale:
    return locale_for(current_language())


@cache
def locale_for(language: str) -> Locale:
    return Locale.parse(BABEL_LOCALES[language])


@cache
def translations(language: str) -> NullTranslations:
    return Translations.load(str(LOCALE_DIR), [language], domain="messages")


def translate(message: str) -> str:
    return translations(current_language()).gettext(message)


def translate_plural(singular: str, plural: str, n: int) -> str:
    return translations(current_language()).ngettext(singular, plural, n)


def gettext(message: str, **variables: object) -> str:
    """Messages are python-format strings (a literal % is written %%), as in templates."""
    return translate(message) % variables


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    variables.setdefault("num", n)
    return translate_plural(singular, plural, n) % variables


def template_gettext(message: str, **variables: object) -> Markup:
    """`_()` in templates, as Jinja's own newstyle gettext: the translation is trusted, the
    variables are escaped. A plain function (Jinja's passes the context through two extra calls),
    and a message without variables is worded once per language: a page says ~40 of them."""
    if variables:
        return Markup(translate(message)) % variables
    return _template_words(message, current_language())


def pgettext(context: str, message: str, **variables: object) -> str:
    """A message whose words depend on where it stands ("To" on a letter is not "To" of a period)."""
    return translations(current_language()).pgettext(context, message) % variables


def template_pgettext(context: str, message: str, **variables: object) -> Markup:
    """`pgettext()` in templates: the translation trusted, the variables escaped."""
    return Markup(translations(current_language()).pgettext(context, message)) % variables


def template_ngettext(singular: str, plural: str, num: int, **variables: object) -> Markup:
    """`ngettext()` in templates, as Jinja's own newstyle one, without the context's extra calls."""
    variables.setdefault("num", num)
    return Markup(translate_plural(singular, plural, num)) % variables


@lru_cache(maxsize=4096)
def _template_words(message: str, language: str) -> Markup:
    return Markup(translations(language).gettext(message)) % {}


def data_words(text: str | None) -> str | None:
    """A seeded name (a ladder, a step, a delay reason) in the reader's language; a name staff typed
    is shown as typed (it is no message of the catalogs)."""
    return translate(text) if text else text


def lazy_gettext(message: str) -> LazyProxy:
    """For module-level strings (labels, choices): translated when shown, not when imported."""
    return LazyProxy(gettext, message, enable_cache=False)


_ = gettext


def language_from_header(accept_language: str, default: str) -> str:
    """The first of our languages the browser asks for, by its q-weights ("en;q=0.3, ro" is ro)."""
    asked = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if tag.strip() and weight > 0:
            asked.append((-weight, position, tag.strip()))
    found = negotiate_locale([tag for *_, tag in sorted(asked)], LANGUAGES, sep="-", aliases=None)
    return found.lower() if found else default


def format_money(minor: int | None, currency: str) -> str:
    if minor is None:
        return ""
    minor = int(minor)  # a SUM on PostgreSQL comes back as a Decimal
    shape = _money_shape(currency, current_language()) if minor >= 0 else None
    return _fast_money(minor, shape) if shape else _babel_money(minor, currency, current_language())


def _babel_money(minor: int, currency: str, language: str) -> str:
    # Show the minor units we store, whatever digits the installed CLDR gives the currency
    # (Babel 2.19 shows forints without fillér, which would round 1 234,56 Ft to 1 235 Ft).
    return numbers.format_currency(to_decimal(minor, currency), currency, locale=locale_for(language), currency_digits=False)


@lru_cache(maxsize=256)
def _money_shape(currency: str, language: str) -> tuple[str, str, str, str] | None:
    """How Babel writes money in this language (prefix, suffix, group and decimal marks), learnt
    once and checked against Babel itself; None where that simple shape does not fit. Pages and
    dunning texts write thousands of amounts, and Babel's formatter costs ~0.1 ms each."""
    if exponent(currency) != 2:
        return None
    found = re.search(r"1(\D?)234(\D?)567(\D)89", sample := _babel_money(123456789, currency, language))
    if not found or found.group(1) != found.group(2):
        return None
    shape = (sample[:found.start()], sample[found.end():], found.group(1), found.group(3))
    for check in (123456789, 123456, 12345, 5, 0, 100000000):
        if _fast_money(check, shape) != _babel_money(check, currency, language):
            return None
    return shape


def _fast_money(minor: int, shape: tuple[str, str, str, str]) -> str:
    prefix, suffix, group, decimal = shape
    whole, cents = divmod(minor, 100)
    return f"{prefix}{f'{whole:,}'.replace(',', group)}{decimal}{cents:02d}{suffix}"


def format_number(value: int | Decimal | float) -> str:
    if isinstance(value, int):  # counts and days on every row of a list: learnt once per language
        return _format_int(value, current_language())
    return numbers.format_decimal(value, locale=current_locale())


@lru_cache(maxsize=4096)
def _format_int(value: int, language: str) -> str:
    return numbers.format_decimal(value, locale=locale_for(language))


def words(singular: str, plural: str = "", n: int = 0) -> str:
    """A message (or its plural form for n) in the current language, cached: list pages word the
    same few things on every row."""
    return _words(singular, plural, n, current_language())


@lru_cache(maxsize=4096)
def _words(singular: str, plural: str, n: int, language: str) -> str:
    found = translations(language)
    return found.ngettext(singular, plural, n) % {"num": n} if plural else found.gettext(singular)


def format_percent_bp(bp: int) -> str:
    """Basis points as a percentage: 550 -> '5.5%'."""
    return numbers.format_percent(Decimal(bp) / 10_000, format="#,##0.##%", locale=current_locale())


def format_date(value: dt.date | None, style: str = "medium") -> str:
    if value is None:
        return ""
    return _format_date(value, style, current_language())


@lru_cache(maxsize=8192)
def _format_date(value: dt.date, style: str, language: str) -> str:
    return dates.format_date(value, format=style, locale=locale_for(language))


def format_datetime(value: dt.datetime | None, style: str = "medium") -> str:
    if value is None:
        return ""
    return _format_datetime(value, style, current_language(), clock.firm_timezone())


@lru_cache(maxsize=8192)
def _format_datetime(value: dt.datetime, style: str, language: str, tz: str) -> str:
    """Worklists show the same step times on many rows: each moment is written once per language."""
    return dates.format_datetime(value.astimezone(ZoneInfo(tz)), format=style, locale=locale_for(language))


def format_timedelta(delta: dt.timedelta) -> str:
    return dates.format_timedelta(delta, locale=current_locale())
