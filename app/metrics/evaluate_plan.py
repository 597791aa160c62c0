"""The evaluation plan of a PromQL query: one node per supported construct, loaded once from a
``SampleSource`` over the whole range, then evaluated at each step, as Prometheus computes it.

Times are milliseconds, as in Prometheus. ``app.metrics.evaluate_compile`` builds a plan from a parsed
query; ``app.metrics.evaluate`` runs it.
"""

from __future__ import annotations

import math
import struct
from abc import ABC, abstractmethod
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from app.errors import BadUserInput
from app.metrics.promql import Selector
from app.metrics.sources import METRIC_NAME, SampleSource, series_matches

LOOKBACK_MS = 5 * 60 * 1000
STALE_NAN = 0x7FF0000000000002  # the bit pattern Prometheus writes to end a series
ARITHMETIC = frozenset({"+", "-", "*", "/", "%"})
COMPARISONS = frozenset({"==", "!=", ">", "<", ">=", "<="})

Labels = tuple[tuple[str, str], ...]  # sorted by name, no empty values, __name__ included
Vector = list[tuple[Labels, float]]


class ScalarPlan(ABC):
    def load(self, source: SampleSource, first: int, last: int) -> None:
        """A scalar reads no samples, unless it is made of vectors."""
        return None

    @abstractmethod
    def at(self, t: int) -> float: ...


class VectorPlan(ABC):
    @abstractmethod
    def load(self, source: SampleSource, first: int, last: int) -> None: ...

    @abstractmethod
    def at(self, t: int) -> Vector: ...


@dataclass
class _Loaded:
    labels: Labels
    times: list[int]
    values: list[float]


class Number(ScalarPlan):
    def __init__(self, value: float) -> None:
        self.value = value

    def at(self, t: int) -> float:
        return self.value


class NegScalar(ScalarPlan):
    def __init__(self, inner: ScalarPlan) -> None:
        self.inner = inner

    def at(self, t: int) -> float:
        return -self.inner.at(t)


class ScalarBinary(ScalarPlan):
    def __init__(self, op: str, lhs: ScalarPlan, rhs: ScalarPlan) -> None:
        self.op, self.lhs, self.rhs = op, lhs, rhs

    def at(self, t: int) -> float:
        a, b = self.lhs.at(t), self.rhs.at(t)
        return float(_compare(self.op, a, b)) if self.op in COMPARISONS else _arithmetic(self.op, a, b)


class Select(VectorPlan):
    """An instant vector selector: each series' latest sample within the lookback window."""

    def __init__(self, selector: Selector, window: int = LOOKBACK_MS, keep_stale: bool = True) -> None:
        self.selector, self.window, self.keep_stale = selector, window, keep_stale
        self.series: list[_Loaded] = []

    def load(self, source: SampleSource, first: int, last: int) -> None:
        self.series = _load(source, self.selector, first - self.window, last, self.keep_stale)

    def at(self, t: int) -> Vector:
        out = []
        for s in self.series:
            i = bisect_right(s.times, t) - 1
            if i >= 0 and s.times[i] > t - self.window and not _is_stale(s.values[i]):
                out.append((s.labels, s.values[i]))
        return out


class Rate(VectorPlan):
    """rate() or increase() over a range selector."""

    def __init__(self, selector: Selector, range_ms: int, per_second: bool) -> None:
        self.source = Select(selector, window=range_ms, keep_stale=False)
        self.range_ms, self.per_second = range_ms, per_second
        self.distinct = _Distinct()

    def load(self, source: SampleSource, first: int, last: int) -> None:
        self.source.load(source, first, last)

    def at(self, t: int) -> Vector:
        out = []
        for s in self.source.series:
            lo, hi = bisect_right(s.times, t - self.range_ms), bisect_right(s.times, t)
            if hi - lo < 2:
                continue
            value = _extrapolated_rate(s.times[lo:hi], s.values[lo:hi], t - self.range_ms, t)
            if self.per_second:
                value /= _seconds(self.range_ms)
            out.append((self.distinct.check(_drop_name(s.labels), s.labels), value))
        return out


class NegVector(VectorPlan):
    def __init__(self, inner: VectorPlan) -> None:
        self.inner = inner
        self.distinct = _Distinct()

    def load(self, source: SampleSource, first: int, last: int) -> None:
        self.inner.load(source, first, last)

    def at(self, t: int) -> Vector:
        return [(self.distinct.check(_drop_name(labels), labels), -v) for labels, v in self.inner.at(t)]


class VectorScalarBinary(VectorPlan):
    """Prometheus's VectorscalarBinop: `swap` when the scalar is on the left."""

    def __init__(self, op: str, vector: VectorPlan, scalar: ScalarPlan, swap: bool, return_bool: bool) -> None:
        self.op, self.vector, self.scalar, self.swap, self.return_bool = op, vector, scalar, swap, return_bool

    def load(self, source: SampleSource, first: int, last: int) -> None:
        self.vector.load(source, first, last)

    def at(self, t: int) -> Vector:
        scalar, out, distinct = self.scalar.at(t), [], _Distinct()
        drop = self.op in ARITHMETIC or self.return_bool
        for labels, v in self.vector.at(t):
            a, b = (scalar, v) if self.swap else (v, scalar)
            if self.op in COMPARISONS:
                value, keep = v, _compare(self.op, a, b)
            else:
                value, keep = _arithmetic(self.op, a, b), True
            if self.return_bool:
                value, keep = float(keep), True
            if keep:
                out.append((distinct.check(_drop_name(labels), labels) if drop else labels, value))
        return out


class Aggregate(VectorPlan):
    def __init__(self, op: str, labels: Sequence[str], without: bool, inner: VectorPlan) -> None:
        self.op, self.labels, self.without, self.inner = op, frozenset(labels), without, inner

    def load(self, source: SampleSource, first: int, last: int) -> None:
        self.inner.load(source, first, last)

    def at(self, t: int) -> Vector:
        groups: dict[Labels, _Group] = {}
        for labels, v in self.inner.at(t):
            key = self._group(labels)
            group = groups.get(key)
            if group is None:
                groups[key] = _Group(v, v)
            else:
                group.add(self.op, v)
        return [(key, group.result(self.op)) for key, group in groups.items()]

    def _group(self, labels: Labels) -> Labels:
        if self.without:
            return tuple((n, v) for n, v in labels if n not in self.labels and n != METRIC_NAME)
        return tuple((n, v) for n, v in labels if n in self.labels)


@dataclass
class _Group:
    """One group of Prometheus's aggregation(): floatValue, floatMean, floatKahanC, groupCount."""

    value: float
    mean: float
    count: int = 1
    compensation: float = 0.0
    incremental: bool = False

    def add(self, op: str, f: float) -> None:
        if op == "sum":
            self.value, self.compensation = _kahan_add(f, self.value, self.compensation)
        elif op == "avg":
            self._add_to_mean(f)
        elif op == "max":
            if self.value < f or math.isnan(self.value):
                self.value = f
        elif op == "min":
            if self.value > f or math.isnan(self.value):
                self.value = f
        else:
            self.count += 1

    def _add_to_mean(self, f: float) -> None:
        self.count += 1
        if not self.incremental:
            total, compensation = _kahan_add(f, self.value, self.compensation)
            if not math.isinf(total):
                self.value, self.compensation = total, compensation
                return
            self.incremental = True  # the sum would overflow: average incrementally from here
            self.mean = self.value / (self.count - 1)
            self.compensation /= self.count - 1
        if math.isinf(self.mean):
            if math.isinf(f) and (self.mean > 0) == (f > 0):
                return
            if not math.isinf(f) and not math.isnan(f):
                return
        current = self.mean + self.compensation
        self.mean, self.compensation = _kahan_add(f / self.count - current / self.count, self.mean, self.compensation)

    def result(self, op: str) -> float:
        if op == "sum":
            return self.value + self.compensation
        if op == "avg":
            return self.mean + self.compensation if self.incremental else (self.value + self.compensation) / self.count
        if op == "count":
            return float(self.count)
        return self.value


class _Distinct:
    """Dropping the metric name must not merge series: Prometheus refuses the query then."""

    def __init__(self) -> None:
        self._origins: dict[Labels, Labels] = {}

    def check(self, labels: Labels, origin: Labels) -> Labels:
        if self._origins.setdefault(labels, origin) != origin:
            raise BadUserInput.field("query", "vector cannot contain metrics with the same labelset")
        return labels


# Loading and arithmetic.


def _load(source: SampleSource, selector: Selector, first: int, last: int, keep_stale: bool) -> list[_Loaded]:
    """The selector's series over [first, last] ms, matched again and merged by labels."""
    matchers = selector.groups[0]
    name = selector.name or next((m.value for m in matchers if m.label == METRIC_NAME and m.op == "="), None)
    merged: dict[Labels, dict[int, float]] = {}
    for item in source.series(name, matchers, first / 1000, last / 1000):
        if not series_matches(item, selector.name, matchers):
            continue
        labels = {k: v for k, v in item.labels.items() if v and k != METRIC_NAME}
        if item.name:
            labels[METRIC_NAME] = item.name
        points = merged.setdefault(tuple(sorted(labels.items())), {})
        for when, value in item.points:
            t = to_millis(when)
            if first <= t <= last and (keep_stale or not _is_stale(value)):
                points.setdefault(t, value)  # as the TSDB, the first sample at a time wins
    loaded = []
    for labels_key, points in sorted(merged.items()):
        times = sorted(points)
        loaded.append(_Loaded(labels_key, times, [points[t] for t in times]))
    return loaded


def _extrapolated_rate(times: list[int], values: list[float], range_start: int, range_end: int) -> float:
    """Prometheus's extrapolatedRate for a counter, before the division by the range."""
    result = values[-1] - values[0]
    for previous, current in zip(values, values[1:], strict=False):
        if current < previous:
            result += previous
    to_start = (times[0] - range_start) / 1000
    to_end = (range_end - times[-1]) / 1000
    sampled = (times[-1] - times[0]) / 1000
    average = sampled / (len(times) - 1)
    threshold = average * 1.1
    if to_start >= threshold:
        to_start = average / 2
    to_zero = to_start
    if result > 0 and values[0] >= 0:
        to_zero = sampled * (values[0] / result)
    to_start = min(to_start, to_zero)
    if to_end >= threshold:
        to_end = average / 2
    return result * ((sampled + to_start + to_end) / sampled)


def _kahan_add(inc: float, total: float, compensation: float) -> tuple[float, float]:
    t = total + inc
    if math.isinf(t):
        compensation = 0.0
    elif abs(total) >= abs(inc):
        compensation += (total - t) + inc
    else:
        compensation += (inc - t) + total
    return t, compensation


def _arithmetic(op: str, a: float, b: float) -> float:
    """IEEE arithmetic as Go does it: division by zero gives ±Inf or NaN, never an exception."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        if b == 0:
            return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a) * math.copysign(1.0, b)
        return a / b
    try:
        return math.fmod(a, b)  # Go's math.Mod: the sign of a
    except ValueError:  # fmod(±Inf, b) and fmod(a, 0): NaN in Go
        return math.nan


def _compare(op: str, a: float, b: float) -> bool:
    return {"==": a == b, "!=": a != b, ">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b}[op]


def _drop_name(labels: Labels) -> Labels:
    return tuple((n, v) for n, v in labels if n != METRIC_NAME)


def _is_stale(value: float) -> bool:
    return math.isnan(value) and struct.unpack("<Q", struct.pack("<d", value))[0] == STALE_NAN


def to_millis(seconds: float) -> int:
    """Whole seconds, plus the fraction rounded half away from zero to milliseconds."""
    whole = math.trunc(seconds)
    fraction = (seconds - whole) * 1000
    return whole * 1000 + int(math.copysign(math.floor(abs(fraction) + 0.5), fraction))


def _seconds(millis: int) -> float:
    """Go's Duration.Seconds(): whole seconds plus the nanoseconds / 1e9."""
    return millis // 1000 + (millis % 1000) * 1_000_000 / 1e9
