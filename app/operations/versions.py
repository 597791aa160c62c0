"""The Kubernetes versions clusters can be created with or upgraded to, and the upgrade path between them.

The catalog holds exact patch releases: a cluster runs one of these, never "1.30" or "1.30.x".
Upgrades follow Kubernetes' skew policy: one minor version at a time, never backwards.
"""

from __future__ import annotations

import re

from app.errors import FieldErrors

SUPPORTED_VERSIONS: tuple[str, ...] = ("1.28.3", "1.28.15", "1.29.10", "1.30.6", "1.31.2", "1.32.0")

_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")
_MINOR = re.compile(r"^v?(\d+)\.(\d+)$")


def parse_version(value: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) of `1.30.6` or `v1.30.6`; None for anything else."""
    match = _VERSION.match(value.strip())
    if match is None:
        return None
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def normalize(value: str) -> str:
    """The catalog spelling of a version (`v1.30.6` → `1.30.6`); unparseable text is returned as given."""
    parsed = parse_version(value)
    return ".".join(str(part) for part in parsed) if parsed else value


def is_supported(value: str) -> bool:
    return normalize(value) in SUPPORTED_VERSIONS


def latest_patch(minor: str) -> str | None:
    """The newest supported patch release of a minor version such as `1.30`, or None if there is none."""
    match = _MINOR.match(minor.strip())
    if match is None:
        return None
    wanted = (int(match.group(1)), int(match.group(2)))
    found = [v for v in SUPPORTED_VERSIONS if (parse_version(v) or ())[:2] == wanted]
    return max(found, key=lambda v: parse_version(v) or (0, 0, 0)) if found else None


def check_version(errors: FieldErrors, field: str, value: str) -> None:
    if not is_supported(value):
        supported = ", ".join(SUPPORTED_VERSIONS)
        errors.add(field, f"{value!r} is not a supported Kubernetes version; supported: {supported}")


def check_upgrade(current: str, target: str, errors: FieldErrors, field: str = "version") -> None:
    """Adds to `errors` unless `target` is a supported version newer than `current` by at most one minor."""
    if not is_supported(target):
        check_version(errors, field, target)
        return
    now, then = parse_version(current), parse_version(target)
    if now is None or then is None:
        errors.add(field, f"the cluster's current version {current!r} is not a Kubernetes version to upgrade from")
        return
    if then <= now:
        errors.add(field, f"must be newer than the cluster's current version {normalize(current)}")
        return
    if then[0] != now[0] or then[1] > now[1] + 1:
        step = f"{now[0]}.{now[1] + 1}"
        patch = latest_patch(step)
        hint = f" (latest supported patch {patch})" if patch else ""
        errors.add(field, f"can't skip minor versions: upgrade from {normalize(current)} to {step}{hint} first")
