from piccolo.columns import (
    JSON,
    Date,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portal.auth.tables import User
from portal.clients.tables import Client


class Order(Table, tablename="orders"):
    """A client's request on its way to production; `stage` is one of orders.rules.Stage."""

    number = Varchar(length=30, unique=True)
    client = ForeignKey(references=Client, index=True, on_delete=OnDelete.restrict)
    sales_manager = ForeignKey(references=User, null=True, index=True, on_delete=OnDelete.set_null)
    product = Varchar(length=200)
    quantity = Integer(default=1)
    options = Text(default="")
    wanted_date = Date(null=True, default=None)
    notes = Text(default="")
    stage = Varchar(length=30, index=True, default="request")
    stage_changed_at = Timestamptz()
    created_at = Timestamptz()


class LayoutVariant(Table, tablename="layout_variants"):
    """A designer's layout file; stored under var/uploads with a random name."""

    order = ForeignKey(references=Order, index=True, on_delete=OnDelete.restrict)
    label = Varchar(length=120)
    stored_name = Varchar(length=80, unique=True)
    original_name = Varchar(length=255)
    content_type = Varchar(length=60)
    size_bytes = Integer()
    uploaded_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    uploaded_at = Timestamptz()


class TechnicalSpec(Table, tablename="technical_specs"):
    """Version N of an order's technical spec; frozen once sent."""

    order = ForeignKey(references=Order, index=True, on_delete=OnDelete.restrict)
    version = Integer()
    status = Varchar(length=20, default="draft")  # draft, sent, approved, changes_requested, superseded
    variant_ids = JSON(default="[]")
    materials = Text(default="")
    finishing = Text(default="")
    quantities = Text(default="")
    contract_note = Text(default="")
    created_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz()
    sent_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    sent_at = Timestamptz(null=True, default=None)
    decided_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    decided_at = Timestamptz(null=True, default=None)
    approved_variant = ForeignKey(references=LayoutVariant, null=True, on_delete=OnDelete.set_null)
    signature_name = Varchar(length=200, default="")
    decision_ip = Varchar(length=64, default="")
    change_requests = JSON(default="{}")  # {variant_id: comment}
