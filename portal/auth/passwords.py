"""argon2id password hashing, run in a worker thread so it never blocks the event loop."""

from __future__ import annotations

import anyio.to_thread
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP's argon2id minimum: 19 MiB, 2 iterations, 1 lane.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)
MIN_LENGTH = 10

# Verified against when the email is unknown, so a miss costs the same time as a hit.
_DUMMY_HASH = HASHER.hash("not a real password, only burns time")


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(HASHER.hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    ok = await anyio.to_thread.run_sync(_verify, password_hash or _DUMMY_HASH, password)
    return ok and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return HASHER.check_needs_rehash(password_hash)


def password_problem(password: str) -> str | None:
    """A reason the password is not acceptable, or None (message ids are translated by callers)."""
    if len(password) < MIN_LENGTH:
        return "Use at least %(n)s characters."
    if password.strip() == "" or len(set(password)) < 4:
        return "This password is too simple."
    return None
