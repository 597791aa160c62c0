"""Silences and inhibition, with Alertmanager's semantics.

A matcher compares one label: `=`, `!=`, `=~`, `!~`. A missing label reads as the empty string, and a
regular expression must match the whole value (Alertmanager anchors it as `^(?:re)$`). A silence
mutes the alerts all of whose matchers match while `starts_at <= now < ends_at`. Alertmanager refuses
a silence whose every matcher matches the empty string, since it would mute alerts that lack the
labels it names, that is, everything; so does `validate_matchers`.

An inhibition rule mutes the target alerts while a firing source alert has the same values for the
`equal` labels. As in Alertmanager, a source that also matches the target matchers does not inhibit
an alert that also matches the source matchers, so an alert never inhibits itself or its kind.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from app.errors import FieldErrors

Labels = Mapping[str, str]
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(f"(?:{pattern})")
    except re.error:
        return None


@dataclass(frozen=True)
class Matcher:
    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    def matches_value(self, value: str) -> bool:
        if self.is_regex:
            pattern = _compiled(self.value)
            found = pattern is not None and pattern.fullmatch(value) is not None
        else:
            found = value == self.value
        return found == self.is_equal

    def matches(self, labels: Labels) -> bool:
        return self.matches_value(labels.get(self.name, ""))

    def __str__(self) -> str:
        operator = {(True, False): "=", (False, False): "!=", (True, True): "=~", (False, True): "!~"}[
            (self.is_equal, self.is_regex)]
        return f'{self.name}{operator}"{self.value}"'


def matches_all(matchers: Iterable[Matcher], labels: Labels) -> bool:
    return all(m.matches(labels) for m in matchers)


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str = ""
    comment: str = ""

    def state(self, now: datetime) -> str:
        """"pending" before it starts, "active" while it mutes, "expired" from `ends_at` on."""
        if now >= self.ends_at:
            return "expired"
        return "active" if now >= self.starts_at else "pending"

    def is_active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def mutes(self, labels: Labels, now: datetime) -> bool:
        return self.is_active(now) and matches_all(self.matchers, labels)


def silenced_by(labels: Labels, silences: Iterable[Silence], now: datetime) -> list[str]:
    """The IDs of the active silences that mute an alert with these labels (the cluster_id among them)."""
    return [silence.id for silence in silences if silence.mutes(labels, now)]


def next_silence_change(silences: Iterable[Silence], now: datetime) -> datetime | None:
    """The next moment after `now` a silence starts or ends: when muted alerts must be looked at again."""
    moments = [moment for s in silences for moment in (s.starts_at, s.ends_at) if moment > now]
    return min(moments) if moments else None


def _matcher_problems(matchers: Sequence[Matcher], errors: FieldErrors) -> None:
    if not matchers:
        errors.add("matchers", "give at least one matcher")
        return
    for index, matcher in enumerate(matchers):
        if not LABEL_NAME.fullmatch(matcher.name):
            errors.add(f"matchers[{index}].name", "must be a label name: letters, digits and _, not starting "
                                                  "with a digit")
        if matcher.is_regex and _compiled(matcher.value) is None:
            errors.add(f"matchers[{index}].value", f"is not a valid regular expression: {matcher.value!r}")
    if all(m.matches_value("") for m in matchers):
        errors.add("matchers", "at least one matcher must not match the empty string; these would match "
                               "every alert")


def validate_matchers(matchers: Sequence[Matcher]) -> None:
    """Raises BadUserInput with one detail per problem."""
    errors = FieldErrors()
    _matcher_problems(matchers, errors)
    errors.raise_if_any()


def validate_silence(matchers: Sequence[Matcher], starts_at: datetime, ends_at: datetime,
                     now: datetime | None = None) -> None:
    """A new or changed silence: its matchers, `ends_at` after `starts_at` and, given `now`, not past."""
    errors = FieldErrors()
    _matcher_problems(matchers, errors)
    if ends_at <= starts_at:
        errors.add("endsAt", "must be after startsAt")
    elif now is not None and ends_at <= now:
        errors.add("endsAt", "is in the past")
    errors.raise_if_any()


# -- inhibition -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class InhibitRule:
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]


INHIBIT_RULES: tuple[InhibitRule, ...] = (
    # A cluster that cannot be reached says nothing reliable about its objects: hold back its other alerts.
    InhibitRule(source=(Matcher("alertname", "ClusterDisconnected"),),
                target=(Matcher("alertname", "ClusterDisconnected", is_equal=False),),
                equal=("cluster_id",)),
)


def inhibited(labels: Labels, firing: Iterable[Labels], rules: Sequence[InhibitRule] = INHIBIT_RULES) -> bool:
    """Whether a firing source alert mutes the alert with these labels (both with their cluster_id)."""
    sources = list(firing)
    for rule in rules:
        if not matches_all(rule.target, labels):
            continue
        two_sided = matches_all(rule.source, labels)
        for source in sources:
            if not matches_all(rule.source, source):
                continue
            if any(source.get(name, "") != labels.get(name, "") for name in rule.equal):
                continue
            if two_sided and matches_all(rule.target, source):
                continue
            return True
    return False
