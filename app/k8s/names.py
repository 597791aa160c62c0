"""What Kubernetes accepts as an object's name, for each kind, and as a namespace.

These are the apiserver's own rules, so every object a cluster holds passes them, and anything
that fails them can only be a mistake (or an attempt to address something else: an empty name
is the collection, ``..`` a parent path). Kinds that are not listed, custom kinds included, are
named as DNS-1123 subdomains, as Kubernetes names most kinds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.errors import BadUserInput

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_KIND = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?")
_SUBRESOURCE = re.compile(r"[a-z]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class NameRule:
    pattern: re.Pattern[str] | None  # None: any path segment (no '/', '%', not '.' or '..')
    max_length: int
    shape: str  # what a valid name looks like, in the words of the error message


SUBDOMAIN = NameRule(
    re.compile(rf"{_LABEL}(\.{_LABEL})*"),
    253,
    "a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
)
LABEL = NameRule(
    re.compile(_LABEL),
    63,
    "a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit",
)
DNS1035_LABEL = NameRule(
    re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?"),
    63,
    "a DNS-1035 label: lowercase letters, digits and '-', starting with a letter and ending with a letter or digit",
)
PATH_SEGMENT = NameRule(None, 253, "a name without '/' or '%' that is not '.' or '..'")
CRONJOB = NameRule(SUBDOMAIN.pattern, 52, SUBDOMAIN.shape)  # its Jobs append an 11-character suffix

RULES: dict[str, NameRule] = {
    "Namespace": LABEL,
    "Service": DNS1035_LABEL,
    "CronJob": CRONJOB,
    "Role": PATH_SEGMENT,
    "RoleBinding": PATH_SEGMENT,
    "ClusterRole": PATH_SEGMENT,
    "ClusterRoleBinding": PATH_SEGMENT,
}


def rule_for(kind: str) -> NameRule:
    """The rule for names of ``kind`` (a kind as Kubernetes spells it: ``Deployment``)."""
    return RULES.get(kind, SUBDOMAIN)


def problem(value: object, rule: NameRule) -> str | None:
    """Why ``value`` is not a name under ``rule``, or None when it is one."""
    if not isinstance(value, str):
        return "must be a string"
    if not value:
        return "must not be empty"
    if _CONTROL.search(value):
        return "must not contain NUL or other control characters"
    if len(value) > rule.max_length:
        return f"must be at most {rule.max_length} characters"
    if value in (".", "..") or "/" in value or "%" in value:
        return "must not contain '/' or '%', nor be '.' or '..'"
    if rule.pattern is not None and not rule.pattern.fullmatch(value):
        return f"must be {rule.shape}"
    return None


def check(field: str, value: object, rule: NameRule) -> str:
    """``value`` when it is a name under ``rule``; BAD_USER_INPUT on ``field`` otherwise."""
    found = problem(value, rule)
    if found is not None:
        raise BadUserInput.field(field, found)
    assert isinstance(value, str)
    return value


def check_namespace(value: object, field: str = "namespace") -> str:
    return check(field, value, LABEL)


def kind_problem(value: object) -> str | None:
    """Why ``value`` cannot name a kind (``Deployment``, ``deploy``, ``widgets.example.com``), or None."""
    if not isinstance(value, str) or not value.strip():
        return "must not be empty"
    text = value.strip()
    if len(text) > 253 or not _KIND.fullmatch(text):
        return "must be a kind, plural or short name: letters, digits, '-' and '.'"
    return None


def check_kind(value: object) -> str:
    found = kind_problem(value)
    if found is not None:
        raise BadUserInput.field("kind", found)
    assert isinstance(value, str)
    return value


def check_subresource(value: str) -> str:
    """Subresources are named by the code (``scale``, ``status``, ``log``, ``eviction``), never by users."""
    if not _SUBRESOURCE.fullmatch(value):
        raise ValueError(f"not a subresource: {value!r}")
    return value
