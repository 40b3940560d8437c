"""Ladders get a purpose: "debt" (overdue invoices, the ladders segments and clients follow) or
"prepayment" (the gentle reminders of an invoice whose order waits for its prepayment: never a
sanction, a letter or court). Existing ladders are debt ladders. Runs on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Serial
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class Ladder(Table, tablename="dunning_ladders", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False,
                index_method=IndexMethod.btree, choices=None, db_column_name="id", secret=False)


ID = "2026-12-02T16:00:00:000014"
VERSION = "1.38.0"
DESCRIPTION = "dunning_ladders.purpose: debt or prepayment"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def purpose():
        await Ladder.raw("ALTER TABLE dunning_ladders ADD COLUMN purpose VARCHAR(12) NOT NULL DEFAULT 'debt'")

    manager.add_raw(purpose)
    return manager
