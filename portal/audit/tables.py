from piccolo.columns import JSON, ForeignKey, Integer, LazyTableReference, Serial, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table


class AuditEvent(Table, tablename="audit_events"):
    """Who did what, when, to which object, with the values before and after."""

    id: Serial  # the primary key Piccolo adds, declared for the type checker
    at = Timestamptz(index=True)
    actor = ForeignKey(
        references=LazyTableReference("User", module_path="portal.auth.tables"),
        null=True,
        index=True, on_delete=OnDelete.set_null)
    actor_label = Varchar(length=200, default="")  # kept even if the user is renamed; "system" for the engine
    action = Varchar(length=60)
    object_type = Varchar(length=40, index=True)
    object_id = Integer(index=True)
    client_id = Integer(null=True, index=True)  # to show a client's whole history
    before = JSON(default="{}")
    after = JSON(default="{}")
    ip = Varchar(length=64, default="")
