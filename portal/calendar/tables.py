"""The staff calendar's private iCalendar feeds."""

from piccolo.columns import ForeignKey, Serial, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portal.auth.tables import User


class CalendarFeed(Table, tablename="calendar_feeds"):
    """A user's private iCalendar feed: the URL carries a token derived from `nonce`; a new
    nonce revokes the old URL."""

    id: Serial  # the primary key Piccolo adds, declared for the type checker
    user = ForeignKey(references=User, unique=True, on_delete=OnDelete.cascade)
    nonce = Varchar(length=64)
    created_at = Timestamptz()
