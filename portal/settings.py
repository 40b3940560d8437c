"""One Settings object, read from the environment.

A missing or malformed setting raises SettingsError whose message names the variable;
the CLI prints it as one line and exits non-zero.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PORTAL_VAR_DIR", ROOT / "var"))
DEFAULT_SQLITE_PATH = VAR_DIR / "portal.sqlite"
LANGUAGES = ("en", "ro", "uk", "bg", "hu")


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    environment: str
    database_url: str
    secret_key: str
    base_url: str
    host: str
    port: int
    session_idle_minutes: int
    db_pool_size: int
    login_max_failures: int
    login_window_minutes: int
    default_language: str
    firm_name: str
    firm_timezone: str
    bank_details: str
    stripe_secret_key: str
    stripe_webhook_secret: str
    stripe_api_base: str
    smtp_host: str
    smtp_port: int
    smtp_user: str
    smtp_password: str
    smtp_from: str
    smtp_tls: bool
    firm_address: str = ""  # the seller's address on invoices, letters and schedules (lines split by " | " or newlines)
    firm_tax_id: str = ""
    firm_registration: str = ""  # the trade register number
    web_workers: int = 1  # processes `portal serve` runs (each with its own pool and tick scheduler)
    dunning_tick_seconds: int = 300  # 0: `portal serve` runs no ticks (run `portal dunning run` from cron)
    promise_grace_days: int = 1  # a promised date pauses the ladder until that date plus this
    max_promise_days: int = 30  # how far ahead a client may promise to pay
    action_max_attempts: int = 5  # a dunning action that keeps failing is marked failed after this
    email_max_attempts: int = 6  # an email that keeps failing is marked failed after this
    # Negotiation policy (portal.negotiation.schedules.rules.Policy reads these).
    proposal_review_days: int = 7  # a proposed schedule holds the ladder at most this long
    plan_min_installment_minor: int = 5000  # no installment below this (minor units)
    plan_horizon_days: tuple[tuple[str, int], ...] = (("A", 365), ("B", 180), ("C", 90))  # per segment
    plan_grace_days: int = 3  # an installment is missed this many days after its date
    dispute_max_days: int = 30  # a dispute holds the ladder at most this long
    share_link_days: int = 14  # a shared schedule link expires after this
    link_max_failures: int = 20  # wrong /s/ tokens per IP per hour before it is refused
    var_dir: Path = field(default=VAR_DIR)

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def takes_payments(self) -> bool:
        """A client has a way to pay: online (Stripe) or by transfer (the firm's bank details)."""
        return bool(self.stripe_secret_key or self.bank_details)

    @property
    def uses_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://"))

    @property
    def sqlite_path(self) -> Path:
        return Path(self.database_url.removeprefix("sqlite:///"))

    @property
    def upload_dir(self) -> Path:
        return self.var_dir / "uploads"


def _int(env: dict[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _horizons(env: dict[str, str]) -> tuple[tuple[str, int], ...]:
    """PLAN_HORIZON_DAYS="A:365,B:180,C:90": how far the last installment may lie, per segment."""
    raw = env.get("PLAN_HORIZON_DAYS", "").strip() or "A:365,B:180,C:90"
    out = []
    for part in raw.split(","):
        segment, _, days = part.strip().partition(":")
        if len(segment.strip()) != 1 or not days.strip().isdigit() or int(days) < 1:
            raise SettingsError(f"PLAN_HORIZON_DAYS must look like A:365,B:180,C:90, got {raw!r}")
        out.append((segment.strip().upper(), int(days)))
    return tuple(out)


def _database_url(env: dict[str, str], var_dir: Path) -> str:
    raw = env.get("DATABASE_URL", "").strip()
    if not raw:
        return f"sqlite:///{var_dir / 'portal.sqlite'}"
    if raw.startswith("sqlite:///") and len(raw) > len("sqlite:///"):
        return raw
    if raw.startswith(("postgres://", "postgresql://")):
        parsed = urlparse(raw)
        if not parsed.hostname and not parsed.path.strip("/"):
            raise SettingsError("DATABASE_URL must name a host or a database, e.g. postgres://user@127.0.0.1:5432/portal")
        return raw
    raise SettingsError("DATABASE_URL must start with postgres://, postgresql:// or sqlite:///")


def _default_workers(production: bool, env: dict[str, str]) -> int:
    """One process per core in production on PostgreSQL (one Python process keeps one core busy);
    otherwise one: SQLite takes one writer at a time, and development reloads a single process."""
    on_postgres = env.get("DATABASE_URL", "").strip().startswith(("postgres://", "postgresql://"))
    return max(os.cpu_count() or 1, 1) if production and on_postgres else 1


def _secret_key(env: dict[str, str], production: bool, var_dir: Path) -> str:
    raw = env.get("SECRET_KEY", "").strip()
    if raw:
        if len(raw) < 32:
            raise SettingsError("SECRET_KEY must be at least 32 characters long")
        return raw
    if production:
        raise SettingsError("SECRET_KEY is required in production (PORTAL_ENV=production)")
    key_file = var_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def _base_url(env: dict[str, str], host: str, port: int) -> str:
    raw = env.get("BASE_URL", "").strip().rstrip("/")
    if not raw:
        return f"http://{host}:{port}"
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise SettingsError(f"BASE_URL must be an absolute http(s) URL, got {raw!r}")
    return raw


def _timezone(env: dict[str, str]) -> str:
    name = env.get("FIRM_TIMEZONE", "").strip() or "Europe/Bucharest"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"FIRM_TIMEZONE must be an IANA time zone such as Europe/Bucharest, got {name!r}") from None
    return name


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    environment = env.get("PORTAL_ENV", "development").strip() or "development"
    if environment not in ("development", "production", "test"):
        raise SettingsError(f"PORTAL_ENV must be development, production or test, got {environment!r}")
    production = environment == "production"
    var_dir = Path(env.get("PORTAL_VAR_DIR", "") or VAR_DIR)
    host = env.get("HOST", "127.0.0.1").strip() or "127.0.0.1"
    port = _int(env, "PORT", 8000, minimum=1)
    if port > 65535:
        raise SettingsError(f"PORT must be at most 65535, got {port}")
    language = env.get("DEFAULT_LANGUAGE", "en").strip() or "en"
    if language not in LANGUAGES:
        raise SettingsError(f"DEFAULT_LANGUAGE must be one of {', '.join(LANGUAGES)}, got {language!r}")
    stripe_secret = env.get("STRIPE_SECRET_KEY", "").strip()
    if stripe_secret and not stripe_secret.startswith(("sk_", "rk_")):
        raise SettingsError("STRIPE_SECRET_KEY must start with sk_ or rk_")
    return Settings(
        environment=environment,
        database_url=_database_url(env, var_dir),
        secret_key=_secret_key(env, production, var_dir),
        base_url=_base_url(env, host, port),
        host=host,
        port=port,
        session_idle_minutes=_int(env, "SESSION_IDLE_MINUTES", 60, minimum=1),
        db_pool_size=_int(env, "DB_POOL_SIZE", 10, minimum=0),
        login_max_failures=_int(env, "LOGIN_MAX_FAILURES", 5, minimum=1),
        login_window_minutes=_int(env, "LOGIN_WINDOW_MINUTES", 15, minimum=1),
        default_language=language,
        firm_name=env.get("FIRM_NAME", "").strip() or "Portal",
        firm_timezone=_timezone(env),
        bank_details=env.get("FIRM_BANK_DETAILS", "").strip(),
        firm_address="\n".join(line.strip() for line in env.get("FIRM_ADDRESS", "").replace(" | ", "\n").splitlines() if line.strip()),
        firm_tax_id=env.get("FIRM_TAX_ID", "").strip(),
        firm_registration=env.get("FIRM_REGISTRATION", "").strip(),
        stripe_secret_key=stripe_secret,
        stripe_webhook_secret=env.get("STRIPE_WEBHOOK_SECRET", "").strip(),
        stripe_api_base=env.get("STRIPE_API_BASE", "").strip(),
        smtp_host=env.get("SMTP_HOST", "").strip(),
        smtp_port=_int(env, "SMTP_PORT", 587, minimum=1),
        smtp_user=env.get("SMTP_USER", "").strip(),
        smtp_password=env.get("SMTP_PASSWORD", ""),
        smtp_from=env.get("SMTP_FROM", "").strip(),
        smtp_tls=_bool(env, "SMTP_TLS", True),
        web_workers=_int(env, "WEB_WORKERS", _default_workers(production, env), minimum=1),
        dunning_tick_seconds=_int(env, "DUNNING_TICK_SECONDS", 300, minimum=0),
        promise_grace_days=_int(env, "DUNNING_PROMISE_GRACE_DAYS", 1, minimum=0),
        max_promise_days=_int(env, "DUNNING_MAX_PROMISE_DAYS", 30, minimum=1),
        action_max_attempts=_int(env, "DUNNING_MAX_ATTEMPTS", 5, minimum=1),
        email_max_attempts=_int(env, "EMAIL_MAX_ATTEMPTS", 6, minimum=1),
        proposal_review_days=_int(env, "PROPOSAL_REVIEW_DAYS", 7, minimum=1),
        plan_min_installment_minor=_int(env, "PLAN_MIN_INSTALLMENT_MINOR", 5000, minimum=1),
        plan_horizon_days=_horizons(env),
        plan_grace_days=_int(env, "PLAN_GRACE_DAYS", 3, minimum=0),
        dispute_max_days=_int(env, "DISPUTE_MAX_DAYS", 30, minimum=1),
        share_link_days=_int(env, "SHARE_LINK_DAYS", 14, minimum=1),
        link_max_failures=_int(env, "LINK_MAX_FAILURES", 20, minimum=1),
        var_dir=var_dir,
    )
