"""A small standard cron parser: five fields, lists, ranges, steps, names and @macros."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
# (low, high, names offset by low)
FIELDS: tuple[tuple[int, int, list[str]], ...] = ((0, 59, []), (0, 23, []), (1, 31, []), (1, 12, MONTHS), (0, 7, DAYS))
SEARCH_LIMIT = timedelta(days=366 * 5)


class CronError(ValueError):
    pass


@dataclass(frozen=True)
class Schedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    days_any: bool
    weekdays_any: bool

    def matches(self, moment: datetime) -> bool:
        if moment.minute not in self.minutes or moment.hour not in self.hours:
            return False
        if moment.month not in self.months:
            return False
        day_ok = moment.day in self.days
        weekday_ok = (moment.isoweekday() % 7) in self.weekdays
        if self.days_any or self.weekdays_any:
            return day_ok and weekday_ok
        return day_ok or weekday_ok  # cron's rule when both fields are restricted

    def next_after(self, moment: datetime, tz: str | None = None) -> datetime:
        """The first matching minute strictly after ``moment`` (evaluated in ``tz``)."""
        zone = ZoneInfo(tz) if tz else None
        local = moment.astimezone(zone) if zone else moment
        candidate = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = candidate + SEARCH_LIMIT
        while candidate < limit:
            if candidate.month not in self.months:
                candidate = _first_of_next_month(candidate)
                continue
            if not _day_possible(self, candidate):
                candidate = (candidate + timedelta(days=1)).replace(hour=0, minute=0)
                continue
            if candidate.hour not in self.hours:
                candidate = (candidate + timedelta(hours=1)).replace(minute=0)
                continue
            if self.matches(candidate):
                return candidate.astimezone(moment.tzinfo)
            candidate += timedelta(minutes=1)
        raise CronError("schedule never fires")


def _day_possible(schedule: Schedule, moment: datetime) -> bool:
    day_ok = moment.day in schedule.days
    weekday_ok = (moment.isoweekday() % 7) in schedule.weekdays
    if schedule.days_any or schedule.weekdays_any:
        return day_ok and weekday_ok
    return day_ok or weekday_ok


def _first_of_next_month(moment: datetime) -> datetime:
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return moment.replace(year=year, month=month, day=1, hour=0, minute=0)


def _value(text: str, low: int, names: list[str]) -> int:
    lowered = text.lower()
    if lowered in names:
        return names.index(lowered) + low
    if not text.isdigit():
        raise CronError(f"invalid value {text!r}")
    return int(text)


def _field(text: str, low: int, high: int, names: list[str]) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step <= 0 or (step_text and not step_text.isdigit()):
            raise CronError(f"invalid step in {part!r}")
        if body in ("*", "?"):
            start, end = low, high
        elif "-" in body:
            first, _, last = body.partition("-")
            start, end = _value(first, low, names), _value(last, low, names)
        else:
            start = _value(body, low, names)
            end = high if step_text else start
        if start < low or end > high or start > end:
            raise CronError(f"value out of range in {part!r}")
        values.update(range(start, end + 1, step))
    return values


def parse(expression: str) -> Schedule:
    text = MACROS.get(expression.strip().lower(), expression.strip())
    if text.upper().startswith("TZ=") or text.upper().startswith("CRON_TZ="):
        raise CronError("time zones belong in spec.timeZone")
    parts = text.split()
    if len(parts) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(parts)}: {expression}")
    sets = [_field(part, low, high, names) for part, (low, high, names) in zip(parts, FIELDS, strict=True)]
    weekdays = {0 if day == 7 else day for day in sets[4]}
    return Schedule(
        minutes=frozenset(sets[0]),
        hours=frozenset(sets[1]),
        days=frozenset(sets[2]),
        months=frozenset(sets[3]),
        weekdays=frozenset(weekdays),
        days_any=parts[2] in ("*", "?"),
        weekdays_any=parts[4] in ("*", "?"),
    )
