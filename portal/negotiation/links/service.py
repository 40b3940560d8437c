"""Share links for repayment schedules: a negotiator shares one schedule version through
/s/<token>; whoever holds the link may read that version and accept it by typing their name,
nothing else (no session, no other page). The token rules are in links_rules.py.

Each use case is one transaction. Accepting through a link joins service.accept's transaction:
the schedule is accepted (the signature: name, time, IP, version, via "link") and the link is
marked used together, or neither. Failed openings (no such token) are counted per IP in
LinkAttempt; past settings.link_max_failures within the hour every opening is refused.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal import db
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.clock import utcnow
from portal.messages import N_
from portal.negotiation.links import rules
from portal.negotiation.schedules import service
from portal.negotiation.schedules.service import Context, ScheduleError
from portal.negotiation.tables import LinkAttempt, Schedule, ScheduleStatus, ShareLink

ATTEMPTS_KEPT = dt.timedelta(days=1)


@dataclass(frozen=True)
class Created:
    link_id: int
    token: str  # shown once to the negotiator; only its hash is kept
    offered: bool  # the schedule was a draft: making the link offered it to the client


@dataclass(frozen=True)
class Opened:
    """What a link's holder may see: one schedule version, nothing staff-only."""

    link: dict
    schedule: dict  # id, status, currency, debt_minor, client_name, client_language
    version: dict  # number, note, total_minor, installments
    invoices: list[dict]  # code, due_date, open_minor, currency


@dataclass(frozen=True)
class Accepted:
    schedule_id: int
    version: int
    name: str
    at: dt.datetime


class LinkRefused(Exception):
    def __init__(self, refusal: rules.Refusal) -> None:
        self.refusal = refusal
        super().__init__(refusal.reason)


# --- staff: list, create, revoke -------------------------------------------------------------

async def links_of(schedule_id: int, *, now: dt.datetime | None = None) -> list[dict]:
    """The schedule's links, newest first, each with its state ("state", "state_label", "tone")."""
    now = now or utcnow()
    schedule = await Schedule.select(Schedule.status, Schedule.current_version).where(Schedule.id == schedule_id).first()
    if schedule is None:
        return []
    rows = await ShareLink.select(
        ShareLink.id, ShareLink.version, ShareLink.created_at, ShareLink.expires_at, ShareLink.revoked_at, ShareLink.used_at,
        ShareLink.signer_name, ShareLink.signer_ip, ShareLink.created_by.name.as_alias("created_by_name"),
    ).where(ShareLink.schedule == schedule_id).order_by(ShareLink.id, ascending=False)
    for row in rows:
        row["state"] = rules.state_of(row, now, current_version=schedule["current_version"], schedule_status=schedule["status"])
        row["state_label"] = rules.STATE_LABELS[row["state"]]
        row["tone"] = rules.STATE_TONES[row["state"]]
    return rows


async def _locked_schedule(schedule_id: int) -> dict:
    query = Schedule.select(Schedule.id, Schedule.client, Schedule.status, Schedule.current_version).where(Schedule.id == schedule_id)
    if db.is_postgres():
        query = query.lock_rows()
    row = await query.first()
    if row is None:
        raise LookupError(schedule_id)
    return row


async def create(schedule_id: int, actor: Actor, ctx: Context, *, secret: str, days: int,
                 now: dt.datetime | None = None) -> Created:
    """A new link to the version on the table. A draft is offered to the client in the same
    transaction (its ladder pauses for the review, the client is told in the portal)."""
    now = now or utcnow()
    async with db.transaction():
        schedule = await _locked_schedule(schedule_id)
        if schedule["status"] not in rules.SHAREABLE:
            raise ScheduleError(N_("Only a draft or an offer waiting for the client's answer can be shared through a link."))
        if schedule["status"] == ScheduleStatus.DRAFT:
            await service.offer(schedule_id, actor, ctx, now=now)
        version = schedule["current_version"]
        token = rules.make_token(secret, schedule_id, version)
        link = ShareLink(schedule=schedule_id, version=version, token_hash=rules.token_hash(token), created_by=actor.user_id,
                         created_at=now, expires_at=rules.expires_at(now, days))
        await link.save()
        await audit.record(actor, "share_link_created", "schedule", schedule_id, client_id=schedule["client"],
                           after={"link": link.id, "version": version, "expires_at": link.expires_at.isoformat()})
    return Created(link.id, token, schedule["status"] == ScheduleStatus.DRAFT)


async def revoke(schedule_id: int, link_id: int, actor: Actor, *, now: dt.datetime | None = None) -> bool:
    """Withdraw a link; False when it was already revoked or used (nothing changes)."""
    now = now or utcnow()
    async with db.transaction():
        query = ShareLink.select(ShareLink.id, ShareLink.version, ShareLink.revoked_at, ShareLink.used_at,
                                 ShareLink.schedule.client.as_alias("client")).where(
            (ShareLink.id == link_id) & (ShareLink.schedule == schedule_id))
        link = await query.first()
        if link is None:
            raise LookupError(link_id)
        if link["revoked_at"] is not None or link["used_at"] is not None:
            return False
        await ShareLink.update({ShareLink.revoked_at: now}).where(
            (ShareLink.id == link_id) & ShareLink.revoked_at.is_null() & ShareLink.used_at.is_null())
        await audit.record(actor, "share_link_revoked", "schedule", schedule_id, client_id=link["client"],
                           after={"link": link_id, "version": link["version"]})
    return True


# --- the link's holder: open, accept ------------------------------------------------------------

async def failures(ip: str, now: dt.datetime) -> int:
    return await LinkAttempt.count().where((LinkAttempt.ip == ip[:64]) & (LinkAttempt.at > rules.window_start(now)))


async def _record_failure(ip: str, now: dt.datetime) -> None:
    async with db.transaction():
        await LinkAttempt.insert(LinkAttempt(ip=ip[:64], at=now))
        await LinkAttempt.delete().where(LinkAttempt.at < now - ATTEMPTS_KEPT)


async def _find(token: str, ip: str, *, secret: str, max_failures: int, now: dt.datetime) -> dict:
    """The link row a token names, or LinkRefused: rate-limited (429) or not ours (404, counted)."""
    if rules.limited(await failures(ip, now), max_failures):
        raise LinkRefused(rules.REFUSALS["limited"])
    link = None
    if rules.well_formed(token):
        link = await ShareLink.select().where(ShareLink.token_hash == rules.token_hash(token)).first()
    if link is None or not rules.signed_for(secret, token, link["schedule"], link["version"]):
        await _record_failure(ip, now)
        raise LinkRefused(rules.REFUSALS["invalid"])
    return link


def _refuse_unless_active(link: dict, schedule: dict, now: dt.datetime) -> None:
    state = rules.state_of(link, now, current_version=schedule["current_version"], schedule_status=schedule["status"])
    if state != rules.LinkState.ACTIVE:
        raise LinkRefused(rules.REFUSALS[state])


async def _schedule_row(schedule_id: int) -> dict:
    row = await Schedule.select(
        Schedule.id, Schedule.status, Schedule.current_version, Schedule.currency, Schedule.debt_minor,
        Schedule.client.name.as_alias("client_name"), Schedule.client.language.as_alias("client_language"),
    ).where(Schedule.id == schedule_id).first()
    if row is None:  # the link cascades with its schedule; only a race gets here
        raise LinkRefused(rules.REFUSALS["invalid"])
    return row


async def open_link(token: str, ip: str, *, secret: str, max_failures: int, now: dt.datetime | None = None) -> Opened:
    """The schedule version an active link shows; LinkRefused (with what to tell its holder) otherwise."""
    now = now or utcnow()
    link = await _find(token, ip, secret=secret, max_failures=max_failures, now=now)
    schedule = await _schedule_row(link["schedule"])
    _refuse_unless_active(link, schedule, now)
    version = next((v for v in await service.versions_of(schedule["id"]) if v["number"] == link["version"]), None)
    if version is None:
        raise LinkRefused(rules.REFUSALS["invalid"])
    invoices = [{"code": i["code"], "due_date": i["due_date"], "open_minor": i["open_minor"], "balance_minor": i["balance_minor"],
                 "currency": i["currency"]} for i in await service.invoices_of(schedule["id"])]
    public_version = {
        "number": version["number"], "note": version["note"], "total_minor": version["total_minor"],
        "installments": [{"number": i["number"], "due_date": i["due_date"], "amount_minor": i["amount_minor"]}
                         for i in version["installments"]],
    }
    public_link = {"id": link["id"], "expires_at": link["expires_at"], "version": link["version"]}
    return Opened(public_link, schedule, public_version, invoices)


async def accept(token: str, name: str, ip: str, ctx: Context, *, secret: str, max_failures: int,
                 now: dt.datetime | None = None) -> Accepted:
    """Accept the link's version as its holder, like a signature; the link is used up with it.
    ScheduleError (a form error: the name, or the offer no longer adds up) leaves everything as it was."""
    now = now or utcnow()
    found = await _find(token, ip, secret=secret, max_failures=max_failures, now=now)
    clean = " ".join((name or "").split())[:200]
    async with db.transaction():
        query = ShareLink.select().where(ShareLink.id == found["id"])
        if db.is_postgres():
            query = query.lock_rows()
        link = await query.first()
        if link is None:
            raise LinkRefused(rules.REFUSALS["invalid"])
        _refuse_unless_active(link, await _schedule_row(link["schedule"]), now)
        signer = Actor(user_id=None, label=f"{clean or 'unnamed'} (share link)"[:200], ip=ip[:64])
        await service.accept(link["schedule"], "client", signer, ctx, version=link["version"], name=clean, ip=ip, via="link",
                             now=now)
        await ShareLink.update({ShareLink.used_at: now, ShareLink.signer_name: clean, ShareLink.signer_ip: ip[:64]}).where(
            (ShareLink.id == link["id"]) & ShareLink.used_at.is_null())
        schedule = await Schedule.select(Schedule.client).where(Schedule.id == link["schedule"]).first()
        await audit.record(signer, "share_link_used", "schedule", link["schedule"], client_id=schedule["client"],
                           after={"link": link["id"], "version": link["version"], "name": clean, "ip": ip})
    return Accepted(link["schedule"], link["version"], clean, now)
