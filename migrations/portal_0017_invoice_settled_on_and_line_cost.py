"""For the receivables reports: `invoices.settled_on`, the day an invoice stopped being a receivable
(paid in full, cancelled; a credit note on its own issue date; NULL while open), indexed, and filled
in for the invoices there are; and `invoice_lines.unit_cost_minor`, a line's optional unit cost
(NULL: unknown, which every existing line is).

The backfill:
- a paid invoice: the latest `received_on` of the payments allocated to it (reversals included);
  one paid with no allocation at all (written by hand, never by the portal) falls back to its issue date;
- a cancelled invoice: the issue date of the credit note that credits it, else the (UTC) day of
  `cancelled_at`, else its issue date;
- a credit note: its issue date.

Written by hand; plain SQL accepted by SQLite and PostgreSQL, but for the day of a timestamp."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Serial
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class Invoice(Table, tablename="invoices", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False,
                index_method=IndexMethod.btree, choices=None, db_column_name="id", secret=False)


ID = "2026-12-03T09:00:00:000017"
VERSION = "1.38.0"
DESCRIPTION = "invoices.settled_on (indexed, backfilled) and invoice_lines.unit_cost_minor"

LATEST_RECEIVED = (
    "(SELECT MAX(p.received_on) FROM payment_allocations a JOIN payments p ON p.id = a.payment WHERE a.invoice = invoices.id)"
)
CREDIT_NOTE_DAY = (
    "(SELECT MAX(c.issue_date) FROM invoices c WHERE c.credits_invoice = invoices.id AND c.kind = 'credit_note')"
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def statements():
        # SQLite stores a timestamptz as UTC text, which date() reads; PostgreSQL says the UTC day itself
        cancelled_day = ("date(cancelled_at)" if Invoice._meta.db.engine_type == "sqlite"
                         else "CAST(cancelled_at AT TIME ZONE 'UTC' AS DATE)")
        await Invoice.raw("ALTER TABLE invoices ADD COLUMN settled_on DATE NULL")
        await Invoice.raw("CREATE INDEX invoices_settled_on ON invoices (settled_on)")
        await Invoice.raw("ALTER TABLE invoice_lines ADD COLUMN unit_cost_minor BIGINT NULL")
        await Invoice.raw(
            f"UPDATE invoices SET settled_on = COALESCE({LATEST_RECEIVED}, issue_date) WHERE kind = 'invoice' AND status = 'paid'"
        )
        await Invoice.raw(
            f"UPDATE invoices SET settled_on = COALESCE({CREDIT_NOTE_DAY}, {cancelled_day}, issue_date) "
            "WHERE kind = 'invoice' AND status = 'cancelled'"
        )
        await Invoice.raw("UPDATE invoices SET settled_on = issue_date WHERE kind = 'credit_note'")

    manager.add_raw(statements)
    return manager
