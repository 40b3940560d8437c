"""What a client company is told: a notice on its home page and, when asked, an email to its
primary contact, both in the client's language. Also what the client home reads: the latest
notices and the payments coming up.

Every writing function joins the caller's transaction (or opens one), so a notice exists exactly
when the change it announces does, and its email is queued exactly once per key.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable, Iterator

from portal import bulk, db
from portal.clients import rules
from portal.clients.tables import Client, ClientNotice, Contact
from portal.clock import utcnow
from portal.mail.service import queue_email
from portal.messages import N_
from portal.web import i18n

NOTICE_LIMIT = 20
MAX_LINK = 200
SUBJECTS = {
    "terms_changed": N_("Your terms with us have changed"),
    "sanction_applied": N_("Your account: overdue debt has consequences"),
    "sanctions_lifted": N_("Your account: your usual terms are back"),
}
DEFAULT_SUBJECT = N_("News about your account")
EMAIL_FOOTER = N_("You can see your current terms and every change to them in the client portal: %(url)s")


@contextlib.contextmanager
def speaking(language: str) -> Iterator[None]:
    """Translate and format (money, percentages, dates) in `language` for a while; the
    request's own language is put back afterwards."""
    previous = i18n.current_language()
    i18n.set_language(language if language in i18n.BABEL_LOCALES else "en")
    try:
        yield
    finally:
        i18n.set_language(previous)


def portal_address(path: str) -> str:
    """An absolute address for an email (BASE_URL, else HOST:PORT as `portal serve` uses)."""
    base = os.environ.get("BASE_URL", "").strip().rstrip("/")
    if not base:
        base = f"http://{os.environ.get('HOST', '').strip() or '127.0.0.1'}:{os.environ.get('PORT', '').strip() or '8000'}"
    return f"{base}{path}"


def _local_link(link: str) -> str:
    """Only a path inside the portal; anything else is dropped."""
    link = (link or "").strip()
    if not link.startswith("/") or link.startswith("//") or "\\" in link or any(c.isspace() for c in link):
        return ""
    return link if len(link) <= MAX_LINK else ""


async def client_language(client_id: int) -> str:
    row = await Client.select(Client.language).where(Client.id == client_id).first()
    return row["language"] if row else "en"


async def recipient_of(client_id: int) -> str:
    """Where the client's mail goes: the primary contact's email, else any contact's, else the
    company's own address; "" when there is none."""
    contacts = await Contact.select(Contact.email, Contact.is_primary).where(
        (Contact.client == client_id) & (Contact.email != "")
    ).order_by(Contact.is_primary, ascending=False).order_by(Contact.id)
    if contacts:
        return contacts[0]["email"]
    row = await Client.select(Client.email).where(Client.id == client_id).first()
    return (row["email"] if row else "").strip()


async def notify_client(
    client_id: int, kind: str, message: str, *, link: str = "", email_key: str | None = None,
    subject: str | None = None, now: dt.datetime | None = None, language: str | None = None,
) -> int:
    """Tell the client something: a notice on its home page and, with `email_key`, an email to its
    primary contact in its language (once per key). Write `message` in the client's language.
    Returns the notice's id."""
    now = now or utcnow()
    text = " ".join((message or "").split())
    link = _local_link(link)
    async with db.transaction():
        notice = ClientNotice(client=client_id, kind=kind[:30], message=text, link=link, created_at=now, read_at=None)
        await notice.save()
        if email_key:
            address = await recipient_of(client_id)
            if address:
                with speaking(language or await client_language(client_id)):
                    title = subject or i18n.gettext(SUBJECTS.get(kind, DEFAULT_SUBJECT))
                    footer = i18n.gettext(EMAIL_FOOTER, url=portal_address(link or "/client"))
                await queue_email(key=email_key, to_address=address, subject=title, body=f"{text}\n\n{footer}\n", client_id=client_id)
    return notice.id


async def tell_client(client_id: int, kind: str, words: Callable[[], tuple[str, str]], *, link: str, email_key: str,
                      now: dt.datetime | None = None) -> int:
    """A notice and an email about the client's orders and money (an invoice issued, a spec to approve,
    a payment received, production started). `words()` returns (subject, message); it is called in
    the client's language, so its amounts and dates are written as the client writes them."""
    language = await client_language(client_id)
    with speaking(language):
        subject, message = words()
    return await notify_client(client_id, kind, message, link=link, email_key=email_key, subject=subject, now=now,
                               language=language)


NOTICE_COLUMNS = (ClientNotice.client, ClientNotice.kind, ClientNotice.message, ClientNotice.link, ClientNotice.created_at)


async def post_many(rows: list[tuple]) -> None:
    """Many notices in one statement (the dunning tick): rows of NOTICE_COLUMNS, each message in its
    client's language. Joins the caller's transaction."""
    await bulk.insert_many(ClientNotice, NOTICE_COLUMNS, rows)


# --- staff change a client's terms --------------------------------------------------------------

def _term_text(name: str, value, currency: str) -> str:
    if name == "discount_bp":
        return i18n.format_percent_bp(value)
    if name == "service_priority":
        return i18n.gettext(rules.priority_text(value))
    if name == "credit_limit_minor":
        return i18n.format_money(value, currency)
    return i18n.gettext("on hold") if value else i18n.gettext("no hold")


def terms_change_message(before: dict, after: dict, language: str) -> str:
    """The changed terms in words, in `language` ("" when none of the watched terms changed)."""
    names = rules.changed_terms(before, after)
    with speaking(language):
        return " ".join(
            i18n.gettext(
                rules.TERM_CHANGE_MESSAGES[name],
                before=_term_text(name, before[name], before.get("currency") or after.get("currency", "EUR")),
                after=_term_text(name, after[name], after.get("currency") or before.get("currency", "EUR")),
            )
            for name in names
        )


async def notify_terms_changed(client_id: int, before: dict, after: dict, *, key_suffix: str,
                               now: dt.datetime | None = None) -> int | None:
    """After staff changed a client: tell the client which of its discount, priority, credit limit or
    hold changed (one notice, one email). Joins the caller's transaction. None when none changed."""
    language = after.get("language") or await client_language(client_id)
    message = terms_change_message(before, after, language)
    if not message:
        return None
    return await notify_client(
        client_id, "terms_changed", message, link="/client", email_key=f"terms-{client_id}-{key_suffix}", now=now,
    )


# --- reading: the client home ---------------------------------------------------------------------

async def recent_notices(client_id: int, limit: int = NOTICE_LIMIT) -> list[dict]:
    """The client's notices, newest first."""
    return await ClientNotice.select().where(ClientNotice.client == client_id).order_by(
        ClientNotice.created_at, ascending=False
    ).order_by(ClientNotice.id, ascending=False).limit(limit)


async def unread_count(client_id: int) -> int:
    return await ClientNotice.count().where((ClientNotice.client == client_id) & ClientNotice.read_at.is_null())


async def get_notice(client_id: int, notice_id: int) -> dict | None:
    """One of the client's notices; another client's is None."""
    return await ClientNotice.select().where((ClientNotice.id == notice_id) & (ClientNotice.client == client_id)).first()


async def mark_read(client_id: int, notice_id: int) -> bool:
    """Mark one of the client's notices read (the first read time stays); False when it is not theirs."""
    async with db.transaction():
        if await get_notice(client_id, notice_id) is None:
            return False
        await ClientNotice.update({ClientNotice.read_at: utcnow()}).where(
            (ClientNotice.id == notice_id) & (ClientNotice.client == client_id) & ClientNotice.read_at.is_null()
        )
    return True
