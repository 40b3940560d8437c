"""The `portal` command: serve, migrate, demo, create-user. Errors are one line and a non-zero exit."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import errno
import getpass
import os
import socket
import sys
from zoneinfo import ZoneInfo

import uvicorn
from piccolo.apps.migrations.commands.forwards import run_forwards
from uvicorn.supervisors import Multiprocess

from portal import db, demo
from portal.accounts import rules
from portal.accounts.service import AccountError, create_user
from portal.app import create_app
from portal.audit.service import Actor
from portal.auth.roles import Kind, Role
from portal.clients.tables import Client
from portal.dunning.ladders import seeds
from portal.settings import ROOT, Settings, SettingsError, load_settings
from portal.tick import run_dunning


class CommandError(Exception):
    """A failure to report as one line."""


def _prepare() -> Settings:
    settings = load_settings()
    # Piccolo's migration runner finds piccolo_conf.py by module name; make it importable from anywhere.
    os.environ["DATABASE_URL"] = settings.database_url
    os.environ.setdefault("PICCOLO_CONF", "piccolo_conf")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return settings


async def _migrate() -> str:

    result = await run_forwards(app_name="portal")
    if not result.success:
        raise CommandError(f"migration failed: {result.message.strip()}")
    return result.message.strip() or "migrations applied"


def cmd_migrate(_: argparse.Namespace) -> None:

    settings = _prepare()

    async def run() -> dict:
        await _migrate()
        db.bind(db.engine_for(settings.database_url))
        return await seeds.ensure_defaults()  # the default dunning ladders and delay reasons, once

    created = asyncio.run(run())
    print("database is up to date")
    if created["ladders"] or created["delay_reasons"]:
        print(f"default dunning policy written: {created['ladders']} ladders, {created['steps']} steps, "
              f"{created['delay_reasons']} delay reasons")


def cmd_demo(args: argparse.Namespace) -> None:

    settings = _prepare()
    db.bind(db.engine_for(settings.database_url))

    async def run() -> tuple[list[tuple[str, str, str]], bool]:
        fresh = await demo.database_is_empty()
        if args.if_empty and not fresh:
            return await demo.present_logins(), False
        logins = await demo.load_demo(settings.upload_dir)
        if fresh:
            await demo.replay_dunning(settings)
            await demo.negotiate(settings)
        return logins, True

    logins, loaded = asyncio.run(run())
    if not loaded:
        print("database already has data; demo not loaded")
    if logins:
        print(f"Demo logins (password for all: {demo.DEMO_PASSWORD}):")
        for email, role, company in logins:
            print(f"  {email:<42} {role:<18} {company}")


def cmd_create_user(args: argparse.Namespace) -> None:

    settings = _prepare()
    db.bind(db.engine_for(settings.database_url))
    try:
        role = Role(args.role)
    except ValueError:
        raise CommandError(f"--role must be one of: {', '.join(r.value for r in Role)}") from None
    if role is Role.CLIENT and args.client is None:
        raise CommandError("--client <client id> is required for a client user")
    if role is not Role.CLIENT and args.client is not None:
        raise CommandError("--client is only for client users (--role client)")
    password = os.environ.get("PORTAL_NEW_PASSWORD") or getpass.getpass("Password: ")
    if not os.environ.get("PORTAL_NEW_PASSWORD") and getpass.getpass("Repeat it: ") != password:
        raise CommandError("the two passwords differ")
    problem = rules.check_password(password)
    if problem:
        raise CommandError(f"password refused: {problem}")

    async def run() -> int:
        if args.client is not None and not await Client.exists().where(Client.id == args.client):
            raise CommandError(f"no client with id {args.client}")
        return await create_user(
            email=args.email, name=args.name or args.email.split("@")[0], password=password,
            kind=Kind.CLIENT if role is Role.CLIENT else Kind.STAFF, role=role, client_id=args.client,
            is_legal=args.legal, actor=Actor(None, "command line"),
        )

    try:
        user_id = asyncio.run(run())
    except AccountError as exc:
        raise CommandError(str(exc)) from None
    print(f"created user {user_id} ({args.email}, {role.value})")


def _as_of(raw: str | None):
    """--as-of 2026-12-01T12:00 (the firm's time zone unless an offset is given)."""

    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise CommandError(f"--as-of must look like 2026-12-01T12:00, got {raw!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(load_settings().firm_timezone))
    return value


def cmd_dunning_run(args: argparse.Namespace) -> None:

    settings = _prepare()
    as_of = _as_of(args.as_of)
    engine = db.bind(db.engine_for(settings.database_url))

    async def run():
        async with db.pool(engine, max(2, settings.db_pool_size)):
            return await run_dunning(settings, as_of)

    print(asyncio.run(run()).line())


def cmd_serve(args: argparse.Namespace) -> None:

    settings = _prepare()
    options = {"host": settings.host, "port": settings.port, "proxy_headers": settings.production, "log_level": "info"}
    if settings.web_workers > 1:  # each process builds its app from the same environment
        refuse_if_taken(settings.host, settings.port)
        config = uvicorn.Config("portal.app:create_app", factory=True, workers=settings.web_workers, **options)
        supervisor(config, settings.host, settings.port).run()
        return

    uvicorn.run(create_app(settings), **options)


def listening_socket(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A listening socket made with IPPROTO_TCP. uvicorn's own has protocol 0, so asyncio never sets
    TCP_NODELAY on the connections it accepts and each keep-alive answer then waits ~40 ms for the
    client's delayed ACK (measured: 44 ms a request, even for a bare route)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def refuse_if_taken(host: str, port: int) -> None:
    """The workers' sockets share the port (SO_REUSEPORT), so a second `portal serve` on a port
    already served would silently take half its connections. A plain bind first fails instead."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # only connections in TIME_WAIT do not count
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CommandError(f"{host}:{port} is already in use (is another portal serve running?)") from None
            raise


def supervisor(config, host: str, port: int):
    """uvicorn's worker supervisor, giving every worker it starts (or restarts) a listening socket
    of its own on the same port (SO_REUSEPORT), so the kernel spreads new connections over the
    workers. With one shared socket, the worker that wakes first accepts every connection waiting,
    and a burst of keep-alive connections lands on one worker while the others idle (measured)."""

    class _Supervisor(Multiprocess):
        @property
        def sockets(self) -> list[socket.socket]:  # read once per worker started
            return [listening_socket(host, port, reuse_port=True)]

        @sockets.setter
        def sockets(self, _: list[socket.socket]) -> None:
            pass

    return _Supervisor(config, sockets=[])


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="portal", description="The B2B portal's command line.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="serve the portal on HOST:PORT").set_defaults(func=cmd_serve)
    sub.add_parser("migrate", help="apply all database migrations").set_defaults(func=cmd_migrate)
    demo = sub.add_parser("demo", help="load the demo data (idempotent) and print the demo logins")
    demo.add_argument("--if-empty", action="store_true", help="only when the database has no users and no clients")
    demo.set_defaults(func=cmd_demo)
    create = sub.add_parser("create-user", help="create a login; asks for the password without echo")
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True, help="admin, sales_manager, spec_coordinator, designer, credit_controller, negotiator or client")
    create.add_argument("--name", default="")
    create.add_argument("--client", type=int, default=None, help="the client company's id (client users only)")
    create.add_argument("--legal", action="store_true", help="a negotiator who is a lawyer")
    create.set_defaults(func=cmd_create_user)
    dunning = sub.add_parser("dunning", help="the dunning engine").add_subparsers(dest="dunning_command", required=True)
    run = dunning.add_parser("run", help="run one dunning tick: plan due ladder steps, carry them out, send queued email")
    run.add_argument("--as-of", default=None, help="the moment to tick at, e.g. 2026-12-01T12:00 (firm's time zone); default now")
    run.set_defaults(func=cmd_dunning_run)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except SettingsError as exc:
        print(f"portal: configuration error: {exc}", file=sys.stderr)
        return 2
    except CommandError as exc:
        print(f"portal: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one clear line, never a trace
        print(f"portal: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
