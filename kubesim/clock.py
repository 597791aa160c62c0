"""Simulated time for one cluster.

Simulated time runs ``speed`` times faster than real time.  ``advance()`` jumps
it forward, which is how tests move a cluster through minutes or hours at once.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self, speed: float = 1.0, start: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._start_wall = start if start is not None else datetime.now(UTC)
        if self._start_wall.tzinfo is None:
            self._start_wall = self._start_wall.replace(tzinfo=UTC)
        self._start_real = time.monotonic()
        self._offset = 0.0

    def monotonic(self) -> float:
        """Simulated seconds since the clock was created."""
        return (time.monotonic() - self._start_real) * self.speed + self._offset

    def now(self) -> datetime:
        """The simulated wall-clock time, UTC and timezone-aware."""
        return self._start_wall + timedelta(seconds=self.monotonic())

    def advance(self, seconds: float) -> None:
        """Jump simulated time forward without waiting."""
        if seconds < 0:
            raise ValueError("the clock never goes back")
        self._offset += seconds

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of simulated time."""
        await asyncio.sleep(max(seconds, 0.0) / self.speed)


def format_time(moment: datetime) -> str:
    """RFC 3339 with second precision, as Kubernetes serialises metav1.Time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_micro_time(moment: datetime) -> str:
    """RFC 3339 with microseconds, as Kubernetes serialises metav1.MicroTime."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: str) -> datetime:
    """Parse a metav1.Time or MicroTime string."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
