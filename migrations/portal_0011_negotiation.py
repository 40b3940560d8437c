"""Negotiation: repayment schedules (covered invoices, every version and its installments),
share links and the rate limit of guessing them, and invoice disputes.

Written by hand; runs on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import BigInt, Boolean, Date, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


def _stub(name: str, tablename: str) -> type[Table]:
    id_column = Serial(null=False, primary_key=True, unique=False, index=False,
                       index_method=IndexMethod.btree, choices=None, db_column_name="id", secret=False)
    return type(name, (Table,), {"id": id_column}, tablename=tablename, schema=None)


Client = _stub("Client", "clients")
Invoice = _stub("Invoice", "invoices")
User = _stub("User", "users")
Task = _stub("Task", "tasks")
Schedule = _stub("Schedule", "repayment_schedules")
ScheduleVersion = _stub("ScheduleVersion", "repayment_schedule_versions")

ID = "2026-11-30T06:00:00:000011"
VERSION = "1.38.0"
DESCRIPTION = "repayment schedules, share links and disputes"


def _params(**overrides) -> dict:
    params = {
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    }
    params.update(overrides)
    return params


def _fk(references: type[Table], on_delete: OnDelete = OnDelete.restrict, **overrides) -> dict:
    return _params(references=references, on_delete=on_delete, on_update=OnUpdate.cascade,
                   target_column=None, default=None, **overrides)


COLUMNS = {
    ("Schedule", "repayment_schedules"): [
        ("client", ForeignKey, _fk(Client, index=True)),
        ("status", Varchar, _params(length=12, index=True, default='')),
        ("current_version", Integer, _params(default=1)),
        ("currency", Varchar, _params(length=3, default='EUR')),
        ("debt_minor", BigInt, _params(default=0)),
        ("negotiator", ForeignKey, _fk(User, on_delete=OnDelete.set_null, null=True, index=True)),
        ("ideal_terms", Text, _params(default='')),
        ("acceptable_terms", Text, _params(default='')),
        ("prep_notes", Text, _params(default='')),
        ("reject_reason", Text, _params(default='')),
        ("accepted_version", Integer, _params(null=True, default=None)),
        ("accepted_at", Timestamptz, _params(null=True, default=None)),
        ("accepted_name", Varchar, _params(length=200, default='')),
        ("accepted_ip", Varchar, _params(length=64, default='')),
        ("accepted_via", Varchar, _params(length=12, default='')),
        ("ended_at", Timestamptz, _params(null=True, default=None)),
        ("created_by", ForeignKey, _fk(User, on_delete=OnDelete.set_null, null=True)),
        ("created_at", Timestamptz, _params(default=TimestamptzNow())),
        ("updated_at", Timestamptz, _params(default=TimestamptzNow())),
    ],
    ("ScheduleInvoice", "repayment_schedule_invoices"): [
        ("schedule", ForeignKey, _fk(Schedule, on_delete=OnDelete.cascade, index=True)),
        ("invoice", ForeignKey, _fk(Invoice, index=True)),
        ("balance_minor", BigInt, _params(default=0)),
        ("paid_before_minor", BigInt, _params(default=0)),
    ],
    ("ScheduleVersion", "repayment_schedule_versions"): [
        ("schedule", ForeignKey, _fk(Schedule, on_delete=OnDelete.cascade, index=True)),
        ("number", Integer, _params(default=0)),
        ("side", Varchar, _params(length=8, default='')),
        ("author", ForeignKey, _fk(User, on_delete=OnDelete.set_null, null=True)),
        ("note", Text, _params(default='')),
        ("total_minor", BigInt, _params(default=0)),
        ("created_at", Timestamptz, _params(default=TimestamptzNow())),
    ],
    ("Installment", "repayment_installments"): [
        ("version", ForeignKey, _fk(ScheduleVersion, on_delete=OnDelete.cascade, index=True)),
        ("schedule", ForeignKey, _fk(Schedule, on_delete=OnDelete.cascade, index=True)),
        ("number", Integer, _params(default=0)),
        ("due_date", Date, _params(default=None)),
        ("amount_minor", BigInt, _params(default=0)),
        ("reminded_at", Timestamptz, _params(null=True, default=None)),
        ("paid_at", Timestamptz, _params(null=True, default=None)),
        ("missed_at", Timestamptz, _params(null=True, default=None)),
    ],
    ("ShareLink", "repayment_share_links"): [
        ("schedule", ForeignKey, _fk(Schedule, on_delete=OnDelete.cascade, index=True)),
        ("version", Integer, _params(default=0)),
        ("token_hash", Varchar, _params(length=64, unique=True, default='')),
        ("created_by", ForeignKey, _fk(User, on_delete=OnDelete.set_null, null=True)),
        ("created_at", Timestamptz, _params(default=TimestamptzNow())),
        ("expires_at", Timestamptz, _params(default=TimestamptzNow())),
        ("revoked_at", Timestamptz, _params(null=True, default=None)),
        ("used_at", Timestamptz, _params(null=True, default=None)),
        ("signer_name", Varchar, _params(length=200, default='')),
        ("signer_ip", Varchar, _params(length=64, default='')),
    ],
    ("LinkAttempt", "repayment_link_attempts"): [
        ("ip", Varchar, _params(length=64, index=True, default='')),
        ("at", Timestamptz, _params(index=True, default=TimestamptzNow())),
    ],
    ("Dispute", "invoice_disputes"): [
        ("invoice", ForeignKey, _fk(Invoice, index=True)),
        ("client", ForeignKey, _fk(Client, index=True)),
        ("reason", Varchar, _params(length=20, default='')),
        ("comment", Text, _params(default='')),
        ("status", Varchar, _params(length=10, index=True, default='open')),
        ("resolution", Varchar, _params(length=12, default='')),
        ("answer", Text, _params(default='')),
        ("amount_minor", BigInt, _params(default=0)),
        ("opened_by", ForeignKey, _fk(User, on_delete=OnDelete.set_null, null=True)),
        ("opened_at", Timestamptz, _params(default=TimestamptzNow())),
        ("resolved_by", ForeignKey, _fk(User, on_delete=OnDelete.set_null, null=True)),
        ("resolved_at", Timestamptz, _params(null=True, default=None)),
        ("task", ForeignKey, _fk(Task, on_delete=OnDelete.set_null, null=True)),
        ("counts_against", Boolean, _params(default=False)),
    ],
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)
    for (class_name, tablename), columns in COLUMNS.items():
        manager.add_table(class_name=class_name, tablename=tablename, schema=None, columns=None)
        for name, column_class, params in columns:
            manager.add_column(
                table_class_name=class_name,
                tablename=tablename,
                column_name=name,
                db_column_name=name,
                column_class_name=column_class.__name__,
                column_class=column_class,
                params=params,
                schema=None,
            )
    return manager
