"""Bank statement files a credit controller uploads, read into Statements of StatementLines: ISO 20022
camt.052/053/054 (camt.py, with pycamt), SWIFT MT940 (mt940.py, with mt-940) and CSV with a
per-account column mapping (csv_mapped.py, with the stdlib csv module). Each module's docstring
says what it adapts of its library and why.

parse() refuses what it cannot read with a StatementError worded for the uploader (a message id
marked with N_ and its parameters, naming the line where it can); it raises nothing else for a bad
file. Amounts are integer minor units, read with decimal.Decimal.
"""

from __future__ import annotations

import re

from portal.bank.formats.camt import parse_camt
from portal.bank.formats.csv_mapped import CsvMapping, parse_csv
from portal.bank.formats.model import Statement, StatementError, StatementLine
from portal.bank.formats.mt940 import parse_mt940
from portal.messages import N_

__all__ = ["FORMATS", "CsvMapping", "Statement", "StatementError", "StatementLine", "detect_format", "parse"]

FORMATS = ("camt", "mt940", "csv")

_XML_START = re.compile(rb"\s*<[?!A-Za-z_]")
_CAMT = re.compile(rb"urn:iso:std:iso:20022:tech:xsd:camt\.05[234]\.|<(?:\w+:)?BkToCstmr(?:Stmt|AcctRpt|DbtCdtNtfctn)\b")
_MT940_TAGS = (re.compile(rb"^:20:", re.MULTILINE), re.compile(rb"^:61:", re.MULTILINE))


def _looks_like_xml(data: bytes) -> bool:
    return bool(_XML_START.match(data.removeprefix(b"\xef\xbb\xbf")))


def detect_format(data: bytes) -> str:
    """"camt" for XML whose namespace or message element says camt.052/053/054, "mt940" when it has :20: and :61: tags, else "csv"."""
    if _looks_like_xml(data) and _CAMT.search(data[:65536]):
        return "camt"
    if all(tag.search(data) for tag in _MT940_TAGS):
        return "mt940"
    return "csv"


def parse(data: bytes, *, fmt: str | None = None, csv_mapping: CsvMapping | None = None, account_currency: str = "") -> list[Statement]:
    """Every statement in the file (several <Stmt> of one camt document, several MT940 messages), in file order."""
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"unknown statement format {fmt!r}, expected one of {FORMATS}")
    if not data.strip():
        raise StatementError(N_("The file is empty."))
    if fmt is None:
        fmt = detect_format(data)
        if fmt == "csv" and _looks_like_xml(data):
            fmt = "camt"  # says why it is not a statement it can read (not XML, not camt, a DOCTYPE)
        elif fmt == "csv" and _MT940_TAGS[0].search(data):
            fmt = "mt940"  # an MT940 file without :61: lines (no CSV row starts with ":20:"): say so
    account_currency = account_currency.strip().upper()
    if fmt == "camt":
        return parse_camt(data)
    if fmt == "mt940":
        return parse_mt940(data, account_currency=account_currency)
    if csv_mapping is None:
        raise StatementError(N_(
            "This file is neither a camt nor an MT940 statement. To import a CSV export, first set up the account's CSV column mapping."
        ))
    return parse_csv(data, csv_mapping, account_currency=account_currency)
