"""Kubernetes resource.Quantity parsing and canonical formatting."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import lru_cache

BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
           "k": Decimal(10**3), "M": Decimal(10**6), "G": Decimal(10**9), "T": Decimal(10**12),
           "P": Decimal(10**15), "E": Decimal(10**18)}


def parse_quantity(value: str | int | float | None) -> Decimal:
    """A quantity as a Decimal in base units (cores, bytes, counts)."""
    if value is None:
        return Decimal(0)
    if isinstance(value, int | float):
        return Decimal(str(value))
    return _parse_text(value)


@lru_cache(maxsize=4096)
def _parse_text(value: str) -> Decimal:
    text = value.strip()
    for suffix, factor in BINARY.items():
        if text.endswith(suffix):
            return _number(text[: -len(suffix)]) * factor
    if text[-1:] in DECIMAL and text[-1:] != "":
        return _number(text[:-1]) * DECIMAL[text[-1]]
    return _number(text)


@lru_cache(maxsize=4096)
def milli(value: str | None) -> int:
    """A CPU quantity in millicores, rounded up as the scheduler does."""
    return int((parse_quantity(value) * 1000).to_integral_value(rounding="ROUND_CEILING"))


@lru_cache(maxsize=4096)
def whole(value: str | None) -> int:
    """A byte or count quantity as an integer, rounded up."""
    return int(parse_quantity(value).to_integral_value(rounding="ROUND_CEILING"))


def _number(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"quantities must match the regular expression: {text!r}") from exc


def format_cpu(cores: Decimal) -> str:
    """CPU as the apiserver prints it: whole cores, or millicores."""
    milli = int((cores * 1000).to_integral_value(rounding="ROUND_CEILING"))
    if milli % 1000 == 0:
        return str(milli // 1000)
    return f"{milli}m"


def format_bytes(amount: Decimal) -> str:
    """Bytes with the largest binary suffix that divides them exactly."""
    whole = int(amount.to_integral_value(rounding="ROUND_CEILING"))
    if whole == 0:
        return "0"
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        if whole % BINARY[suffix] == 0:
            return f"{whole // BINARY[suffix]}{suffix}"
    return str(whole)


def format_count(amount: Decimal) -> str:
    return str(int(amount))


def format_for(resource: str, amount: Decimal) -> str:
    """Format a ResourceQuota / capacity value according to what the resource measures."""
    if resource in ("cpu", "requests.cpu", "limits.cpu"):
        return format_cpu(amount)
    name = resource.rsplit(".", 1)[-1] if resource.startswith(("requests.", "limits.")) else resource
    if name in ("memory", "storage", "ephemeral-storage") or resource.endswith(".storage"):
        return format_bytes(amount)
    return format_count(amount)
