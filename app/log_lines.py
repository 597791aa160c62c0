"""Log lines as entries: the level a line states, the time the kubelet stamped it with, and an ID
that names it again later. Pure functions, no I/O.

Levels are read, in order, from a JSON object's `level`/`severity`/`lvl` key (names or pino's
numbers), a logfmt `level=` pair, a klog header (`E0131 12:00:00.000000 …`), Redis's role and
marker (`1:M 31 Jan … # …`), and a level word among the first words (`[WARN]`, `ERROR:`,
`2025-01-31 12:00:00 UTC [42] LOG:  …`). A line that states none is `unknown`.

An entry's ID is `log_` and the URL-safe base64 of `cluster~namespace~pod~container~time~hash`:
the time as the kubelet wrote it (RFC 3339 with nanoseconds) and the first 16 hex digits of the
line's SHA-256, so the pod's log read again from that time finds the same line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

LEVELS = ("trace", "debug", "info", "warn", "error", "fatal")
UNKNOWN = "unknown"
_RANK = {name: rank for rank, name in enumerate(LEVELS)}
_NAMES = {
    "trace": "trace", "trc": "trace", "verbose": "trace", "debug": "debug", "dbg": "debug",
    "info": "info", "inf": "info", "information": "info", "notice": "info", "log": "info",
    "warn": "warn", "warning": "warn", "wrn": "warn",
    "error": "error", "err": "error", "eror": "error",
    "fatal": "fatal", "critical": "fatal", "crit": "fatal", "panic": "fatal", "emerg": "fatal", "alert": "fatal",
}  # fmt: skip
_JSON_KEYS = ("level", "severity", "lvl", "levelname", "log.level", "loglevel")
_PINO = ((60, "fatal"), (50, "error"), (40, "warn"), (30, "info"), (20, "debug"), (0, "trace"))
_LOGFMT = re.compile(r'(?:^|\s)(?:level|lvl|severity)=("?)([A-Za-z]+)\1(?=\s|$)')
_KLOG = re.compile(r"^([IWEF])\d{4} \d{2}:\d{2}:\d{2}\.\d+\s")
_KLOG_LEVELS = {"I": "info", "W": "warn", "E": "error", "F": "fatal"}
_REDIS = re.compile(r"^\d+:[XCSM] (?:\d{2} \w{3} \d{4} [\d:.]+ )?([.\-*#]) ")
_REDIS_LEVELS = {".": "debug", "-": "debug", "*": "info", "#": "warn"}
_WORD = re.compile(r"^[\[<(]?([A-Za-z]+)[\]>)]?:?$")
_FIRST_WORDS = 6
_SEPARATOR = "~"
PREFIX = "log_"


def level_of(line: str) -> str:
    """The level a line states (one of LEVELS), or `unknown`."""
    text = line.strip()
    found = _json_level(text) if text.startswith("{") else None
    for reader in (_logfmt_level, _klog_level, _redis_level, _word_level):
        if found is not None:
            break
        found = reader(text)
    return found or UNKNOWN


def at_least(level: str, minimum: str) -> bool:
    """Whether `level` is `minimum` or more severe; an unknown level never is."""
    return level in _RANK and _RANK[level] >= _RANK[minimum]


def known_level(name: str) -> str | None:
    """A severity as a caller names it (`WARNING`, `err`), as one of LEVELS; None when unknown."""
    return _NAMES.get(name.strip().lower())


def _json_level(text: str) -> str | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    for key in _JSON_KEYS:
        value = data.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            return next(name for floor, name in _PINO if value >= floor)
        if isinstance(value, str) and (name := known_level(value)):
            return name
    return None


def _logfmt_level(text: str) -> str | None:
    match = _LOGFMT.search(text)
    return known_level(match.group(2)) if match else None


def _klog_level(text: str) -> str | None:
    match = _KLOG.match(text)
    return _KLOG_LEVELS[match.group(1)] if match else None


def _redis_level(text: str) -> str | None:
    match = _REDIS.match(text)
    return _REDIS_LEVELS[match.group(1)] if match else None


def _word_level(text: str) -> str | None:
    """A level word among the first words: upper case, or in brackets, so prose is not taken for one."""
    for word in text.split()[:_FIRST_WORDS]:
        match = _WORD.match(word)
        if match is None:
            continue
        name = match.group(1)
        if (name.isupper() or word[0] in "[<(") and (level := known_level(name)):
            return level
    return None


@dataclass(frozen=True)
class Stamped:
    """One line of a log read with `timestamps=true`: the kubelet's time, as written and parsed."""

    stamp: str
    moment: datetime
    text: str


def split_stamp(raw: str) -> Stamped | None:
    """`2025-01-31T12:00:00.123456789Z message` as its parts; None for a line without a time."""
    stamp, _, text = raw.rstrip("\r\n").partition(" ")
    moment = parse_stamp(stamp)
    return None if moment is None else Stamped(stamp, moment, text)


def parse_stamp(stamp: str) -> datetime | None:
    """An RFC 3339 time with up to nanoseconds (Python keeps microseconds), in UTC."""
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})", stamp)
    if match is None:
        return None
    fraction = (match.group(2) or "")[:6].ljust(6, "0")
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    try:
        return datetime.fromisoformat(f"{match.group(1)}.{fraction}{zone}").astimezone(UTC)
    except ValueError:
        return None


def line_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class EntryKey:
    """What an entry's ID names: where the line is, when it was written, and which line it is."""

    cluster_id: str
    namespace: str
    pod: str
    container: str
    stamp: str
    digest: str

    @property
    def moment(self) -> datetime | None:
        return parse_stamp(self.stamp)


def entry_id(key: EntryKey) -> str:
    parts = (key.cluster_id, key.namespace, key.pod, key.container, key.stamp, key.digest)
    return PREFIX + base64.urlsafe_b64encode(_SEPARATOR.join(parts).encode()).decode().rstrip("=")


def parse_entry_id(identifier: str) -> EntryKey | None:
    """The key an ID encodes; None for anything `entry_id` does not make."""
    if not identifier.startswith(PREFIX):
        return None
    body = identifier[len(PREFIX) :]
    try:
        text = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    except (binascii.Error, ValueError):
        return None
    parts = text.split(_SEPARATOR)
    if len(parts) != 6 or not all(parts) or parse_stamp(parts[4]) is None:
        return None
    return EntryKey(*parts)
