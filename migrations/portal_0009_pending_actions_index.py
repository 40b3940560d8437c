"""The executor's queue: a partial index of the pending actions only, so claiming a batch reads
a few index entries however long the action history grows (SQLite and PostgreSQL both have
partial indexes)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Serial
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class DunningAction(Table, tablename="dunning_actions", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False,
                index_method=IndexMethod.btree, choices=None, db_column_name="id", secret=False)


ID = "2026-11-30T05:00:00:000009"
VERSION = "1.38.0"
DESCRIPTION = "partial index of pending dunning actions"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def statements():
        await DunningAction.raw("CREATE INDEX dunning_actions_pending ON dunning_actions (id) WHERE status = 'pending'")
        await DunningAction.raw("CREATE INDEX email_outbox_waiting ON email_outbox (id) WHERE status IN ('queued', 'sending')")

    manager.add_raw(statements)
    return manager
