"""ABC analysis of clients (DOMAIN.md section 3): rank by a value (sales volume, or gross margin
where the cost is known), class A for the biggest that together bring the first 80 % of it, B
for the next 15 %, C for the rest (the shares are settings); and a payment-discipline score.

A client's class follows the cumulative share of the clients ranked before it: the client that
crosses 80 % is still A. A client with nothing (or less than nothing) is C.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from portal.messages import N_

CLASSES = ("A", "B", "C")
DEFAULT_SHARES = (80, 15)  # A, B; C takes the rest


@dataclass(frozen=True)
class Ranked:
    client_id: int
    value: int
    share: float  # of the total, in percent
    cumulative: float  # up to and including this client, in percent
    cls: str


def check_shares(a: int, b: int) -> str | None:
    """Why these shares cannot be used, or None."""
    if not (1 <= a <= 98 and 1 <= b <= 98 and a + b <= 99):
        return N_("A and B must each be 1 to 98 %%, and together leave at least 1 %% for C.")
    return None


def classify(values: Sequence[tuple[int, int]], shares: tuple[int, int] = DEFAULT_SHARES) -> list[Ranked]:
    """[(client_id, value)] ranked biggest first (ties by id), each with its class."""
    a_limit, b_limit = shares[0], shares[0] + shares[1]
    ordered = sorted(values, key=lambda cv: (-cv[1], cv[0]))
    total = sum(v for _, v in ordered if v > 0)
    out, before = [], 0.0
    for client_id, value in ordered:
        share = value / total * 100 if total and value > 0 else 0.0
        cls = "C" if value <= 0 else ("A" if before < a_limit else "B" if before < b_limit else "C")
        before += share
        out.append(Ranked(client_id, value, share, min(before, 100.0), cls))
    return out


@dataclass(frozen=True)
class Discipline:
    paid: int  # invoices paid in full in the period
    on_time: int
    days_late: int  # summed over the ones paid late
    broken_promises: int = 0
    broken_plans: int = 0

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.paid * 100 if self.paid else None

    @property
    def average_days_late(self) -> float | None:
        late = self.paid - self.on_time
        return self.days_late / late if late else None

    @property
    def score(self) -> int | None:
        """0..100: the share paid on time, less half a point per average day late (at most 30),
        10 per broken promise and 15 per broken plan. None when nothing was paid or broken."""
        if not self.paid and not self.broken_promises and not self.broken_plans:
            return None
        value = (self.on_time_share if self.paid else 100.0) or 0.0
        value -= min((self.average_days_late or 0.0) / 2, 30.0)
        value -= 10 * self.broken_promises + 15 * self.broken_plans
        return max(0, min(100, round(value)))


SCORE_FORMULA = N_("share paid on time (0–100) − min(average days late ÷ 2, 30) − 10 × broken promises − 15 × broken plans")
