"""The receivables summary the tick keeps current: per client, currency and month, what was
invoiced and collected in the month and what stood open at its end (for the current month: as of
the last refresh), by aging bucket; and per ladder step, the money that came after it.

Rebuilt from invoices and payments by portal.reports.receivables.summary (never edited by hand):
a backdated payment or invoice rebuilds the months from its date on. A client's sales manager and
segment are read from the client when a report is drawn, so reports follow today's assignment.
"""

from piccolo.columns import BigInt, Date, ForeignKey, Integer, Serial, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portal.clients.tables import Client
from portal.dunning.ladders.tables import LadderStep


class ClientMonth(Table, tablename="report_client_months"):
    id: Serial  # the primary key Piccolo adds, declared for the type checker
    month = Date()  # the first day of the month; indexed with client by the migration
    client = ForeignKey(references=Client, index=True, on_delete=OnDelete.cascade)
    currency = Varchar(length=3)
    as_of = Date()  # the month's last day, or the refresh's day for the current month
    sales_minor = BigInt(default=0)  # invoices issued in the month, net of credit notes issued in it
    invoices = Integer(default=0)  # invoices (not credit notes) issued in the month
    collected_minor = BigInt(default=0)  # allocations of payments received in the month (reversals negative)
    open_minor = BigInt(default=0)  # open at `as_of`: the sum of the six buckets
    open_invoices = Integer(default=0)
    not_due_minor = BigInt(default=0)
    d1_30_minor = BigInt(default=0)
    d31_60_minor = BigInt(default=0)
    d61_90_minor = BigInt(default=0)
    d91_180_minor = BigInt(default=0)
    over_180_minor = BigInt(default=0)
    overdue_days_minor = BigInt(default=0)  # sum of balance x days overdue at `as_of` (weighted days late)
    settled = Integer(default=0)  # invoices paid in full in the month
    settled_on_time = Integer(default=0)  # ... on or before their due date
    days_late = Integer(default=0)  # sum of days late of the ones paid late
    costed_net_minor = BigInt(default=0)  # net of the month's invoice lines whose cost is known
    cost_minor = BigInt(default=0)  # ... and their cost


class StepMonth(Table, tablename="report_step_months"):
    """Money received in a month on invoices that stood at a ladder step (NULL: no step yet)."""

    id: Serial
    month = Date(index=True)
    client = ForeignKey(references=Client, index=True, on_delete=OnDelete.cascade)
    currency = Varchar(length=3)
    step = ForeignKey(references=LadderStep, null=True, on_delete=OnDelete.set_null)
    amount_minor = BigInt(default=0)
    invoices = Integer(default=0)


class SummaryMark(Table, tablename="report_summary_marks"):
    """How far the summary has read: one row. Locked by a refresh so two never run at once."""

    id: Serial
    last_invoice_id = Integer(default=0)
    last_payment_id = Integer(default=0)
    built_on = Date(null=True, default=None)  # the firm's day of the last refresh
    built_from = Date(null=True, default=None)  # the first month the last refresh rebuilt
    refreshed_at = Timestamptz(null=True, default=None)
    millis = Integer(default=0)  # how long the last refresh took
