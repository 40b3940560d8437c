"""The dunning tables' composite indexes (a migration's raw statements run before its tables
are created, so they come one migration later). Runs on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Serial
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class Client(Table, tablename="clients", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False,
                index_method=IndexMethod.btree, choices=None, db_column_name="id", secret=False)


ID = "2026-11-30T05:00:00:000006"
VERSION = "1.38.0"
DESCRIPTION = "dunning: unique (invoice, step) and queue indexes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def composite_indexes():
        # exactly once per invoice and ladder step, whatever number of runners race
        await Client.raw('CREATE UNIQUE INDEX dunning_actions_invoice_step ON dunning_actions (invoice, step)')
        # the executor's and the mail sender's queues
        await Client.raw('CREATE INDEX dunning_actions_queue ON dunning_actions (status, next_attempt_at)')
        await Client.raw('CREATE INDEX email_outbox_queue ON email_outbox (status, next_attempt_at)')
        # the tick's candidates: open invoices by due date
        await Client.raw('CREATE INDEX invoices_open_due ON invoices (status, due_date, id)')

    manager.add_raw(composite_indexes)
    return manager
