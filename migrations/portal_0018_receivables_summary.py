"""The receivables summary the tick keeps current (portal.reports.tables): per client, currency
and month what was invoiced, collected and left open by aging bucket; the money that came after
each ladder step; and the one mark row a refresh locks. Written by hand; runs on SQLite and
PostgreSQL. The tables start empty: the first tick builds them from the invoices and payments.
The index and the mark row come in 0019 (Piccolo runs a migration's raw SQL before its new tables)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import BigInt, Date, ForeignKey, Integer, Serial, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


def _stub(name: str, tablename: str) -> type[Table]:
    id_column = Serial(null=False, primary_key=True, unique=False, index=False,
                       index_method=IndexMethod.btree, choices=None, db_column_name="id", secret=False)
    return type(name, (Table,), {"id": id_column}, tablename=tablename, schema=None)


Client = _stub("Client", "clients")
LadderStep = _stub("LadderStep", "dunning_steps")

ID = "2026-12-03T20:00:00:000018"
VERSION = "1.38.0"
DESCRIPTION = "receivables summary: client months, step months, the refresh mark"


def _params(**overrides) -> dict:
    params = {"null": False, "primary_key": False, "unique": False, "index": False, "index_method": IndexMethod.btree,
              "choices": None, "db_column_name": None, "secret": False}
    params.update(overrides)
    return params


def _fk(references: type[Table], on_delete: OnDelete, **overrides) -> dict:
    return _params(references=references, on_delete=on_delete, on_update=OnUpdate.cascade, target_column=None, default=None, **overrides)


def _money(name: str) -> tuple:
    return (name, BigInt, _params(default=0))


def _count(name: str) -> tuple:
    return (name, Integer, _params(default=0))


COLUMNS = {
    ("ClientMonth", "report_client_months"): [
        ("month", Date, _params(default=None)),
        ("client", ForeignKey, _fk(Client, OnDelete.cascade, index=True)),
        ("currency", Varchar, _params(length=3, default="")),
        ("as_of", Date, _params(default=None)),
        _money("sales_minor"), _count("invoices"), _money("collected_minor"), _money("open_minor"), _count("open_invoices"),
        _money("not_due_minor"), _money("d1_30_minor"), _money("d31_60_minor"), _money("d61_90_minor"), _money("d91_180_minor"),
        _money("over_180_minor"), _money("overdue_days_minor"), _count("settled"), _count("settled_on_time"), _count("days_late"),
        _money("costed_net_minor"), _money("cost_minor"),
    ],
    ("StepMonth", "report_step_months"): [
        ("month", Date, _params(default=None, index=True)),
        ("client", ForeignKey, _fk(Client, OnDelete.cascade, index=True)),
        ("currency", Varchar, _params(length=3, default="")),
        ("step", ForeignKey, _fk(LadderStep, OnDelete.set_null, null=True)),
        _money("amount_minor"), _count("invoices"),
    ],
    ("SummaryMark", "report_summary_marks"): [
        _count("last_invoice_id"), _count("last_payment_id"),
        ("built_on", Date, _params(null=True, default=None)),
        ("built_from", Date, _params(null=True, default=None)),
        ("refreshed_at", Timestamptz, _params(null=True, default=None)),
        _count("millis"),
    ],
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)
    for (class_name, tablename), columns in COLUMNS.items():
        manager.add_table(class_name=class_name, tablename=tablename, schema=None, columns=None)
        for name, column_class, params in columns:
            manager.add_column(table_class_name=class_name, tablename=tablename, column_name=name, db_column_name=name,
                               column_class_name=column_class.__name__, column_class=column_class, params=params, schema=None)

    return manager
