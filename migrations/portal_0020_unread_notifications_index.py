"""Every page a staff user opens counts their unread notifications (the sidebar's badge, in the
session's own query): a partial index holds only the unread ones, so the count does not grow with
the read history. Runs on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Serial
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class Notification(Table, tablename="notifications", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False,
                index_method=IndexMethod.btree, choices=None, db_column_name="id", secret=False)


ID = "2026-12-03T21:00:00:000020"
VERSION = "1.38.0"
DESCRIPTION = "notifications: a partial index of the unread ones per user"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def unread_index():
        await Notification.raw('CREATE INDEX notifications_unread ON notifications ("user") WHERE read_at IS NULL')

    manager.add_raw(unread_index)
    return manager
