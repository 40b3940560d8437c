"""In-portal notifications for staff: a message and a link, unread until the person marks it read.

`notify` opens no transaction of its own: call it inside yours, so the message exists exactly
when the change it announces does.
"""

from __future__ import annotations

from portal import bulk
from portal.auth.tables import User
from portal.clock import utcnow
from portal.tasks.tables import Notification
from portal.web import i18n

MAX_MESSAGE = 300
MAX_LINK = 200
LIST_LIMIT = 100


def _local_link(link: str) -> str:
    """Only a path inside the portal ("/staff/..."); anything else is dropped."""
    link = (link or "").strip()
    if not link.startswith("/") or link.startswith("//") or "\\" in link or any(c.isspace() for c in link):
        return ""
    return link if len(link) <= MAX_LINK else ""


async def notify(user_id: int, message: str, link: str = "") -> int:
    """Tell one staff user something. The message is stored as given (write it in words the
    reader understands); it is cut to 300 characters. Returns the notification's id."""
    text = " ".join((message or "").split())
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 1] + "…"
    row = Notification(user=user_id, created_at=utcnow(), message=text, link=_local_link(link), read_at=None)
    await row.save()
    return row.id


async def language_of(user_id: int | None) -> str:
    """The language a staff member works in (what their tasks and notifications are written in)."""
    row = await User.select(User.language).where(User.id == user_id).first() if user_id else None
    return row["language"] if row and row["language"] else "en"


async def tell(user_id: int, message: str, link: str = "", **values: object) -> int:
    """Tell one staff user something, worded in their own language: `message` is a message id (N_)
    with %(name)s values."""
    with i18n.in_language(await language_of(user_id)):
        text = i18n.gettext(message, **values)
    return await notify(user_id, text, link)


async def unread(user_id: int) -> list[dict]:
    """The user's unread notifications, newest first."""
    return await Notification.select().where((Notification.user == user_id) & Notification.read_at.is_null()).order_by(
        Notification.created_at, ascending=False
    ).order_by(Notification.id, ascending=False).limit(LIST_LIMIT)


async def unread_count(user_id: int) -> int:
    return await Notification.count().where((Notification.user == user_id) & Notification.read_at.is_null())


async def recent(user_id: int, limit: int = LIST_LIMIT) -> list[dict]:
    """The user's notifications, read or not, newest first."""
    return await Notification.select().where(Notification.user == user_id).order_by(
        Notification.created_at, ascending=False
    ).order_by(Notification.id, ascending=False).limit(limit)


async def get(notification_id: int, user_id: int) -> dict | None:
    """One of the user's notifications (another user's is None)."""
    return await Notification.select().where((Notification.id == notification_id) & (Notification.user == user_id)).first()


async def mark_read(notification_id: int, user_id: int) -> bool:
    """Mark one of the user's notifications read; False when it is not theirs or not there.
    Marking a read one again keeps its first read time."""
    row = await get(notification_id, user_id)
    if row is None:
        return False
    if row["read_at"] is None:
        await Notification.update({Notification.read_at: utcnow()}).where(
            (Notification.id == notification_id) & (Notification.user == user_id) & Notification.read_at.is_null()
        )
    return True


async def notify_many(rows: list[tuple[int, object, str, str]]) -> None:
    """Many notifications in one statement (the dunning tick): rows of (user, created_at, message, link),
    each message already worded in its reader's language. Joins the caller's transaction."""
    await bulk.insert_many(Notification, (Notification.user, Notification.created_at, Notification.message, Notification.link),
                           [(user, at, " ".join(str(message).split())[:MAX_MESSAGE], _local_link(link)) for user, at, message, link in rows])
