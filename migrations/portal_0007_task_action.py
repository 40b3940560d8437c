"""A task made by a dunning action names it (unique: one task per action, whatever number of
runners race). Plain SQL: SQLite cannot add a UNIQUE column, so the column and a unique index
are added separately; both engines accept these statements."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Serial
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class Task(Table, tablename="tasks", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False,
                index_method=IndexMethod.btree, choices=None, db_column_name="id", secret=False)


ID = "2026-11-30T05:00:00:000007"
VERSION = "1.38.0"
DESCRIPTION = "tasks.dunning_action"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def add_column():
        await Task.raw("ALTER TABLE tasks ADD COLUMN dunning_action INTEGER NULL")
        await Task.raw("CREATE UNIQUE INDEX tasks_dunning_action ON tasks (dunning_action)")

    manager.add_raw(add_column)
    return manager
