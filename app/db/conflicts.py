"""A write the database refused because of what another write did first, as a CONFLICT.

Resolvers check uniqueness before they write, but two requests can pass the same check at once
(two clusters given one name, one email taken twice); the database's constraint then decides,
and its refusal is the caller's conflict, not an internal error. Only unique and foreign-key
violations are conflicts; any other integrity error is a defect and stays one. The message names
the kind of thing and its field, never the values or another tenant's rows.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from app.errors import Conflict

log = logging.getLogger("fleetgraph.db")

_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (.+)$")
_POSTGRES_KEY = re.compile(r"Key \(([^)]*)\)=")
_UNIQUE_STATES = {"23505"}
_FOREIGN_KEY_STATES = {"23503"}
_HIDDEN_FIELDS = {"id", "tenant_id", "deleted_at"}
GONE = "refers to something that no longer exists; reload and try again"


@dataclass(frozen=True)
class Violation:
    kind: str  # "unique" or "foreign_key"
    table: str
    columns: tuple[str, ...]


def conflict_from(error: IntegrityError) -> Conflict | None:
    """The CONFLICT an integrity error means, or None when it is not one."""
    violation = _violation(error)
    if violation is None:
        return None
    log.info("write refused by a %s constraint on %s%s", violation.kind, violation.table, list(violation.columns))
    if violation.kind == "foreign_key":
        return Conflict(GONE)
    noun = violation.table.removesuffix("s").replace("_", " ") if violation.table else "record"
    fields = [c for c in violation.columns if c not in _HIDDEN_FIELDS and not c.endswith("_id")]
    if fields:
        return Conflict(f"another {noun} already has this {' and '.join(fields)}")
    return Conflict(f"this {noun} already exists")


def _violation(error: IntegrityError) -> Violation | None:
    orig = error.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if state is not None:
        return _postgres(str(state), getattr(orig, "__cause__", None) or orig)
    name = str(getattr(orig, "sqlite_errorname", ""))
    message = str(orig)
    if name == "SQLITE_CONSTRAINT_FOREIGNKEY" or message.startswith("FOREIGN KEY constraint failed"):
        return Violation("foreign_key", "", ())
    match = _SQLITE_UNIQUE.search(message)
    if match is None:
        return None
    qualified = [part.strip() for part in match.group(1).split(",")]
    table = qualified[0].split(".", 1)[0] if "." in qualified[0] else ""
    return Violation("unique", table, tuple(part.split(".", 1)[-1] for part in qualified))


def _postgres(state: str, cause: object) -> Violation | None:
    table = str(getattr(cause, "table_name", "") or "")
    if state in _FOREIGN_KEY_STATES:
        return Violation("foreign_key", table, ())
    if state not in _UNIQUE_STATES:
        return None
    match = _POSTGRES_KEY.search(str(getattr(cause, "detail", "") or ""))
    columns = tuple(c.strip() for c in match.group(1).split(",")) if match else ()
    return Violation("unique", table, columns)
