"""A client user's language is their own choice, or "" to follow their company's language (what
every client user did until they could choose). Runs on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Serial
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class User(Table, tablename="users", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False,
                index_method=IndexMethod.btree, choices=None, db_column_name="id", secret=False)


ID = "2026-12-02T19:00:00:000015"
VERSION = "1.38.0"
DESCRIPTION = "client users follow their company's language unless they choose their own"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def follow():
        await User.raw("UPDATE users SET language = '' WHERE kind = 'client'")

    manager.add_raw(follow)
    return manager
