"""Stripe: the webhook events seen (unique event id) and the Checkout attempts of invoices.

Written by hand; runs on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import BigInt, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class Client(Table, tablename="clients", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False,
                index_method=IndexMethod.btree, choices=None, db_column_name="id", secret=False)


class Invoice(Table, tablename="invoices", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False,
                index_method=IndexMethod.btree, choices=None, db_column_name="id", secret=False)


ID = "2026-11-23T05:00:00:000004"
VERSION = "1.38.0"
DESCRIPTION = "stripe webhook events and checkout attempts"


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


def _fk(references: type[Table], **overrides) -> dict:
    return _params(references=references, on_delete=OnDelete.restrict, on_update=OnUpdate.cascade,
                   target_column=None, **overrides)


COLUMNS = {
    ("StripeEvent", "stripe_events"): [
        ("event_id", Varchar, _params(length=255, default="", unique=True)),
        ("type", Varchar, _params(length=100, default="")),
        ("received_at", Timestamptz, _params(default=TimestamptzNow())),
        ("processed_at", Timestamptz, _params(default=None, null=True)),
    ],
    ("CheckoutAttempt", "checkout_attempts"): [
        ("invoice", ForeignKey, _fk(Invoice, index=True)),
        ("client", ForeignKey, _fk(Client, index=True)),
        ("attempt", Integer, _params(default=0)),
        ("amount_minor", BigInt, _params(default=0)),
        ("currency", Varchar, _params(length=3, default="")),
        ("session_id", Varchar, _params(length=255, default=None, null=True, unique=True)),
        ("payment_intent_id", Varchar, _params(length=255, default=None, null=True, index=True)),
        ("url", Text, _params(default="")),
        ("status", Varchar, _params(length=12, default="open", index=True)),
        ("refunded_minor", BigInt, _params(default=0)),
        ("idempotency_key", Varchar, _params(length=100, default="", unique=True)),
        ("created_at", Timestamptz, _params(default=TimestamptzNow())),
        ("updated_at", Timestamptz, _params(default=TimestamptzNow())),
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
