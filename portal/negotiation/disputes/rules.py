"""Disputes and client promises as pure rules: no I/O, no clock (`now`/`today` are arguments).

- the catalogue of dispute reasons and of resolutions (message ids; pages translate them);
- `dispute_refusal(...)`: why an invoice cannot be disputed (paid, cancelled, already disputed,
  answered before), `dispute_until(...)`: how long a dispute may hold the ladder;
- the client's forms: a dispute (reason + comment, required for "other"), a promised date
  (today up to the policy's limit); the staff's: a rejection's answer, a correction's amount;
- `correction_lines(...)`: the lines of a corrected invoice that add up exactly to the amount.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal.billing.rules import Line
from portal.billing.tables import InvoiceKind, InvoiceStatus
from portal.dunning.escalation import rules as transitions
from portal.dunning.escalation.rules import EscalationState as ES
from portal.messages import N_
from portal.money import percent_of, round_half_away
from portal.negotiation.tables import DisputeResolution, DisputeStatus
from portal.web.forms import Checked
from portal.web.i18n import format_date, format_money, gettext as _
from portal.web.local_input import amount_input_value, date_input_value, parse_amount, parse_date

REASONS = {
    "wrong_amount": N_("Wrong amount"),
    "not_received": N_("Goods not received"),
    "quality": N_("Quality problem"),
    "other": N_("Other"),
}
RESOLUTIONS: dict[str, str] = {
    DisputeResolution.CREDIT_NOTE: N_("Credit note: the invoice is cancelled"),
    DisputeResolution.CORRECTION: N_("Corrected invoice issued"),
    DisputeResolution.REJECTED: N_("Rejected with an answer"),
}
RESOLUTIONS_SHORT: dict[str, str] = {
    DisputeResolution.CREDIT_NOTE: N_("credit note"), DisputeResolution.CORRECTION: N_("corrected"), DisputeResolution.REJECTED: N_("rejected"),
}
FILTERS: dict[str, str] = {DisputeStatus.OPEN: N_("Open"), DisputeStatus.RESOLVED: N_("Resolved"), "all": N_("All")}
DEFAULT_FILTER: str = DisputeStatus.OPEN
MAX_COMMENT = 2000
MAX_ANSWER = 2000

# What the client reads about the reminders of an invoice in each escalation state
# (portal.dunning.escalation.rules.STATES); what staff decide internally reads as "running".
CLIENT_STATES: dict[str, str] = {
    ES.RUNNING: N_("Reminders run as usual."),
    ES.AWAITING_APPROVAL: N_("Reminders run as usual."),
    ES.PROMISED: N_("Reminders wait until your promised date."),
    ES.DISPUTED: N_("Reminders wait while we look into your dispute."),
    ES.PROPOSAL: N_("Reminders wait while your repayment proposal is reviewed."),
    ES.ON_PLAN: N_("Your repayment plan steers the reminders."),
    ES.PAUSED: N_("Reminders are paused."),
    ES.CALLBACK: N_("Reminders wait until the call we agreed with you."),
    ES.SETTLED: N_("Nothing more is due on this invoice."),
}
# The same states as staff read them next to a dispute.
STATE_LABELS: dict[str, str] = {
    ES.RUNNING: N_("The ladder runs"),
    ES.AWAITING_APPROVAL: N_("A legal step waits for an admin"),
    ES.CALLBACK: N_("Waiting for an agreed callback"),
    ES.PROMISED: N_("Waiting for a promised payment"),
    ES.DISPUTED: N_("Paused by the dispute"),
    ES.PROPOSAL: N_("Paused: a repayment schedule is negotiated"),
    ES.ON_PLAN: N_("On a repayment plan"),
    ES.PAUSED: N_("Paused by staff"),
    ES.SETTLED: N_("Settled: nothing more happens"),
}
PROMISE_STATES = transitions.sources("promise")
DISPUTE_STATES = transitions.sources("dispute_opened")


def reason_label(reason: str) -> str:
    """The message id of a reason (an unknown one is shown as it is)."""
    return REASONS.get(reason, reason)


def open_invoice(kind: str, status: str) -> bool:
    return kind == InvoiceKind.INVOICE and status == InvoiceStatus.ISSUED


def dispute_refusal(kind: str, status: str, *, open_dispute: bool, answered_before: bool) -> str | None:
    """Why this invoice cannot be disputed (a message id), or None."""
    if kind != InvoiceKind.INVOICE:
        return N_("A credit note cannot be disputed.")
    if status == InvoiceStatus.PAID:
        return N_("This invoice is paid: it can no longer be disputed.")
    if status == InvoiceStatus.CANCELLED:
        return N_("This invoice is cancelled: there is nothing to dispute.")
    if open_dispute:
        return N_("You have already disputed this invoice: we will answer soon.")
    if answered_before:
        return N_("We already answered a dispute of this invoice. Please talk to your account manager.")
    return None


def dispute_until(now: dt.datetime, max_days: int) -> dt.datetime:
    """A dispute holds the ladder at most `max_days` days from the moment it is opened."""
    return now + dt.timedelta(days=max_days)


def days_open(opened_at: dt.datetime, until: dt.datetime) -> int:
    """Whole days between opening and `until` (now, or when it was resolved)."""
    return max((until - opened_at).days, 0)


# --- the client's forms ---------------------------------------------------------------------------

def check_dispute(form: dict[str, str]) -> Checked:
    """reason (one of REASONS), comment (required for "other", at most MAX_COMMENT characters)."""
    out = Checked()
    out.values["reason"] = form.get("reason", "").strip()
    out.values["comment"] = form.get("comment", "").strip()
    if out.values["reason"] not in REASONS:
        out.errors["reason"] = _("Choose what is wrong with the invoice.")
    if out.values["reason"] == "other" and not out.values["comment"]:
        out.errors["comment"] = _("Tell us what is wrong: the comment is needed for \"Other\".")
    elif len(out.values["comment"]) > MAX_COMMENT:
        out.errors["comment"] = _("Keep the comment under %(n)s characters.", n=MAX_COMMENT)
    return out


def check_promise(form: dict[str, str], today: dt.date, max_days: int) -> Checked:
    """promised_date: a date from today up to `max_days` ahead (the firm's policy)."""
    out = Checked()
    raw = form.get("promised_date", "").strip()
    promised = parse_date(raw)
    if promised is None:
        out.errors["promised_date"] = _("Enter the date you will pay by, such as %(example)s.",
                                        example=date_input_value(today + dt.timedelta(days=7)))
        return out
    out.values["promised_date"] = promised
    if promised < today:
        out.errors["promised_date"] = _("That date has passed: choose today or a later day.")
    elif promised > today + dt.timedelta(days=max_days):
        out.errors["promised_date"] = _(
            "You can promise at most %(n)s days ahead, that is by %(last)s. For a longer delay, propose a repayment schedule.",
            n=max_days, last=format_date(today + dt.timedelta(days=max_days)),
        )
    return out


# --- the staff's forms ----------------------------------------------------------------------------

def check_answer(form: dict[str, str], *, required: bool) -> Checked:
    """answer: what the client is told (required when a dispute is rejected)."""
    out = Checked()
    out.values["answer"] = form.get("answer", "").strip()
    if required and not out.values["answer"]:
        out.errors["answer"] = _("Write the answer the client will read: why the invoice stands.")
    elif len(out.values["answer"]) > MAX_ANSWER:
        out.errors["answer"] = _("Keep the answer under %(n)s characters.", n=MAX_ANSWER)
    return out


def check_correction(form: dict[str, str], currency: str, original_total_minor: int) -> Checked:
    """amount: the corrected invoice's total, VAT included, more than zero and not the same;
    answer: optional words for the client."""
    out = check_answer(form, required=False)
    raw = form.get("amount", "").strip()
    try:
        amount = parse_amount(raw, currency)
    except ValueError:
        out.errors["amount"] = _("Enter the corrected total such as %(example)s.", example=amount_input_value(125050, currency))
        return out
    if amount <= 0:
        out.errors["amount"] = _("The corrected total must be more than zero; to cancel the whole invoice, issue a credit note.")
    elif amount == original_total_minor:
        out.errors["amount"] = _("That is the invoice's own total (%(total)s): reject the dispute instead.",
                                 total=format_money(original_total_minor, currency))
    out.values["amount_minor"] = amount
    return out


@dataclass(frozen=True)
class CorrectionRefused(Exception):
    """No lines at the invoice's VAT rates add up to exactly the amount; the nearest that do."""

    below: int
    above: int


def _net_for(total_minor: int, rate_bp: int) -> int | None:
    """A net amount whose total with VAT at `rate_bp` is exactly `total_minor`, or None."""
    guess = round_half_away(total_minor * 10_000, 10_000 + rate_bp)
    for net in (guess, guess - 1, guess + 1, guess - 2, guess + 2):
        if net + percent_of(net, rate_bp) == total_minor:
            return net
    return None


def _nearest(total_minor: int, rate_bp: int) -> tuple[int, int]:
    guess = round_half_away(total_minor * 10_000, 10_000 + rate_bp)
    totals = sorted({n + percent_of(n, rate_bp) for n in range(max(guess - 3, 1), guess + 4)})
    below = max((t for t in totals if t < total_minor), default=total_minor)
    above = min((t for t in totals if t > total_minor), default=total_minor)
    return below, above


def correction_lines(lines: list[dict], total_minor: int, code: str) -> list[Line]:
    """The corrected invoice's lines: one per VAT rate of the original (`lines`: net_minor,
    vat_rate_bp), the amount shared out in the original's proportions, adding up to exactly
    `total_minor` VAT included. Raises CorrectionRefused when no such lines exist (a total that
    VAT rounding skips); the exception carries the nearest totals that work."""
    if total_minor <= 0:
        raise ValueError("a corrected invoice is for more than zero")
    groups: dict[int, int] = {}
    for line in lines:
        groups[line["vat_rate_bp"]] = groups.get(line["vat_rate_bp"], 0) + line["net_minor"]
    rates = [rate for rate in groups if groups[rate] > 0] or [next(iter(groups), 0)]
    description = f"Corrected amount of invoice {code}"
    if len(rates) == 1:
        net = _net_for(total_minor, rates[0])
        if net is None:
            raise CorrectionRefused(*_nearest(total_minor, rates[0]))
        return [Line(description, 1, net, rates[0])]
    gross = {rate: groups[rate] + percent_of(groups[rate], rate) for rate in rates}
    whole = sum(gross.values())
    *first, last = rates
    shares = {rate: round_half_away(total_minor * gross[rate], whole) for rate in first}
    for nudge in (0, -1, 1, -2, 2):  # move a minor unit between the first and the last share when VAT rounding skips
        nets = {rate: round_half_away(shares[rate] * 10_000, 10_000 + rate) for rate in first}
        nets[first[0]] += nudge
        taken = sum(n + percent_of(n, rate) for rate, n in nets.items())
        last_net = _net_for(total_minor - taken, last) if total_minor - taken > 0 else None
        if last_net is not None and all(n > 0 for n in nets.values()):
            nets[last] = last_net
            return [Line(f"{description}, VAT {rate / 100:g}%", 1, nets[rate], rate) for rate in rates]
    raise CorrectionRefused(*_nearest(total_minor, last))
