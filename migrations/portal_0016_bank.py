"""Money in from the bank: the firm's accounts, imported statements and their lines, and the payer
accounts learned for clients.

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
User = _stub("User", "users")
Payment = _stub("Payment", "payments")
BankAccount = _stub("BankAccount", "bank_accounts")
BankImport = _stub("BankImport", "bank_imports")

ID = "2026-12-02T20:00:00:000016"
VERSION = "1.38.0"
DESCRIPTION = "bank accounts, statement imports, bank lines and payer accounts"


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
    ("BankAccount", "bank_accounts"): [
        ("name", Varchar, _params(length=120, default="")),
        ("iban", Varchar, _params(length=34, default="", unique=True)),
        ("currency", Varchar, _params(length=3, default="")),
        ("auto_book_threshold", Integer, _params(default=90)),
        ("csv_mapping", Text, _params(default="")),
        ("created_at", Timestamptz, _params(default=TimestamptzNow())),
    ],
    ("BankImport", "bank_imports"): [
        ("account", ForeignKey, _fk(BankAccount, index=True)),
        ("filename", Varchar, _params(length=200, default="")),
        ("file_format", Varchar, _params(length=8, default="")),
        ("imported_by", ForeignKey, _fk(User, on_delete=OnDelete.set_null, null=True)),
        ("imported_at", Timestamptz, _params(default=TimestamptzNow())),
        ("statements", Integer, _params(default=0)),
        ("lines", Integer, _params(default=0)),
        ("duplicates", Integer, _params(default=0)),
        ("matched", Integer, _params(default=0)),
        ("queued", Integer, _params(default=0)),
        ("outgoing", Integer, _params(default=0)),
    ],
    ("BankLine", "bank_lines"): [
        ("account", ForeignKey, _fk(BankAccount, index=True)),
        ("bank_import", ForeignKey, _fk(BankImport, index=True)),
        ("unique_key", Varchar, _params(length=100, default="", unique=True)),
        ("bank_reference", Varchar, _params(length=120, default="")),
        ("end_to_end_id", Varchar, _params(length=120, default="")),
        ("booked_on", Date, _params(default=None)),
        ("amount_minor", BigInt, _params(default=0)),
        ("currency", Varchar, _params(length=3, default="")),
        ("reversal", Boolean, _params(default=False)),
        ("payer_name", Varchar, _params(length=200, default="")),
        ("payer_iban", Varchar, _params(length=34, default="", index=True)),
        ("text", Text, _params(default="")),
        ("status", Varchar, _params(length=10, default="", index=True)),
        ("confidence", Integer, _params(default=0)),
        ("reason", Text, _params(default="")),
        ("client", ForeignKey, _fk(Client, null=True, index=True)),
        ("suggestion", Text, _params(default="")),
        ("payment", ForeignKey, _fk(Payment, on_delete=OnDelete.set_null, null=True)),
        ("credit_payment", ForeignKey, _fk(Payment, on_delete=OnDelete.set_null, null=True)),
        ("reverses", Integer, _params(null=True, default=None)),
        ("decided_by", ForeignKey, _fk(User, on_delete=OnDelete.set_null, null=True)),
        ("decided_at", Timestamptz, _params(null=True, default=None)),
        ("note", Text, _params(default="")),
    ],
    ("PayerAccount", "bank_payer_accounts"): [
        ("client", ForeignKey, _fk(Client, on_delete=OnDelete.cascade, index=True)),
        ("iban", Varchar, _params(length=34, default="", unique=True)),
        ("learned_at", Timestamptz, _params(default=TimestamptzNow())),
        ("learned_from", Integer, _params(null=True, default=None)),
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
