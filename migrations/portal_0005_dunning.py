"""Dunning: ladders and steps, segment and client ladders, the action log, per-invoice state,
pauses, delay reasons, call outcomes, sanctions, the letters register, client notices, calendar
feeds; and the email outbox.

Written by hand; runs on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import JSON, Boolean, Date, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
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
Ladder = _stub("Ladder", "dunning_ladders")
LadderStep = _stub("LadderStep", "dunning_steps")
DunningAction = _stub("DunningAction", "dunning_actions")
DelayReason = _stub("DelayReason", "delay_reasons")

ID = "2026-11-30T05:00:00:000005"
VERSION = "1.38.0"
DESCRIPTION = "dunning engine, calendar feeds and the email outbox"


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
    ("Ladder", "dunning_ladders"): [
        ("name", Varchar, _params(length=120, unique=True, default='')),
        ("description", Text, _params(default='')),
        ("version", Integer, _params(default=1)),
        ("created_at", Timestamptz, _params(default=TimestamptzNow())),
        ("updated_at", Timestamptz, _params(default=TimestamptzNow())),
    ],
    ("LadderStep", "dunning_steps"): [
        ("ladder", ForeignKey, _fk(Ladder, on_delete=OnDelete.restrict, index=True)),
        ("position", Integer, _params(default=0)),
        ("name", Varchar, _params(length=120, default='')),
        ("offset_days", Integer, _params(default=0)),
        ("time_of_day", Varchar, _params(length=5, default='09:00')),
        ("channel", Varchar, _params(length=20, default='')),
        ("assignee", Varchar, _params(length=20, default='manager')),
        ("templates", JSON, _params(default="{}")),
        ("deadline_days", Integer, _params(default=0)),
        ("sanction", Varchar, _params(length=20, default='')),
        ("skip_if_deferral", Boolean, _params(default=False)),
        ("is_active", Boolean, _params(default=True)),
        ("created_at", Timestamptz, _params(default=TimestamptzNow())),
        ("updated_at", Timestamptz, _params(default=TimestamptzNow())),
    ],
    ("SegmentLadder", "dunning_segment_ladders"): [
        ("segment", Varchar, _params(length=1, unique=True, default='')),
        ("ladder", ForeignKey, _fk(Ladder, on_delete=OnDelete.restrict, index=True)),
    ],
    ("ClientLadder", "dunning_client_ladders"): [
        ("client", ForeignKey, _fk(Client, on_delete=OnDelete.restrict, unique=True)),
        ("ladder", ForeignKey, _fk(Ladder, on_delete=OnDelete.restrict, index=True)),
    ],
    ("DunningAction", "dunning_actions"): [
        ("invoice", ForeignKey, _fk(Invoice, on_delete=OnDelete.restrict, index=True)),
        ("step", ForeignKey, _fk(LadderStep, on_delete=OnDelete.restrict, index=True)),
        ("client", ForeignKey, _fk(Client, on_delete=OnDelete.restrict, index=True)),
        ("ladder_version", Integer, _params(default=1)),
        ("position", Integer, _params(default=0)),
        ("channel", Varchar, _params(length=20, default='')),
        ("scheduled_at", Timestamptz, _params(default=TimestamptzNow())),
        ("taken_at", Timestamptz, _params(default=TimestamptzNow())),
        ("status", Varchar, _params(length=20, index=True, default='pending')),
        ("attempts", Integer, _params(default=0)),
        ("next_attempt_at", Timestamptz, _params(index=True, default=TimestamptzNow())),
        ("last_error", Text, _params(default='')),
        ("outcome", Text, _params(default='')),
        ("reason", Text, _params(default='')),
        ("task", ForeignKey, _fk(Task, on_delete=OnDelete.set_null, null=True)),
        ("created_by", ForeignKey, _fk(User, on_delete=OnDelete.set_null, null=True)),
        ("done_at", Timestamptz, _params(null=True, default=None)),
    ],
    ("DunningState", "dunning_states"): [
        ("invoice", ForeignKey, _fk(Invoice, on_delete=OnDelete.restrict, unique=True)),
        ("client", ForeignKey, _fk(Client, on_delete=OnDelete.restrict, index=True)),
        ("ladder", ForeignKey, _fk(Ladder, on_delete=OnDelete.set_null, null=True)),
        ("last_step", ForeignKey, _fk(LadderStep, on_delete=OnDelete.set_null, null=True)),
        ("last_position", Integer, _params(default=0)),
        ("severity", Integer, _params(index=True, default=0)),
        ("next_step", ForeignKey, _fk(LadderStep, on_delete=OnDelete.set_null, null=True)),
        ("next_at", Timestamptz, _params(null=True, index=True, default=None)),
        ("paused_kind", Varchar, _params(length=20, default='')),
        ("paused_until", Timestamptz, _params(null=True, default=None)),
        ("updated_at", Timestamptz, _params(default=TimestamptzNow())),
    ],
    ("Pause", "dunning_pauses"): [
        ("invoice", ForeignKey, _fk(Invoice, on_delete=OnDelete.restrict, index=True)),
        ("client", ForeignKey, _fk(Client, on_delete=OnDelete.restrict, index=True)),
        ("kind", Varchar, _params(length=20, default='')),
        ("reason", Text, _params(default='')),
        ("promised_date", Date, _params(null=True, default=None)),
        ("starts_at", Timestamptz, _params(default=TimestamptzNow())),
        ("until", Timestamptz, _params(null=True, default=None)),
        ("ended_at", Timestamptz, _params(null=True, index=True, default=None)),
        ("end_reason", Varchar, _params(length=20, default='')),
        ("source_type", Varchar, _params(length=30, default='')),
        ("source_id", Integer, _params(null=True, default=None)),
        ("created_by", ForeignKey, _fk(User, on_delete=OnDelete.set_null, null=True)),
        ("created_at", Timestamptz, _params(default=TimestamptzNow())),
    ],
    ("DelayReason", "delay_reasons"): [
        ("name", Varchar, _params(length=120, unique=True, default='')),
        ("position", Integer, _params(default=0)),
        ("is_active", Boolean, _params(default=True)),
        ("created_at", Timestamptz, _params(default=TimestamptzNow())),
    ],
    ("CallOutcome", "call_outcomes"): [
        ("task", ForeignKey, _fk(Task, on_delete=OnDelete.restrict, unique=True)),
        ("invoice", ForeignKey, _fk(Invoice, on_delete=OnDelete.restrict, null=True, index=True)),
        ("client", ForeignKey, _fk(Client, on_delete=OnDelete.restrict, null=True, index=True)),
        ("user", ForeignKey, _fk(User, on_delete=OnDelete.set_null, null=True, index=True)),
        ("reached", Boolean, _params(default=False)),
        ("promised_date", Date, _params(null=True, default=None)),
        ("delay_reason", ForeignKey, _fk(DelayReason, on_delete=OnDelete.restrict, null=True, index=True)),
        ("note", Text, _params(default='')),
        ("recorded_at", Timestamptz, _params(index=True, default=TimestamptzNow())),
    ],
    ("Sanction", "client_sanctions"): [
        ("client", ForeignKey, _fk(Client, on_delete=OnDelete.restrict, index=True)),
        ("kind", Varchar, _params(length=20, default='')),
        ("previous_value", Integer, _params(default=0)),
        ("action", ForeignKey, _fk(DunningAction, on_delete=OnDelete.set_null, null=True)),
        ("applied_at", Timestamptz, _params(default=TimestamptzNow())),
        ("lifted_at", Timestamptz, _params(null=True, index=True, default=None)),
        ("lift_reason", Varchar, _params(length=60, default='')),
    ],
    ("Letter", "dunning_letters"): [
        ("action", ForeignKey, _fk(DunningAction, on_delete=OnDelete.restrict, unique=True)),
        ("invoice", ForeignKey, _fk(Invoice, on_delete=OnDelete.restrict, index=True)),
        ("client", ForeignKey, _fk(Client, on_delete=OnDelete.restrict, index=True)),
        ("kind", Varchar, _params(length=20, default='')),
        ("language", Varchar, _params(length=5, default='en')),
        ("subject", Varchar, _params(length=300, default='')),
        ("body", Text, _params(default='')),
        ("deadline", Date, _params(null=True, default=None)),
        ("status", Varchar, _params(length=12, index=True, default='to_send')),
        ("created_at", Timestamptz, _params(index=True, default=TimestamptzNow())),
        ("sent_at", Timestamptz, _params(null=True, default=None)),
        ("sent_by", ForeignKey, _fk(User, on_delete=OnDelete.set_null, null=True)),
    ],
    ("ClientNotice", "client_notices"): [
        ("client", ForeignKey, _fk(Client, on_delete=OnDelete.restrict, index=True)),
        ("kind", Varchar, _params(length=30, default='')),
        ("message", Text, _params(default='')),
        ("link", Varchar, _params(length=200, default='')),
        ("created_at", Timestamptz, _params(index=True, default=TimestamptzNow())),
        ("read_at", Timestamptz, _params(null=True, default=None)),
    ],
    ("CalendarFeed", "calendar_feeds"): [
        ("user", ForeignKey, _fk(User, on_delete=OnDelete.cascade, unique=True)),
        ("nonce", Varchar, _params(length=64, default='')),
        ("created_at", Timestamptz, _params(default=TimestamptzNow())),
    ],
    ("EmailMessage", "email_outbox"): [
        ("key", Varchar, _params(length=80, unique=True, default='')),
        ("to_address", Varchar, _params(length=254, default='')),
        ("subject", Varchar, _params(length=300, default='')),
        ("body", Text, _params(default='')),
        ("client", ForeignKey, _fk(Client, on_delete=OnDelete.restrict, null=True, index=True)),
        ("invoice_id", Integer, _params(null=True, index=True, default=None)),
        ("status", Varchar, _params(length=12, index=True, default='queued')),
        ("attempts", Integer, _params(default=0)),
        ("next_attempt_at", Timestamptz, _params(index=True, default=TimestamptzNow())),
        ("last_error", Text, _params(default='')),
        ("message_id", Varchar, _params(length=200, default='')),
        ("created_at", Timestamptz, _params(index=True, default=TimestamptzNow())),
        ("sent_at", Timestamptz, _params(null=True, default=None)),
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
