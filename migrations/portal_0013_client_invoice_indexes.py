"""The client's invoice list and balance read through indexes of their own: the list is keyset-paged
on (due_date, id) within one client, so a page reads its 51 rows in index order instead of sorting
all of the client's invoices; the balance sums the client's open invoices only. Runs on SQLite and
PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Serial
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class Invoice(Table, tablename="invoices", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False,
                index_method=IndexMethod.btree, choices=None, db_column_name="id", secret=False)


ID = "2026-11-30T11:30:00:000013"
VERSION = "1.38.0"
DESCRIPTION = "invoices: (client, due_date, id) for the client's keyset pages; the client's open invoices for the balance"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def indexes():
        await Invoice.raw("CREATE INDEX invoices_client_due ON invoices (client, due_date, id)")
        await Invoice.raw("CREATE INDEX invoices_client_open ON invoices (client, currency) WHERE kind = 'invoice' AND status = 'issued'")

    manager.add_raw(indexes)
    return manager
