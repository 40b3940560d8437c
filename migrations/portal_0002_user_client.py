from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Serial
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

# users.client is added after both tables exist: clients.sales_manager points at users and
# users.client points at clients, a cycle Piccolo cannot order inside one migration.


class Client(Table, tablename="clients", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False,
                index_method=IndexMethod.btree, choices=None, db_column_name="id", secret=False)


ID = "2026-11-23T05:00:00:000002"
VERSION = "1.38.0"
DESCRIPTION = "client users belong to one client; one spec per order and version"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    manager.add_column(
        table_class_name="User",
        tablename="users",
        column_name="client",
        db_column_name="client",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": Client,
            "on_delete": OnDelete.restrict,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": True,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    async def composite_uniques():
        await Client.raw(
            'CREATE UNIQUE INDEX technical_specs_order_version ON technical_specs ("order", version)'
        )

    manager.add_raw(composite_uniques)
    return manager
