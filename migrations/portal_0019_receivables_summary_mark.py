"""The receivables summary's index (a report reads one month of every client, or every month of
one client), payments by the day received (a refresh reads a month's money), and the summary's one
mark row, which a refresh locks. Runs on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Serial
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class SummaryMark(Table, tablename="report_summary_marks", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False,
                index_method=IndexMethod.btree, choices=None, db_column_name="id", secret=False)


ID = "2026-12-03T20:30:00:000019"
VERSION = "1.38.0"
DESCRIPTION = "receivables summary: (month, client) index, payments by received_on, the mark row"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def index_and_mark():
        await SummaryMark.raw("CREATE INDEX report_client_months_month ON report_client_months (month, client)")
        # a refresh reads the money received in the months it rebuilds (the current one, mostly)
        await SummaryMark.raw("CREATE INDEX payments_received_on ON payments (received_on)")
        await SummaryMark.raw("INSERT INTO report_summary_marks (last_invoice_id, last_payment_id, millis) VALUES (0, 0, 0)")

    manager.add_raw(index_and_mark)
    return manager
