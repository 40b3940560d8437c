"""CSV exports of internet banking, read with the stdlib csv module through a per-account mapping of
the bank's column names (CsvMapping, stored as JSON with the account).

No package fits: every bank has its own columns, so the mapping names them. Header names match
exactly or, failing that, ignoring case and surrounding spaces. A UTF-8 byte-order mark is dropped
whatever encoding the mapping names (it says UTF-8 unambiguously). Rows whose cells are all empty
are skipped; any other row must have a date and an amount, or the file is refused with the line.
Amounts: "-1.234,56", "1 234,56", "1'234.56", "(89,90)", "89,90-" with the mapping's decimal
separator; with separate credit and debit columns the debit is money out whatever its sign.
The file does not say which account it is for: Statement.iban and .currency are "".
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime
import io
import json
import re
from dataclasses import dataclass
from decimal import Decimal

from portal.bank.formats.model import Statement, StatementError, StatementLine, clean_iban, clean_text, to_minor
from portal.messages import N_

_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+")
_FORMAT_WORDS = {"%d": "DD", "%m": "MM", "%Y": "YYYY", "%y": "YY", "%H": "hh", "%M": "mm", "%S": "ss", "%b": "Mon", "%B": "Month"}


@dataclass(frozen=True)
class CsvMapping:
    delimiter: str = ";"
    skip_rows: int = 0  # lines before the header row
    date_column: str = ""  # header names
    date_format: str = "%d.%m.%Y"
    amount_column: str = ""  # signed amount, or credit_column/debit_column instead
    credit_column: str = ""
    debit_column: str = ""
    decimal_separator: str = ","  # "," or "."; thousands separators (space, ".", ",", "'") removed
    currency_column: str = ""  # else the account's currency is used
    text_column: str = ""
    payer_name_column: str = ""
    payer_iban_column: str = ""
    reference_column: str = ""
    encoding: str = "utf-8"  # "utf-8" (BOM allowed) or e.g. "cp1250"

    def __post_init__(self) -> None:
        if len(self.delimiter) != 1 or self.delimiter in "\r\n\"":
            raise StatementError(N_("The CSV separator must be a single character."))
        if self.decimal_separator not in (",", "."):
            raise StatementError(N_("The decimal separator must be a comma or a point."))
        if isinstance(self.skip_rows, bool) or not isinstance(self.skip_rows, int) or self.skip_rows < 0:
            raise StatementError(N_("The number of lines before the header row must be 0 or more."))
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise StatementError(N_("The encoding %(encoding)s is not known."), encoding=self.encoding) from None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CsvMapping:
        """The mapping to_json wrote; keys it does not know are ignored, keys it lacks take their defaults."""
        try:
            values = json.loads(text)
        except ValueError:
            raise StatementError(N_("The CSV column mapping could not be read.")) from None
        if not isinstance(values, dict):
            raise StatementError(N_("The CSV column mapping could not be read."))
        known = {field.name for field in dataclasses.fields(cls)}
        chosen = {name: value for name, value in values.items() if name in known}
        for name, value in chosen.items():
            wanted = int if name == "skip_rows" else str
            if not isinstance(value, wanted) or isinstance(value, bool):
                raise StatementError(N_("The CSV column mapping could not be read."))
        return cls(**chosen)


def _shown_format(date_format: str) -> str:
    for code, word in _FORMAT_WORDS.items():
        date_format = date_format.replace(code, word)
    return date_format


def _amount(raw: str, decimal_separator: str, *, line: int) -> Decimal:
    value = "".join(raw.split()).replace("\u2212", "-")
    negative = False
    if value.startswith("(") and value.endswith(")"):
        negative, value = True, value[1:-1]
    if value[:1] in "+-" and value:
        negative, value = negative or value[0] == "-", value[1:]
    elif value[-1:] in "+-" and value:
        negative, value = negative or value[-1] == "-", value[:-1]
    for separator in ".,'":
        if separator != decimal_separator:
            value = value.replace(separator, "")
    value = value.replace(decimal_separator, ".")
    if not _NUMBER.fullmatch(value):
        raise StatementError(N_("Line %(line)s: the amount %(value)s is not a number."), line=line, value=raw)
    return -Decimal(value) if negative else Decimal(value)


def _decode(data: bytes, encoding: str) -> str:
    if data.startswith(codecs.BOM_UTF8) or codecs.lookup(encoding).name == "utf-8":
        encoding = "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise StatementError(
            N_("The file is not in the %(encoding)s encoding (the first character that does not fit is on line %(line)s)."),
            encoding=encoding.removesuffix("-sig"), line=data.count(b"\n", 0, error.start) + 1,
        ) from None


def _header_index(header: list[str], column: str, *, line: int) -> int:
    names = [name.strip() for name in header]
    for candidates in (names, [name.casefold() for name in names]):
        wanted = column.strip() if candidates is names else column.strip().casefold()
        if wanted in candidates:
            return candidates.index(wanted)
    raise StatementError(
        N_("The column %(column)s is not in the header row (line %(line)s). The file's columns are: %(columns)s."),
        column=column, line=line, columns=", ".join(name for name in names if name),
    )


def parse_csv(data: bytes, mapping: CsvMapping, *, account_currency: str = "") -> list[Statement]:
    if not data.strip():
        raise StatementError(N_("The file is empty."))
    if not mapping.date_column:
        raise StatementError(N_("The CSV column mapping does not say which column holds the date."))
    if not mapping.amount_column and not (mapping.credit_column or mapping.debit_column):
        raise StatementError(N_("The CSV column mapping does not say which column holds the amount (or the credit and debit columns)."))
    if not mapping.currency_column and not account_currency:
        raise StatementError(N_("The CSV file does not say the currency, and the account has none set."))
    text = _decode(data, mapping.encoding)
    breaks = list(re.finditer(r"\r\n|\r|\n", text))
    if len(breaks) < mapping.skip_rows:
        raise StatementError(N_("The file has no header row after the %(count)s lines skipped before it."), count=mapping.skip_rows)
    body = text[breaks[mapping.skip_rows - 1].end():] if mapping.skip_rows else text
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=mapping.delimiter)
    line = mapping.skip_rows + 1
    rows = []
    try:
        for row in reader:
            rows.append((line, row))
            line = mapping.skip_rows + reader.line_num + 1
    except csv.Error:
        raise StatementError(N_("Line %(line)s could not be read as CSV."), line=line) from None
    rows = [(number, row) for number, row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise StatementError(N_("The file has no header row after the %(count)s lines skipped before it."), count=mapping.skip_rows)
    header_line, header = rows[0]
    columns = {
        field: _header_index(header, getattr(mapping, field), line=header_line)
        for field in ("date_column", "amount_column", "credit_column", "debit_column", "currency_column", "text_column",
                      "payer_name_column", "payer_iban_column", "reference_column")
        if getattr(mapping, field)
    }

    lines = []
    for number, row in rows[1:]:
        def cell(field: str, row: list[str] = row) -> str:
            index = columns.get(field)
            return row[index].strip() if index is not None and index < len(row) else ""

        raw_date = cell("date_column")
        if not raw_date:
            raise StatementError(N_("Line %(line)s: the date is missing."), line=number)
        try:
            booked_on = datetime.datetime.strptime(raw_date, mapping.date_format).date()
        except ValueError:
            raise StatementError(
                N_("Line %(line)s: the date %(value)s does not match the format %(format)s."),
                line=number, value=raw_date, format=_shown_format(mapping.date_format),
            ) from None
        if mapping.amount_column:
            raw = cell("amount_column")
            if not raw:
                raise StatementError(N_("Line %(line)s: the amount is missing."), line=number)
            amount = _amount(raw, mapping.decimal_separator, line=number)
        else:
            credit, debit = cell("credit_column"), cell("debit_column")
            if not credit and not debit:
                raise StatementError(N_("Line %(line)s: the amount is missing."), line=number)
            raw = credit or debit
            amount = Decimal(0)
            if credit:
                amount += abs(_amount(credit, mapping.decimal_separator, line=number))
            if debit:
                amount -= abs(_amount(debit, mapping.decimal_separator, line=number))
        currency = (cell("currency_column") or account_currency).upper()
        lines.append(StatementLine(
            booked_on=booked_on,
            value_date=None,
            amount_minor=to_minor(amount, currency, line=number, shown=raw),
            currency=currency,
            reversal=False,
            bank_reference=clean_text(cell("reference_column")),
            end_to_end_id="",
            payer_name=clean_text(cell("payer_name_column")),
            payer_iban=clean_iban(cell("payer_iban_column")),
            text=clean_text(cell("text_column")),
        ))
    return [Statement(iban="", currency="", statement_id="", lines=tuple(lines))]
