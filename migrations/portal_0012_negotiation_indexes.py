"""The negotiation tables' composite and partial unique indexes (a migration's raw statements
run before its tables are created, so they come one migration later). Runs on SQLite and
PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Serial
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class Client(Table, tablename="clients", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False,
                index_method=IndexMethod.btree, choices=None, db_column_name="id", secret=False)


ID = "2026-11-30T06:00:00:000012"
VERSION = "1.38.0"
DESCRIPTION = "negotiation: unique versions, installments, covered invoices; one open dispute per invoice; tasks.schedule"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def indexes():
        await Client.raw("CREATE UNIQUE INDEX repayment_versions_number ON repayment_schedule_versions (schedule, number)")
        await Client.raw("CREATE UNIQUE INDEX repayment_installments_number ON repayment_installments (version, number)")
        await Client.raw("CREATE UNIQUE INDEX repayment_schedule_invoices_pair ON repayment_schedule_invoices (schedule, invoice)")
        await Client.raw("CREATE UNIQUE INDEX invoice_disputes_one_open ON invoice_disputes (invoice) WHERE status = 'open'")
        # a negotiator's task names the schedule it is about
        await Client.raw("ALTER TABLE tasks ADD COLUMN schedule INTEGER NULL")
        await Client.raw("CREATE INDEX tasks_schedule ON tasks (schedule)")

    manager.add_raw(indexes)
    return manager
