"""Every open invoice has a dunning state from the day it is issued (the tick then reads only the
states that are due, by index, whatever the number of invoices), and the state carries the due
date so the worklist pages over one index. Existing open invoices get their state here; the next
tick fills it in. Plain SQL accepted by SQLite and PostgreSQL."""

import datetime as dt

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Serial
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class Invoice(Table, tablename="invoices", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False,
                index_method=IndexMethod.btree, choices=None, db_column_name="id", secret=False)


LOOK_AGAIN = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)  # due for the very next tick
ID = "2026-11-30T05:00:00:000008"
VERSION = "1.38.0"
DESCRIPTION = "a dunning state per open invoice, with its due date"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def statements():
        await Invoice.raw("ALTER TABLE dunning_states ADD COLUMN due_date DATE NULL")
        await Invoice.raw(
            "UPDATE dunning_states SET due_date = (SELECT i.due_date FROM invoices i WHERE i.id = dunning_states.invoice)"
        )
        # settled invoices keep no state: the ladder has nothing more to do for them
        await Invoice.raw(
            "DELETE FROM dunning_states WHERE invoice IN (SELECT id FROM invoices WHERE status <> 'issued' OR kind <> 'invoice')"
        )
        await Invoice.raw(
            "INSERT INTO dunning_states (invoice, client, due_date, last_position, severity, next_at, paused_kind, updated_at) "
            "SELECT i.id, i.client, i.due_date, 0, 0, {}, '', {} FROM invoices i "
            "WHERE i.status = 'issued' AND i.kind = 'invoice' "
            "AND NOT EXISTS (SELECT 1 FROM dunning_states s WHERE s.invoice = i.id)",
            LOOK_AGAIN, dt.datetime.now(dt.timezone.utc),
        )
        await Invoice.raw("CREATE INDEX dunning_states_due ON dunning_states (next_at, invoice)")
        await Invoice.raw(
            "CREATE INDEX dunning_states_worklist ON dunning_states (severity DESC, last_position DESC, due_date, invoice)"
        )

    manager.add_raw(statements)
    return manager
