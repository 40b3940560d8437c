"""Pure invoice arithmetic: line and invoice totals in integer minor units.

Rounding rule: VAT is computed per line on the line's net amount and rounded half away
from zero to the minor unit (portal.money.percent_of); invoice totals are sums of lines.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal.money import percent_of


@dataclass(frozen=True)
class Line:
    description: str
    quantity: int
    unit_price_minor: int
    vat_rate_bp: int

    @property
    def net_minor(self) -> int:
        return self.quantity * self.unit_price_minor

    @property
    def vat_minor(self) -> int:
        return percent_of(self.net_minor, self.vat_rate_bp)

    @property
    def total_minor(self) -> int:
        return self.net_minor + self.vat_minor


@dataclass(frozen=True)
class Totals:
    net_minor: int
    vat_minor: int
    total_minor: int


def totals(lines: list[Line]) -> Totals:
    return Totals(
        net_minor=sum(line.net_minor for line in lines),
        vat_minor=sum(line.vat_minor for line in lines),
        total_minor=sum(line.total_minor for line in lines),
    )


def due_date(issue_date: dt.date, payment_terms_days: int) -> dt.date:
    return issue_date + dt.timedelta(days=payment_terms_days)


def invoice_code(series: str, year: int, number: int) -> str:
    return f"{series}-{year}-{number:05d}"


def status_after_payment(total_minor: int, paid_minor: int, current: str) -> str:
    if current == "cancelled":
        return current
    return "paid" if paid_minor >= total_minor else "issued"
