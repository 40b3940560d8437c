from piccolo.columns import (
    BigInt,
    Boolean,
    ForeignKey,
    Integer,
    LazyTableReference,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table


class Client(Table, tablename="clients"):
    """A client company. Money is minor units in `currency`; discount is basis points."""

    id: Serial  # the primary key Piccolo adds, declared for the type checker
    name = Varchar(length=200, index=True)
    name_folded = Varchar(length=200, index=True)  # lower-cased, for search and keyset order
    tax_id = Varchar(length=40, default="")
    email = Varchar(length=254, default="")
    phone = Varchar(length=40, default="")
    address = Text(default="")
    currency = Varchar(length=3, default="EUR")
    payment_terms_days = Integer(default=30)
    credit_limit_minor = BigInt(default=0)
    discount_bp = Integer(default=0)  # 550 = 5.50 %
    service_priority = Integer(default=2)  # 1 high, 2 normal, 3 low
    segment = Varchar(length=1, default="B", index=True)  # A / B / C
    privileged = Boolean(default=False)
    forgiveness_days = Integer(default=0)
    language = Varchar(length=5, default="en")
    sales_manager = ForeignKey(
        references=LazyTableReference("User", module_path="portal.auth.tables"),
        null=True,
        index=True, on_delete=OnDelete.set_null)
    on_credit_hold = Boolean(default=False)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Contact(Table, tablename="client_contacts"):
    id: Serial
    client = ForeignKey(references=Client, index=True, on_delete=OnDelete.restrict)
    name = Varchar(length=200)
    position = Varchar(length=120, default="")
    email = Varchar(length=254, default="")
    phone = Varchar(length=40, default="")
    is_primary = Boolean(default=False)
    created_at = Timestamptz()


class ClientNotice(Table, tablename="client_notices"):
    """What a client company is told in the portal: dunning notices, changes of its discount,
    priority, credit limit or hold."""

    id: Serial
    client = ForeignKey(references=Client, index=True, on_delete=OnDelete.restrict)
    kind = Varchar(length=30)
    message = Text()
    link = Varchar(length=200, default="")
    created_at = Timestamptz(index=True)
    read_at = Timestamptz(null=True, default=None)
