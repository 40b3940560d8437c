from enum import StrEnum

from piccolo.columns import (
    JSON,
    Date,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portal.auth.tables import User
from portal.clients.tables import Client


# The order's stage: its vocabulary lives beside the column that stores it, so that the areas
# below orders (billing, dunning) can read it.
class Stage(StrEnum):
    REQUEST = "request"
    LAYOUT = "layout"
    SPEC_SENT = "spec_sent"
    SPEC_APPROVED = "spec_approved"
    AWAITING_PREPAYMENT = "awaiting_prepayment"
    IN_PRODUCTION = "in_production"
    DELIVERED = "delivered"
    CLOSED = "closed"
    CANCELLED = "cancelled"


BEFORE_PRODUCTION = (Stage.REQUEST, Stage.LAYOUT, Stage.SPEC_SENT, Stage.SPEC_APPROVED, Stage.AWAITING_PREPAYMENT)
# An unpaid invoice of an order in these stages is a prepayment, not a debt: the order is simply not
# produced until it is paid (DOMAIN.md section 1). Dunning reminds gently and never sanctions it.
PREPAYMENT_STAGES = (*BEFORE_PRODUCTION, Stage.CANCELLED)


class SpecStatus(StrEnum):
    """A technical spec version's life: a draft, sent to the client (frozen), approved or sent back
    with changes asked, or superseded by a newer version."""

    DRAFT = "draft"
    SENT = "sent"
    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"
    SUPERSEDED = "superseded"


class Order(Table, tablename="orders"):
    """A client's request on its way to production; `stage` is one of Stage."""

    id: Serial  # the primary key Piccolo adds, declared for the type checker
    number = Varchar(length=30, unique=True)
    client = ForeignKey(references=Client, index=True, on_delete=OnDelete.restrict)
    sales_manager = ForeignKey(references=User, null=True, index=True, on_delete=OnDelete.set_null)
    product = Varchar(length=200)
    quantity = Integer(default=1)
    options = Text(default="")
    wanted_date = Date(null=True, default=None)
    notes = Text(default="")
    stage = Varchar(length=30, index=True, default=Stage.REQUEST.value)
    stage_changed_at = Timestamptz()
    created_at = Timestamptz()


class LayoutVariant(Table, tablename="layout_variants"):
    """A designer's layout file; stored under var/uploads with a random name."""

    id: Serial
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

    id: Serial
    order = ForeignKey(references=Order, index=True, on_delete=OnDelete.restrict)
    version = Integer()
    status = Varchar(length=20, default=SpecStatus.DRAFT.value)  # one of SpecStatus
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
