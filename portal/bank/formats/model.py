"""What every statement format parses into, and the few rules they share: amounts become integer
minor units through decimal.Decimal (never float), text has its whitespace collapsed, IBANs are
uppercase without spaces, and whatever is wrong with a file is a StatementError worded for the
person who uploaded it."""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from portal.messages import N_
from portal.money import CURRENCIES


@dataclass(frozen=True)
class StatementLine:
    booked_on: datetime.date
    value_date: datetime.date | None
    amount_minor: int  # integer minor units (portal.money.exponent(currency) digits); positive = money in (credit), negative = money out (debit)
    currency: str  # ISO 4217
    reversal: bool  # the bank reverses an earlier entry (camt RvslInd=true; MT940 RC/RD)
    bank_reference: str  # the bank's own reference for the entry (camt AcctSvcrRef, else NtryRef; MT940 the bank reference after //), "" when none
    end_to_end_id: str  # camt EndToEndId ("" or "NOTPROVIDED" -> ""); MT940 EREF+ in ?-subfields when present
    payer_name: str  # the counterparty: for a credit the debtor (Dbtr/Nm), for a debit the creditor
    payer_iban: str  # counterparty IBAN, uppercase without spaces, "" when none
    text: str  # remittance information, whitespace collapsed (see each format's module for what it is made of)


@dataclass(frozen=True)
class Statement:
    iban: str  # the account the statement is for, uppercase no spaces ("" if the format lacks it, e.g. CSV)
    currency: str  # the account's currency ("" if not in the file)
    statement_id: str  # camt Stmt/Id or Ntfctn/Id; MT940 :28C: / :20:
    lines: tuple[StatementLine, ...]


class StatementError(ValueError):
    """What is wrong with the file, worded for the person who uploaded it: args[0] is an English message id marked with
    portal.messages.N_ (python-format, e.g. N_("Line %(line)s: the amount %(value)s is not a number.")), .params a dict for it."""

    def __init__(self, message: str, **params: object):
        super().__init__(message)
        self.message = message
        self.params: dict[str, object] = params

    def __str__(self) -> str:
        try:
            return self.message % self.params if self.params else self.message
        except (KeyError, TypeError, ValueError):
            return f"{self.message} {self.params}"


def clean_text(*parts: str | None) -> str:
    """The parts joined with one space, every run of whitespace collapsed, in Unicode NFC (some banks send
    decomposed diacritics: "a" + combining breve instead of "ă")."""
    joined = " ".join(part for part in parts if part)
    return " ".join(unicodedata.normalize("NFC", joined).split())


def clean_iban(value: str | None) -> str:
    """Uppercase, without spaces (nor the no-break spaces some exports put between the groups)."""
    return "".join((value or "").split()).upper()


def iban_is_valid(value: str) -> bool:
    """The ISO 13616 mod-97 check on an IBAN that is already uppercase without spaces."""
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}", value):
        return False
    rearranged = value[4:] + value[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def currency_exponent(currency: str, *, line: object) -> int:
    exponent = CURRENCIES.get(currency)
    if exponent is None:
        if not currency:
            raise StatementError(N_("Line %(line)s: the entry does not say its currency."), line=line)
        raise StatementError(N_("Line %(line)s: the currency %(currency)s is not one the portal handles."), line=line, currency=currency)
    return exponent


def to_minor(amount: Decimal | str, currency: str, *, line: object, shown: str | None = None) -> int:
    """An amount (a Decimal, or text with "." as decimal point) as integer minor units of the currency. Refuses
    what is not a finite number and an amount with more decimals than the currency has (12.345 EUR)."""
    shown = shown if shown is not None else str(amount)
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(amount.strip())
    except InvalidOperation:
        raise StatementError(N_("Line %(line)s: the amount %(value)s is not a number."), line=line, value=shown) from None
    if not value.is_finite():
        raise StatementError(N_("Line %(line)s: the amount %(value)s is not a number."), line=line, value=shown)
    exponent = currency_exponent(currency, line=line)
    scaled = value.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise StatementError(
            N_("Line %(line)s: the amount %(value)s has more decimals than %(currency)s has (%(digits)s)."),
            line=line, value=shown, currency=currency, digits=exponent,
        )
    return int(scaled)
