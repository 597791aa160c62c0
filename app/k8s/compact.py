"""Smaller cached objects: equal strings are stored once.

Thousands of objects of one kind repeat the same keys, label values, images, node names and
condition types. Cached objects are read-only (a change replaces the stored dict), so their
strings can be interned and shared between objects; this roughly halves a cached pod.
"""

from __future__ import annotations

import sys
from typing import Any

_MAX_INTERNED = 128  # longer strings are rarely repeated (messages, certificates, annotations)


def compact(value: Any) -> Any:
    if isinstance(value, dict):
        return {sys.intern(k): compact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [compact(v) for v in value]
    if isinstance(value, str) and len(value) <= _MAX_INTERNED:
        return sys.intern(value)
    return value
