"""SWIFT MT940 customer statements, read with the mt-940 package (WoLpH's mt940) through its
Transactions model, with every fix of mt940.Options switched on (a reversal of a credit RC is a
debit, ?31 is the counterparty's IBAN, a structured :86: does not wipe the :61: fields, :86: of
any length, a byte-order mark dropped).

What is done here rather than by the package, and why:
- Decoding: the package tries utf-8, then cp852 (a DOS code page). Statements from Romanian,
  Hungarian and Polish banks come as utf-8 or cp1250, so the file is decoded here, utf-8 first and
  cp1250 after (latin-1 for the few bytes cp1250 leaves undefined); Cyrillic survives in utf-8 only.
- mt940.parse()/parse_statements() read a file when the data they are given is the name of one, so
  an uploaded file whose content is "/etc/passwd" would read that file: the Transactions model is
  used directly, one per message, split on :20: the way parse_statements splits.
- The SWIFT envelope ({1:...}{2:...}{4: ... -}{5:...}) is removed first: the package does not know
  it, and the header of the next message would end up in the text of the last line before it.
- An :86: after the closing balance (:62F:/:62M:) is information about the statement, not about
  the last :61:, to whose text the package would add it: it is dropped.
- The package starts a new transaction at a :61: only when the one before has its transaction type
  (NTRF...); otherwise it merges them and lines are lost, so such a file is refused.
- A structured :86: that starts with ?NN subfields without the 3-digit transaction code in front is
  given "000" so that the package's ?-subfield parser reads it.

What a line is made of: booked_on the entry date of :61: (else its value date), value_date its
value date; C and RD are money in, D and RC money out, RC/RD are reversals; bank_reference the
reference after //; from a structured :86:, end_to_end_id EREF+, payer_name ?32/?33, payer_iban ?31
(else IBAN+) when it has the shape of an IBAN, text the purpose ?20-?29 (joined without a space, as
the bank cut it into 27-character pieces: an invoice number split over two pieces stays whole) and
?60-?63; from free-text :86:, the text only. The statement's account is the IBAN in :25: (without
a currency code appended), else :25: as it is; statement_id is :28C: (number/sequence), else :20:.
"""

from __future__ import annotations

import datetime
import logging
import re
from decimal import Decimal
from typing import Any

import mt940

from portal.bank.formats.model import Statement, StatementError, StatementLine, clean_iban, clean_text, iban_is_valid, to_minor
from portal.messages import N_

OPTIONS = mt940.Options.all()
# The package logs a field it cannot read at ERROR, with the uploaded data and its regex: parse_mt940 tells the uploader
# instead, and bank data stays out of the logs.
logging.getLogger("mt940").setLevel(logging.CRITICAL)
_ENVELOPE = re.compile(r"\{[1235]:(?:[^{}]|\{[^{}]*\})*\}|\{4:|^-\}", re.MULTILINE)
_MESSAGE_START = re.compile(r"^:20:", re.MULTILINE)
_STATEMENT_LINE = re.compile(r"^:61:", re.MULTILINE)
_CLOSING_BALANCE = re.compile(r"^:62[FM]?:", re.MULTILINE)
_DETAILS_TAG = re.compile(r"^:86:.*?(?=^:[0-9]{2}[A-Z]?:|\Z)", re.MULTILINE | re.DOTALL)
_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}")


def decode(data: bytes) -> str:
    data = data.removeprefix(b"\xef\xbb\xbf")
    for encoding in ("utf-8", "cp1250"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _subfields_without_code(transactions: Any, tag: Any, tag_dict: dict[str, Any]) -> dict[str, Any]:
    """pre_transaction_details processor: "?20..." -> "000?20..." so the package parses the subfields."""
    details = tag_dict.get("transaction_details") or ""
    if re.match(r"\?[0-9]{2}", details):
        tag_dict["transaction_details"] = "000" + details
    return tag_dict


def _drop_statement_information(block: str) -> str:
    last_line = list(_STATEMENT_LINE.finditer(block))
    closing = _CLOSING_BALANCE.search(block, last_line[-1].end() if last_line else 0)
    if not closing:
        return block
    tail = _DETAILS_TAG.sub(lambda found: "\n" * found.group(0).count("\n"), block[closing.start():])
    return block[:closing.start()] + tail


def _account(value: str, currency: str) -> str:
    account = clean_iban(value)
    candidates = [account, *account.split("/")]
    if currency:
        candidates += [c.removesuffix(currency) for c in candidates if c.endswith(currency)]
    for candidate in candidates:
        if iban_is_valid(candidate):
            return candidate
    return account


def _date(value: Any) -> datetime.date:
    return datetime.date(value.year, value.month, value.day)


def _line(data: dict[str, Any], line: int, fallback_currency: str) -> StatementLine:
    status = str(data.get("status") or "").upper()
    magnitude: Decimal = abs(data["amount"].amount)
    currency = str(data.get("currency") or fallback_currency or "").upper()
    sign = 1 if status in ("C", "RD") else -1
    value_date = _date(data["date"])
    entry_date = data.get("entry_date")
    details = data.get("transaction_details")
    if details is None:  # structured :86:, taken apart into subfields
        text = clean_text(data.get("purpose"), data.get("additional_purpose")) or clean_text(data.get("posting_text"))
    else:
        text = clean_text(details)
    end_to_end = clean_text(data.get("end_to_end_reference"))
    iban = ""
    for candidate in (clean_iban(data.get("applicant_iban")), clean_iban(data.get("gvc_applicant_iban"))):
        if _IBAN_SHAPE.fullmatch(candidate):
            iban = candidate
            break
    return StatementLine(
        booked_on=_date(entry_date) if entry_date else value_date,
        value_date=value_date,
        amount_minor=sign * to_minor(magnitude, currency, line=line),
        currency=currency,
        reversal=status.startswith("R"),
        bank_reference=clean_text(data.get("bank_reference")),
        end_to_end_id="" if end_to_end.upper() == "NOTPROVIDED" else end_to_end,
        payer_name=clean_text(data.get("applicant_name")),
        payer_iban=iban,
        text=text or clean_text(data.get("extra_details")),
    )


def _line_number(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def parse_mt940(data: bytes, *, account_currency: str = "") -> list[Statement]:
    if not data.strip():
        raise StatementError(N_("The file is empty."))
    text = _ENVELOPE.sub("", decode(data).replace("\r\n", "\n").replace("\r", "\n"))
    starts = [found.start() for found in _MESSAGE_START.finditer(text)]
    if not starts:
        raise StatementError(N_("This is not an MT940 file: it has no :20: field."))
    if not _STATEMENT_LINE.search(text):
        raise StatementError(N_("The MT940 file has no transaction lines (:61:)."))
    statements = []
    for start, end in zip(starts, [*starts[1:], len(text)], strict=True):
        block = _drop_statement_information(text[start:end])
        first_line = _line_number(text, start)
        line_numbers = [first_line + _line_number(block, found.start()) - 1 for found in _STATEMENT_LINE.finditer(block)]
        transactions = mt940.models.Transactions(processors={"pre_transaction_details": [_subfields_without_code]}, options=OPTIONS)
        try:
            transactions.parse(block)
        except RuntimeError as error:  # a field that does not match its pattern: (message, tag, value)
            tag, value = (error.args[1], str(error.args[2])) if len(error.args) > 2 else (None, "")
            position = block.find(value.split("\n")[0]) if value else -1
            raise StatementError(
                N_("Line %(line)s: the MT940 field :%(tag)s: could not be read: %(value)s"),
                line=first_line + _line_number(block, position) - 1 if position >= 0 else first_line,
                tag=getattr(tag, "id", "?"), value=value[:80],
            ) from None
        except (ArithmeticError, ValueError, KeyError, TypeError, AttributeError, IndexError):  # an impossible date or amount
            raise StatementError(N_("The MT940 statement that starts at line %(line)s could not be read."), line=first_line) from None
        if len(transactions) != len(line_numbers):
            # The package starts a transaction at a :61: only when the one before has its transaction type (NTRF, NMSC...);
            # without it the lines would merge into one and money would go missing.
            raise StatementError(
                N_(
                    "The MT940 statement that starts at line %(line)s has :61: lines without a transaction type (such as NTRF), "
                    "so they cannot be told apart."
                ),
                line=first_line,
            )
        currency = str(transactions.currency or account_currency or "").upper()
        lines = [_line(transaction.data, line, currency) for transaction, line in zip(transactions, line_numbers, strict=True)]
        number, sequence = transactions.data.get("statement_number"), transactions.data.get("sequence_number")
        statement_id = f"{number}/{sequence}" if number and sequence else str(number or transactions.data.get("transaction_reference") or "")
        statements.append(Statement(
            iban=_account(str(transactions.data.get("account_identification") or ""), currency),
            currency=str(transactions.currency or "").upper(),
            statement_id=statement_id.strip(),
            lines=tuple(lines),
        ))
    return statements
