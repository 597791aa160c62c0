"""How a webhook receiver knows a notification comes from Fleetgraph, unchanged and recent.

The contract a receiver implements (``verify`` does exactly this):

1. Read the raw request body as bytes, before any JSON parsing, and the two headers
   ``X-Fleetgraph-Timestamp`` (unix seconds, decimal digits) and
   ``X-Fleetgraph-Signature`` (``sha256=`` followed by 64 lowercase hex digits).
2. Refuse the request when the timestamp is more than 300 seconds away from the receiver's clock
   (either way): a captured notification cannot be replayed later.
3. Compute HMAC-SHA256, keyed with the receiver's secret (UTF-8), over the bytes of
   ``f"{timestamp}.{body}"``: the timestamp header exactly as sent, a dot, the raw body.
4. Compare its hex digest with the header's in constant time (``hmac.compare_digest``);
   accept only on equality.

Every delivery attempt is signed afresh, so a retried notification carries a new timestamp. The
secret itself is never sent.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

TIMESTAMP_HEADER = "X-Fleetgraph-Timestamp"
SIGNATURE_HEADER = "X-Fleetgraph-Signature"
SCHEME = "sha256="
TOLERANCE_SECONDS = 300


def _bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


def signature(secret: str | bytes, timestamp: str, body: str | bytes) -> str:
    """The hex HMAC-SHA256 of ``timestamp.body`` under ``secret``."""
    message = timestamp.encode() + b"." + _bytes(body)
    return hmac.new(_bytes(secret), message, hashlib.sha256).hexdigest()


def sign(secret: str | bytes, body: str | bytes, now: float) -> dict[str, str]:
    """The headers that sign ``body`` at unix time ``now``."""
    if not secret:
        raise ValueError("a webhook is signed with a non-empty secret")
    timestamp = str(int(now))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: SCHEME + signature(secret, timestamp, body)}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever its case, from any mapping (a plain dict included)."""
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def verify(
    secret: str | bytes,
    body: str | bytes,
    headers: Mapping[str, str],
    now: float,
    tolerance: float = TOLERANCE_SECONDS,
) -> bool:
    """Whether ``headers`` sign ``body`` with ``secret`` at a time within ``tolerance`` seconds of ``now``."""
    timestamp = _header(headers, TIMESTAMP_HEADER)
    claimed = _header(headers, SIGNATURE_HEADER)
    if not secret or timestamp is None or claimed is None:
        return False
    timestamp = timestamp.strip()
    if not timestamp.isascii() or not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance:
        return False
    claimed = claimed.strip()
    if not claimed.startswith(SCHEME):
        return False
    expected = signature(secret, timestamp, body)
    return hmac.compare_digest(expected.encode(), claimed[len(SCHEME):].encode("utf-8", "replace"))
