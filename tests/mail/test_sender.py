"""The sender against a real SMTP server (aiosmtpd on a free localhost port): delivery, the
outage path (retry with backoff, then failed), recovery of a sender that stopped mid-send, and
no SMTP settings at all."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from portal.audit.tables import AuditEvent
from portal.clock import utcnow
from portal.mail import rules
from portal.mail.sender import claim_due, send_due
from tests.mail.helpers import queue, row

NOTHING = {"sent": 0, "retrying": 0, "failed": 0}


async def test_a_queued_message_is_delivered_as_written(db, smtp_server, mail_settings):
    settings = mail_settings(smtp_server.port)
    body = "Bună ziua,\n\nFactura INV-2025-00007 (1.190,00 lei) a ajuns la scadență.\nVă mulțumim!"
    message = await queue(to="ion@carpatia.test", subject="Factura INV-2025-00007: plată scadentă", body=body)

    assert await send_due(settings) == {"sent": 1, "retrying": 0, "failed": 0}

    [received] = smtp_server.received
    assert received.rcpt_tos == ["ion@carpatia.test"]
    assert received.mail_from == "no-reply@portal.firm.test"
    assert received.message["To"] == "ion@carpatia.test"
    assert received.message["Subject"] == "Factura INV-2025-00007: plată scadentă"
    assert received.message.get_content_type() == "text/plain"
    assert received.message.get_content_charset() == "utf-8"
    assert received.message.get_content().replace("\r\n", "\n").rstrip("\n") == body  # CRLF on the wire
    sent = await row(message["id"])
    assert sent["status"] == "sent" and sent["sent_at"] is not None and sent["attempts"] == 0
    assert sent["message_id"] == received.message["Message-ID"] == rules.message_id_for(message["key"], settings.base_url)


async def test_sending_again_never_delivers_a_message_twice(db, smtp_server, mail_settings):
    settings = mail_settings(smtp_server.port)
    await queue(subject="Only once")
    assert (await send_due(settings))["sent"] == 1
    assert await send_due(settings) == NOTHING
    assert await send_due(settings, now=utcnow() + dt.timedelta(days=2)) == NOTHING
    assert smtp_server.recorder.subjects() == ["Only once"]


async def test_smtp_from_is_the_sender_when_set(db, smtp_server, mail_settings):
    settings = mail_settings(smtp_server.port, SMTP_FROM="billing@firm.test")
    await queue()
    await send_due(settings)
    assert smtp_server.received[0].mail_from == "billing@firm.test"
    assert smtp_server.received[0].message["From"] == "billing@firm.test"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_the_sender_logs_in_when_smtp_user_is_set(db, smtp_server_with_login, mail_settings):
    port = smtp_server_with_login.port
    message = await queue(subject="Behind a login")
    wrong = await send_due(mail_settings(port, SMTP_USER="mailer", SMTP_PASSWORD="wrong"))
    assert wrong == {"sent": 0, "retrying": 1, "failed": 0}
    assert "535" in (await row(message["id"]))["last_error"]

    later = utcnow() + dt.timedelta(minutes=2)
    assert (await send_due(mail_settings(port, SMTP_USER="mailer", SMTP_PASSWORD="s3cret"), now=later))["sent"] == 1
    assert smtp_server_with_login.recorder.subjects() == ["Behind a login"]


async def test_an_outage_keeps_the_message_queued_retries_with_backoff_then_marks_it_failed(db, closed_port, mail_settings):
    down = mail_settings(closed_port)  # EMAIL_MAX_ATTEMPTS=3
    message = await queue(subject="During the outage")
    start = utcnow()

    assert await send_due(down, now=start) == {"sent": 0, "retrying": 1, "failed": 0}
    first = await row(message["id"])
    assert first["status"] == "queued" and first["attempts"] == 1
    assert first["next_attempt_at"] == start + dt.timedelta(minutes=1)
    assert first["last_error"] and "Traceback" not in first["last_error"] and "\n" not in first["last_error"]

    assert await send_due(down, now=start + dt.timedelta(seconds=59)) == NOTHING  # not before its time
    assert (await row(message["id"]))["attempts"] == 1

    second_try = start + dt.timedelta(minutes=1)
    assert await send_due(down, now=second_try) == {"sent": 0, "retrying": 1, "failed": 0}
    second = await row(message["id"])
    assert (second["status"], second["attempts"]) == ("queued", 2)
    assert second["next_attempt_at"] == second_try + dt.timedelta(minutes=5)

    assert await send_due(down, now=second_try + dt.timedelta(minutes=4)) == NOTHING
    third_try = second_try + dt.timedelta(minutes=5)
    assert await send_due(down, now=third_try) == {"sent": 0, "retrying": 0, "failed": 1}
    failed = await row(message["id"])
    assert (failed["status"], failed["attempts"]) == ("failed", 3)
    assert await send_due(down, now=third_try + dt.timedelta(days=3)) == NOTHING  # given up: no more attempts
    events = await AuditEvent.select(AuditEvent.action).where((AuditEvent.object_type == "email") & (AuditEvent.object_id == message["id"]))
    assert [e["action"] for e in events] == ["email_failed"]


async def test_a_refused_connection_counts_one_attempt_for_every_claimed_message(db, closed_port, mail_settings):
    messages = [await queue() for _ in range(3)]
    assert await send_due(mail_settings(closed_port)) == {"sent": 0, "retrying": 3, "failed": 0}
    assert [(await row(m["id"]))["attempts"] for m in messages] == [1, 1, 1]


async def test_after_the_outage_the_queued_message_goes_out(db, closed_port, smtp_server, mail_settings):
    message = await queue(subject="Delayed, not lost")
    start = utcnow()
    await send_due(mail_settings(closed_port), now=start)
    assert await send_due(mail_settings(smtp_server.port), now=start + dt.timedelta(seconds=30)) == NOTHING
    assert (await send_due(mail_settings(smtp_server.port), now=start + dt.timedelta(minutes=1)))["sent"] == 1
    assert smtp_server.recorder.subjects() == ["Delayed, not lost"]
    sent = await row(message["id"])
    assert sent["status"] == "sent" and sent["attempts"] == 1


async def test_a_message_left_sending_by_a_stopped_sender_is_sent_after_its_lease(db, smtp_server, mail_settings):
    settings = mail_settings(smtp_server.port)
    message = await queue(subject="Claimed, then the sender died")
    start = utcnow()
    assert [m["id"] for m in await claim_due(start)] == [message["id"]]  # a sender claims it and is killed
    assert (await row(message["id"]))["status"] == "sending"

    assert await send_due(settings, now=start + dt.timedelta(minutes=1)) == NOTHING  # still leased
    assert smtp_server.received == []
    assert (await send_due(settings, now=start + rules.LEASE))["sent"] == 1
    assert smtp_server.recorder.subjects() == ["Claimed, then the sender died"]


async def test_without_smtp_settings_nothing_is_sent_and_messages_stay_queued(db, smtp_server, mail_settings):
    settings = mail_settings(None)
    message = await queue(subject="Kept in the outbox")
    assert await send_due(settings, now=utcnow() + dt.timedelta(days=1)) == NOTHING
    kept = await row(message["id"])
    assert (kept["status"], kept["attempts"], kept["last_error"]) == ("queued", 0, "")
    assert smtp_server.received == []


async def test_cancelled_messages_are_never_sent(db, smtp_server, mail_settings):
    from portal.mail.tables import EmailMessage

    message = await queue(subject="Paid before sending")
    await EmailMessage.update({EmailMessage.status: "cancelled"}).where(EmailMessage.id == message["id"])
    assert await send_due(mail_settings(smtp_server.port)) == NOTHING
    assert smtp_server.received == []


async def test_oldest_first_and_at_most_limit_per_call(db, smtp_server, mail_settings):
    settings = mail_settings(smtp_server.port)
    for n in range(5):
        await queue(subject=f"Message {n}")
    assert (await send_due(settings, limit=2))["sent"] == 2
    assert smtp_server.recorder.subjects() == ["Message 0", "Message 1"]
    assert (await send_due(settings, limit=10))["sent"] == 3
    assert smtp_server.recorder.subjects() == [f"Message {n}" for n in range(5)]


async def test_two_senders_at_once_never_deliver_a_message_twice(db, smtp_server, mail_settings):
    settings = mail_settings(smtp_server.port)
    subjects = [f"Concurrent {n}" for n in range(30)]
    for subject in subjects:
        await queue(subject=subject)

    async def runner() -> int:
        sent = 0
        while True:
            counts = await send_due(settings, limit=4)
            if not counts["sent"]:
                return sent
            sent += counts["sent"]

    results = await asyncio.gather(runner(), runner(), runner())
    assert sum(results) == 30
    assert sorted(smtp_server.recorder.subjects()) == sorted(subjects)  # each exactly once


async def test_a_message_that_cannot_be_written_fails_alone(db, smtp_server, mail_settings):
    broken = await queue(to="ana@client.test\nBcc: everyone@elsewhere.test", subject="Broken address")
    fine = await queue(subject="Fine")
    assert await send_due(mail_settings(smtp_server.port)) == {"sent": 1, "retrying": 1, "failed": 0}
    assert smtp_server.recorder.subjects() == ["Fine"]
    assert (await row(fine["id"]))["status"] == "sent"
    stuck = await row(broken["id"])
    assert (stuck["status"], stuck["attempts"]) == ("queued", 1) and "linefeed" in stuck["last_error"]


async def test_messages_left_when_the_lease_runs_out_are_given_back_not_sent_late(db, smtp_server, mail_settings):
    settings = mail_settings(smtp_server.port)
    smtp_server.recorder.delay = 0.6  # a slow server: the 1-second lease covers one or two messages
    messages = [await queue(subject=f"Slow {n}") for n in range(4)]
    start = utcnow()

    counts = await send_due(settings, now=start, lease=dt.timedelta(seconds=1))
    assert 1 <= counts["sent"] <= 2 and counts["retrying"] == counts["failed"] == 0
    given_back = [await row(m["id"]) for m in messages[counts["sent"]:]]
    assert all((m["status"], m["attempts"], m["next_attempt_at"]) == ("queued", 0, start) for m in given_back)

    smtp_server.recorder.delay = 0
    assert (await send_due(settings, now=start))["sent"] == 4 - counts["sent"]
    assert smtp_server.recorder.subjects() == [f"Slow {n}" for n in range(4)]
