"""Globally unique, type-prefixed, time-ordered IDs (`ten_…`, `usr_…`)."""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"

PREFIXES = {
    "tenant": "ten",
    "user": "usr",
    "role": "rol",
    "session": "ses",
    "refresh_token": "rft",
    "api_token": "tok",
    "audit": "aud",
    "reset": "rst",
    "cluster_role": "crb",
    "cluster": "cls",
    "node_pool": "np",
    "operation": "op",
    "template": "tpl",
    "notification": "ntf",
    "topology_snapshot": "tps",
    "alert_rule": "arl",
    "alert": "alr",
    "silence": "sil",
    "alert_receiver": "arc",
    "alert_delivery": "adl",
    "incident": "inc",
    "incident_event": "ine",
}


def _encode(number: int, length: int) -> str:
    chars = []
    for _ in range(length):
        number, index = divmod(number, 32)
        chars.append(_ALPHABET[index])
    return "".join(reversed(chars))


def new_id(kind: str) -> str:
    """A 10-char millisecond timestamp then 16 random chars, behind the kind's prefix."""
    prefix = PREFIXES[kind]
    stamp = _encode(time.time_ns() // 1_000_000, 10)
    return f"{prefix}_{stamp}{_encode(secrets.randbits(80), 16)}"


def kind_of(identifier: str) -> str | None:
    prefix = identifier.split("_", 1)[0]
    for kind, known in PREFIXES.items():
        if known == prefix:
            return kind
    return None
