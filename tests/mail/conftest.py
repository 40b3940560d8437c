"""A real SMTP server (aiosmtpd) on a free localhost port, a port where nothing listens, and
Settings that point the sender at either, built the way tests/conftest.py builds them."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.conftest import TEST_SECRET


def free_port() -> int:
    """A localhost port nothing listens on (bound for a moment by us, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage


@dataclass
class Recorder:
    """The aiosmtpd handler: keeps every envelope the server accepted."""

    received: list[Received] = field(default_factory=list)
    delay: float = 0.0  # seconds the server takes to accept each message

    async def handle_DATA(self, server, session, envelope) -> str:
        await asyncio.sleep(self.delay)
        parsed = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def subjects(self) -> list[str]:
        return [r.message["Subject"] for r in self.received]


@dataclass
class SmtpServer:
    port: int
    recorder: Recorder

    @property
    def received(self) -> list[Received]:
        return self.recorder.received


class PasswordCheck:
    """An aiosmtpd authenticator that knows one login."""

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user.encode(), password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (self.user, self.password)
        return AuthResult(success=ok, handled=False)


def _start(**server_kwargs) -> tuple[Controller, SmtpServer]:
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, **server_kwargs)
    controller.start()
    return controller, SmtpServer(port=port, recorder=recorder)


@pytest.fixture
def smtp_server():
    controller, server = _start()
    yield server
    controller.stop()


@pytest.fixture
def smtp_server_with_login():
    """Accepts mail only after AUTH as mailer / s3cret (over plain text: it is localhost)."""
    controller, server = _start(authenticator=PasswordCheck("mailer", "s3cret"), auth_required=True, auth_require_tls=False)
    yield server
    controller.stop()


@pytest.fixture
def closed_port() -> int:
    return free_port()


@pytest.fixture
def mail_settings(database_url, tmp_path):
    """mail_settings(port=..., **more env) -> Settings for this test's database with SMTP at 127.0.0.1:port
    (port None: no SMTP settings at all, as in development)."""
    from portal.settings import load_settings

    def build(port: int | None, **env: str):
        base = {
            "PORTAL_ENV": "test", "DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET,
            "PORTAL_VAR_DIR": str(tmp_path / "var"), "DB_POOL_SIZE": "0", "BASE_URL": "https://portal.firm.test",
            "EMAIL_MAX_ATTEMPTS": "3",
        }
        if port is not None:
            base.update({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_TLS": "false"})
        return load_settings({**base, **env})

    return build
