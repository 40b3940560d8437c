"""Indexes that other indexes already cover, or that no query reads, cost every tick's writes:
the action log keeps its unique (invoice, step), the pending-queue index and step (the ladder
pages count actions per step); the states keep (next_at, invoice) and the worklist's index.
Runs on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Serial
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class DunningAction(Table, tablename="dunning_actions", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False,
                index_method=IndexMethod.btree, choices=None, db_column_name="id", secret=False)


ID = "2026-11-30T05:00:00:000010"
VERSION = "1.38.0"
DESCRIPTION = "drop dunning indexes covered by others"
COVERED = (
    "dunning_actions_invoice", "dunning_actions_client", "dunning_actions_next_attempt_at", "dunning_actions_status", "dunning_actions_queue",
    "dunning_states_next_at", "dunning_states_severity",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def statements():
        for name in COVERED:
            await DunningAction.raw(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(statements)
    return manager
