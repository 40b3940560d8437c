"""A report table as a downloadable CSV or XLSX file, in the user's language and number format.

Pure: no database, no clock (openpyxl itself stamps the XLSX's created/modified properties and
ZIP entries with the current time, so two XLSX exports of one sheet are not byte-identical).

A Sheet's rows hold raw values, one per Column, None for an empty cell:
    text     str (anything else is str()-ed)        percent  float/Decimal/int, 0..100
    int      int                                    decimal  float/Decimal/int
    money    int MINOR units (cents); the ISO code  date     datetime.date (not datetime:
             is in the row at Column.currency_column          convert to the user's day first)

CSV is for spreadsheet import: numbers in the language's decimal separator without grouping,
";" as delimiter where the decimal separator is ",", ISO dates, no note. XLSX carries real
numbers, dates and number formats, which Excel shows in the viewer's own locale.
Text that a spreadsheet would run as a formula (=, +, -, @, tab, CR first) is neutralised.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import get_currency_precision, get_decimal_symbol, is_currency
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from portal import money
from portal.web.i18n import locale_for

KINDS = ("text", "int", "money", "percent", "decimal", "date")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_WIDTH = 60


@dataclass(frozen=True)
class Column:
    title: str
    kind: str  # one of KINDS
    currency_column: int | None = None  # money: index, in the row, of the column holding the ISO currency code
    decimals: int | None = None  # percent (default 1) and decimal (default: as given) places

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"column {self.title!r}: kind {self.kind!r} is not one of {KINDS}")
        if (self.kind == "money") != (self.currency_column is not None):
            raise ValueError(f"column {self.title!r}: currency_column is required for money columns and only for them")


@dataclass(frozen=True)
class Sheet:
    title: str
    columns: list[Column]
    rows: Sequence[Sequence[object]]
    note: str = ""

    def __post_init__(self) -> None:
        width = len(self.columns)
        for column in self.columns:
            if column.currency_column is not None and not 0 <= column.currency_column < width:
                raise ValueError(f"column {column.title!r}: currency_column {column.currency_column} is outside the row")
        for number, row in enumerate(self.rows):
            if len(row) != width:
                raise ValueError(f"row {number} has {len(row)} cells for {width} columns")


def _exponent(currency: str) -> int:
    """The portal's own minor units first (HUF has 2 there, 0 in CLDR); other ISO codes from Babel."""
    if currency in money.CURRENCIES:
        return money.exponent(currency)
    if not is_currency(currency):
        raise ValueError(f"{currency!r} is not an ISO 4217 currency code")
    return get_currency_precision(currency)


def _number(value: object, column: Column) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise TypeError(f"column {column.title!r}: {value!r} is not a number")
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if not number.is_finite():
        raise ValueError(f"column {column.title!r}: {value!r} is not a finite number")
    return number


def _value(column: Column, row: Sequence[object], value: object) -> tuple[object, int]:
    """(the cell's value as Decimal/int/date/str, its number of decimals) for a non-None cell."""
    if column.kind == "text":
        return str(value), 0
    if column.kind == "date":
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise TypeError(f"column {column.title!r}: {value!r} is not a datetime.date")
        return value, 0
    if column.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"column {column.title!r}: {value!r} is not an int")
        return value, 0
    if column.kind == "money":
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"column {column.title!r}: money is an int of minor units, not {value!r}")
        assert column.currency_column is not None
        currency = row[column.currency_column]
        if not isinstance(currency, str):
            raise ValueError(f"column {column.title!r}: no currency for {value!r} (got {currency!r})")
        places = _exponent(currency)
        return Decimal(value).scaleb(-places), places
    number = _number(value, column)
    fixed = column.decimals if column.decimals is not None else (1 if column.kind == "percent" else None)
    if fixed is None:
        return number, max(0, -int(number.as_tuple().exponent))
    return number.quantize(Decimal(1).scaleb(-fixed), ROUND_HALF_UP), fixed


def _neutral(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def to_csv(sheet: Sheet, language: str) -> bytes:
    decimal_symbol = get_decimal_symbol(locale_for(language))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if decimal_symbol == "," else ",", lineterminator="\r\n")
    writer.writerow([_neutral(column.title) for column in sheet.columns])
    for row in sheet.rows:
        cells = []
        for column, raw in zip(sheet.columns, row, strict=True):
            if raw is None:
                cells.append("")
                continue
            value, _places = _value(column, row, raw)
            if isinstance(value, str):
                cells.append(_neutral(value))
            elif isinstance(value, dt.date):
                cells.append(value.isoformat())
            elif isinstance(value, int):
                cells.append(str(value))
            else:
                cells.append(format(value, "f").replace(".", decimal_symbol))
        writer.writerow(cells)
    return out.getvalue().encode("utf-8-sig")


def sheet_title(title: str) -> str:
    """A worksheet name Excel accepts: at most 31 characters, none of []:*?/\\, no edge apostrophes."""
    cleaned = re.sub(r"[\[\]:*?/\\]", " ", ILLEGAL_CHARACTERS_RE.sub("", title))
    cleaned = re.sub(r"\s+", " ", cleaned).strip().strip("'").strip()
    return cleaned[:31].rstrip().rstrip("'") or "Report"


def _number_format(column: Column, places: int) -> str:
    if column.kind == "date":
        return "yyyy-mm-dd"
    if column.kind == "text":
        return "@"
    fraction = "." + "0" * places if places else ""
    if column.kind == "percent":
        return f"0{fraction}%"
    return f"#,##0{fraction}"


def to_xlsx(sheet: Sheet, language: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet_title(sheet.title)
    wb.properties.title = ILLEGAL_CHARACTERS_RE.sub("", sheet.title)
    wb.properties.creator = "Portal"
    wb.properties.language = str(locale_for(language)).replace("_", "-")  # e.g. "ro-RO"
    widths = [len(column.title) for column in sheet.columns]
    bold = Font(bold=True)
    for number, column in enumerate(sheet.columns, start=1):
        cell = ws.cell(row=1, column=number, value=ILLEGAL_CHARACTERS_RE.sub("", column.title))
        cell.data_type = "s"
        cell.font = bold
    for row_number, row in enumerate(sheet.rows, start=2):
        for number, (column, raw) in enumerate(zip(sheet.columns, row, strict=True), start=1):
            if raw is None:
                continue
            value, places = _value(column, row, raw)
            cell = ws.cell(row=row_number, column=number)
            if isinstance(value, str):
                cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
                cell.data_type = "s"  # never a formula ("=...") or an error code ("#N/A")
                shown = value
            elif column.kind == "percent":
                assert isinstance(value, Decimal)
                cell.value = value / 100
                shown = f"{value:.{places}f}%"
            else:
                cell.value = value
                shown = value.isoformat() if isinstance(value, dt.date) else f"{value:,.{places}f}"
            cell.number_format = _number_format(column, places)
            widths[number - 1] = max(widths[number - 1], max(len(line) for line in shown.splitlines() or [""]))
    for number, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(number)].width = min(MAX_WIDTH, width + 2)
    ws.freeze_panes = "A2"
    if sheet.note:
        cell = ws.cell(row=len(sheet.rows) + 3, column=1, value=ILLEGAL_CHARACTERS_RE.sub("", sheet.note))
        cell.data_type = "s"
        cell.font = Font(italic=True)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


FORMATS: dict[str, tuple[str, Callable[[Sheet, str], bytes]]] = {
    "csv": ("text/csv; charset=utf-8", to_csv),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", to_xlsx),
}


def filename(stem: str, day: dt.date, fmt: str) -> str:
    """e.g. "aging-2026-12-03.xlsx": the stem as ASCII [a-z0-9-] ("report" when nothing is left)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; one of {sorted(FORMATS)}")
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_stem).strip("-") or "report"
    return f"{slug}-{day.isoformat()}.{fmt}"
