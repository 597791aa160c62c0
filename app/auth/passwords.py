"""Password hashing (argon2id via argon2-cffi) and the tenant password policy.

Hashing is deliberately slow, so it runs in a worker thread: the event loop keeps serving
other requests while a login is verified. Parameters follow OWASP's argon2id baseline
(19 MiB, 2 iterations, 1 lane); stored hashes carry their own parameters, so raising them
later only affects new hashes.

Answers that must not tell accounts apart (unknown email, locked account) still verify the
password, against a decoy hash made with the same parameters, so they cost the same time.
`checks` counts both kinds of verification; the lockout's guarantee (at most `threshold`
guesses checked against an account per window) is stated in those numbers.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import string
from dataclasses import dataclass
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

DEFAULT_POLICY: dict[str, Any] = {"minLength": 12, "requireNumbers": True, "requireSymbols": False}




@dataclass
class Checks:
    """Passwords verified since the process started: against accounts' hashes, and against the decoy."""

    accounts: int = 0
    decoys: int = 0


checks = Checks()


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _decoy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def _verify_decoy(password: str) -> None:
    _verify(_decoy_hash(), password)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    checks.accounts += 1
    return await asyncio.to_thread(_verify, password_hash, password)


async def verify_decoy(password: str) -> None:
    """The work of checking a password, for an answer that must look like a real check."""
    checks.decoys += 1
    await asyncio.to_thread(_verify_decoy, password)


def policy_violations(password: str, policy: dict[str, Any] | None) -> list[str]:
    rules = {**DEFAULT_POLICY, **(policy or {})}
    problems = []
    if len(password) < int(rules["minLength"]):
        problems.append(f"must be at least {rules['minLength']} characters")
    if rules.get("requireNumbers") and not re.search(r"\d", password):
        problems.append("must contain a number")
    if rules.get("requireSymbols") and not re.search(r"[^A-Za-z0-9]", password):
        problems.append("must contain a symbol")
    if len(password) > 256:
        problems.append("must be at most 256 characters")
    return problems


def generate_password(length: int = 20) -> str:
    """A one-time password that satisfies any policy we allow (letters, digits, a symbol)."""
    alphabet = string.ascii_letters + string.digits
    body = "".join(secrets.choice(alphabet) for _ in range(length - 3))
    return body + secrets.choice(string.digits) + secrets.choice("!#%+-=?@") + secrets.choice("abcdefgh")
