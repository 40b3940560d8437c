"""Languages: the request's locale lives in a context variable; gettext and Babel's
formatters read it. Catalogs are compiled from portal/locale/<lang>/LC_MESSAGES/messages.po."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path

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
set_reader_timezone = clock.set_reader_timezone


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
    return single_stops(translate(message), variables) % variables


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    variables.setdefault("num", n)
    return single_stops(translate_plural(singular, plural, n), variables) % variables


def template_gettext(message: str, **variables: object) -> Markup:
    """`_()` in templates, as Jinja's own newstyle gettext: the translation is trusted, the
    variables are escaped. A plain function (Jinja's passes the context through two extra calls),
    and a message without variables is worded once per language: a page says ~40 of them."""
    if variables:
        return Markup(single_stops(translate(message), variables)) % variables
    return _template_words(message, current_language())


def pgettext(context: str, message: str, **variables: object) -> str:
    """A message whose words depend on where it stands ("To" on a letter is not "To" of a period)."""
    return single_stops(str(translations(current_language()).pgettext(context, message)), variables) % variables


def template_pgettext(context: str, message: str, **variables: object) -> Markup:
    """`pgettext()` in templates: the translation trusted, the variables escaped."""
    return Markup(single_stops(str(translations(current_language()).pgettext(context, message)), variables)) % variables


def template_ngettext(singular: str, plural: str, num: int, **variables: object) -> Markup:
    """`ngettext()` in templates, as Jinja's own newstyle one, without the context's extra calls."""
    variables.setdefault("num", num)
    return Markup(single_stops(translate_plural(singular, plural, num), variables)) % variables


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


# One way to write a day, and one to write a moment, per language: the day as the language's
# business letters write it (and as its date fields are typed, web.local_input.DATE_INPUT); a
# moment is that day and the time to the minute, never seconds. English keeps the month's name
# ("3 Dec 2026"): "03/12/2026" reads as 12 March to half of its readers.
DATE_PATTERNS = {"en": "d MMM y", "ro": "dd.MM.y", "uk": "dd.MM.y", "bg": "dd.MM.y 'г.'", "hu": "y. MM. dd."}
TIME_FORMAT = "%H:%M"  # in every language: 14:30
DATETIME_JOIN = {"en": "{date}, {time}", "ro": "{date}, {time}", "uk": "{date}, {time}", "bg": "{date}, {time}", "hu": "{date} {time}"}
WEEKDAY_JOIN = {"en": "{weekday}, {date}", "ro": "{weekday}, {date}", "uk": "{weekday}, {date}", "bg": "{weekday}, {date}",
                "hu": "{date}, {weekday}"}
MONTH_PATTERNS = {"en": "MMM y", "ro": "MMM y", "uk": "LLL y 'р'.", "bg": "MMM y 'г'.", "hu": "y. MMM"}  # the reports' months


def format_date(value: dt.date | dt.datetime | str | None) -> str:
    """A day as the reader's language writes it; a moment is first put in the firm's time zone
    (23:30 UTC is already the next day in Bucharest)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    elif isinstance(value, dt.datetime):
        value = clock.local_date(value) if value.tzinfo else value.date()
    return _format_date(value, current_language())


@lru_cache(maxsize=8192)
def _format_date(value: dt.date, language: str) -> str:
    return dates.format_date(value, DATE_PATTERNS[language], locale=locale_for(language))


def format_weekday_date(value: dt.date) -> str:
    """A calendar day's heading: the day of the week and the day as format_date writes it."""
    weekday = dates.format_date(value, "EEEE", locale=current_locale())
    return WEEKDAY_JOIN[current_language()].format(weekday=weekday, date=format_date(value))


def format_month(value: dt.date) -> str:
    return dates.format_date(value, MONTH_PATTERNS[current_language()], locale=current_locale())


def format_datetime(value: dt.datetime | None) -> str:
    """A moment in the firm's time zone, to the minute; naming the zone when the reader may live
    in another one (clock.reader_in_firm_zone)."""
    if value is None:
        return ""
    return _format_datetime(value, current_language(), clock.firm_timezone(), not clock.reader_in_firm_zone())


def format_time(value: dt.datetime | None) -> str:
    """A moment's time of day alone (a calendar's row under its day's heading), to the minute."""
    if value is None:
        return ""
    local = value.astimezone(clock.zone(clock.firm_timezone()))
    shown = local.strftime(TIME_FORMAT)
    return shown if clock.reader_in_firm_zone() else f"{shown} {_zone_label(local, current_language())}"


@lru_cache(maxsize=8192)
def _format_datetime(value: dt.datetime, language: str, tz: str, with_zone: bool) -> str:
    """Worklists show the same step times on many rows: each moment is written once per language."""
    local = value.astimezone(clock.zone(tz))
    text = DATETIME_JOIN[language].format(date=_format_date(local.date(), language), time=local.strftime(TIME_FORMAT))
    return f"{text} {_zone_label(local, language)}" if with_zone else text


def _zone_label(local: dt.datetime, language: str) -> str:
    """The firm's zone as a reader elsewhere needs it: its city in the reader's language and the
    offset of that moment, "(Bukarest, UTC+2)"."""
    name = str(local.tzinfo)
    city = locale_for(language).time_zones.get(name, {}).get("city") or name.rsplit("/", 1)[-1].replace("_", " ")
    offset = local.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign, minutes = ("+" if minutes >= 0 else "-"), abs(minutes)
    hours = f"{minutes // 60}" + (f":{minutes % 60:02d}" if minutes % 60 else "")
    return f"({city}, UTC{sign}{hours})"


def html_datetime(value: dt.date | dt.datetime | None) -> str:
    """A valid HTML `<time datetime>`: a day as YYYY-MM-DD, a moment in UTC to the minute
    (YYYY-MM-DDTHH:MMZ), never microseconds."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        moment = value.astimezone(dt.UTC) if value.tzinfo else value
        return moment.strftime("%Y-%m-%dT%H:%M") + ("Z" if value.tzinfo else "")
    return value.isoformat()


_STOPPED_FIELD = re.compile(r"%\((\w+)\)s\.|\{(\w+)\}\.")


def single_stops(message: str, variables: Mapping[str, object]) -> str:
    """The message without the full stop that follows a value already ending with one: a
    Bulgarian "03.12.2026 г." or a Hungarian "2026. 12. 03." (and "Acme Inc.") end the sentence
    "Due on %(date)s." themselves. For %(name)s and for a ladder step's {name}."""
    if not any(isinstance(v, str) and v.endswith(".") for v in variables.values()):
        return message

    def stop(found: re.Match) -> str:
        value = variables.get(found.group(1) or found.group(2))
        return found.group(0)[:-1] if isinstance(value, str) and value.endswith(".") else found.group(0)

    return _STOPPED_FIELD.sub(stop, message)


def format_timedelta(delta: dt.timedelta) -> str:
    return dates.format_timedelta(delta, locale=current_locale())
