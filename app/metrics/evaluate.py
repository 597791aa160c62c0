"""The embedded metrics store's PromQL: a documented subset, with Prometheus's semantics.

Supported, and computed as Prometheus 3 computes them:

- instant vector selectors with label matchers: the latest sample in (t - 5m, t], unless it is a
  staleness marker;
- ``rate(v[d])`` and ``increase(v[d])``: the samples in (t - d, t], counter resets added back, and
  Prometheus's extrapolation to the window's edges (not past a counter's zero point, and only half
  an average interval where the series starts or ends inside the window), without simplification;
- ``sum``, ``avg``, ``max``, ``min`` and ``count`` with ``by (...)`` or ``without (...)``: the
  metric name is dropped (kept only by ``by (__name__)``); ``sum`` and ``avg`` use Prometheus's
  compensated (Kahan-Neumaier) summation, ``avg`` its overflow-safe incremental mean;
- ``+ - * / %`` and ``== != > < >= <=`` (with or without ``bool``) between a vector and a scalar,
  or between two scalars: arithmetic drops the metric name, a comparison without ``bool`` filters
  the vector and keeps each sample's value;
- parentheses, unary minus, number literals.

Everything else is refused with a BadUserInput naming the construct. Results have the shape of
Prometheus's HTTP API (``{"resultType": ..., "result": ...}``); values are strings formatted as Go's
``strconv.FormatFloat(v, 'f', -1, 64)``; times are seconds, as int when whole. Instant vectors are
sorted by labels (Prometheus leaves the order of aggregations unspecified), as range matrices are.
Times are milliseconds inside, as in Prometheus, so results do not drift by float rounding.
Series that become the same once the metric name is dropped are refused as Prometheus refuses
them ("vector cannot contain metrics with the same labelset"): over the whole query for rate(),
increase() and unary minus, at each step for arithmetic.

The evaluator applies every matcher again to what the source returns, so a store that fetches
more than asked (by metric name only, say) can neither widen a scoped query nor change a result.

Label regexes run on Python's ``re``, not RE2: those that would mean something else (POSIX
classes) or risk exponential backtracking (nested repetition) are refused, see
``app.metrics.promql.compiled_regex``.
"""

from __future__ import annotations

import math
import struct
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any, Protocol

from promql_parser import (
    AggregateExpr,
    BinaryExpr,
    Call,
    Expr,
    MatrixSelector,
    NumberLiteral,
    ParenExpr,
    StringLiteral,
    SubqueryExpr,
    UnaryExpr,
    VectorSelector,
)

from app.errors import BadUserInput
from app.metrics.promql import LabelMatch, Selector, compiled_regex, parse, selectors

LOOKBACK_MS = 5 * 60 * 1000
MAX_RESOLUTION = 11_000  # Prometheus's limit on (end - start) / step
STALE_NAN = 0x7FF0000000000002  # the bit pattern Prometheus writes to end a series
METRIC_NAME = "__name__"
AGGREGATIONS = frozenset({"sum", "avg", "max", "min", "count"})
ARITHMETIC = frozenset({"+", "-", "*", "/", "%"})
COMPARISONS = frozenset({"==", "!=", ">", "<", ">=", "<="})
_SUPPORTED = ("it answers vector selectors, rate() and increase(), sum, avg, max, min and count "
              "(by or without labels), and + - * / % or comparisons where one side is a number")

Labels = tuple[tuple[str, str], ...]  # sorted by name, no empty values, __name__ included
Vector = list[tuple[Labels, float]]
Result = dict[str, Any]


@dataclass(frozen=True)
class Series:
    name: str  # metric name
    labels: Mapping[str, str]  # without __name__
    points: Sequence[tuple[float, float]]  # (unix seconds, value), ascending time


class SampleSource(Protocol):
    def series(self, name: str | None, matchers: Sequence[LabelMatch], start: float, end: float) -> Iterable[Series]:
        """Series matching, with their points in [start, end].

        `name`, when given, is the metric name the matchers also require. A source may return
        more series or points than asked (the evaluator applies every matcher and the time window
        again), and may split a series over several `Series` with the same labels; never fewer.
        """
        ...


class MemorySource:
    """Series held in memory, matched as Prometheus matches them."""

    def __init__(self, series: Iterable[Series]) -> None:
        self._series = list(series)

    def series(self, name: str | None, matchers: Sequence[LabelMatch], start: float, end: float) -> Iterator[Series]:
        for item in self._series:
            if series_matches(item, name, matchers):
                yield Series(item.name, item.labels, [p for p in item.points if start <= p[0] <= end])


def series_matches(series: Series, name: str | None, matchers: Sequence[LabelMatch]) -> bool:
    if name is not None and series.name != name:
        return False
    return all(m.matches(series.name if m.label == METRIC_NAME else series.labels.get(m.label, "")) for m in matchers)


def evaluate_instant(expr_or_query: Expr | str, source: SampleSource, at: float) -> Result:
    """The query at `at` (unix seconds): a vector or a scalar."""
    t = _millis(at, "time")
    plan = _plan(expr_or_query)
    plan.load(source, t, t)
    if isinstance(plan, _Scalar):
        return {"resultType": "scalar", "result": [_time(t), format_value(plan.at(t))]}
    vector = sorted(plan.at(t), key=_by_labels)
    rows = [{"metric": dict(labels), "value": [_time(t), format_value(v)]} for labels, v in vector]
    return {"resultType": "vector", "result": rows}


def evaluate_range(expr_or_query: Expr | str, source: SampleSource, start: float, end: float, step: float) -> Result:
    """The query at start, start + step, ... up to end (unix seconds): always a matrix."""
    first, last, interval = _range(start, end, step)
    plan = _plan(expr_or_query)
    plan.load(source, first, last)
    steps = range(first, last + 1, interval)
    if isinstance(plan, _Scalar):
        values = [[_time(t), format_value(plan.at(t))] for t in steps]
        return {"resultType": "matrix", "result": [{"metric": {}, "values": values}]}
    rows: dict[Labels, list[list[Any]]] = {}
    for t in steps:
        for labels, v in plan.at(t):
            rows.setdefault(labels, []).append([_time(t), format_value(v)])
    return {"resultType": "matrix", "result": [{"metric": dict(k), "values": v} for k, v in sorted(rows.items())]}


def format_value(value: float) -> str:
    """Go's strconv.FormatFloat(value, 'f', -1, 64), as Prometheus writes sample values."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return format(Decimal(repr(value)).normalize(), "f")


# Plans: the query compiled once, then evaluated at each step.


class _Scalar:
    def load(self, source: SampleSource, first: int, last: int) -> None:
        pass

    def at(self, t: int) -> float:
        raise NotImplementedError


class _Vector:
    def load(self, source: SampleSource, first: int, last: int) -> None:
        raise NotImplementedError

    def at(self, t: int) -> Vector:
        raise NotImplementedError


@dataclass
class _Loaded:
    labels: Labels
    times: list[int]
    values: list[float]


class _Number(_Scalar):
    def __init__(self, value: float) -> None:
        self.value = value

    def at(self, t: int) -> float:
        return self.value


class _NegScalar(_Scalar):
    def __init__(self, inner: _Scalar) -> None:
        self.inner = inner

    def at(self, t: int) -> float:
        return -self.inner.at(t)


class _ScalarBinary(_Scalar):
    def __init__(self, op: str, lhs: _Scalar, rhs: _Scalar) -> None:
        self.op, self.lhs, self.rhs = op, lhs, rhs

    def at(self, t: int) -> float:
        a, b = self.lhs.at(t), self.rhs.at(t)
        return float(_compare(self.op, a, b)) if self.op in COMPARISONS else _arithmetic(self.op, a, b)


class _Select(_Vector):
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


class _Rate(_Vector):
    """rate() or increase() over a range selector."""

    def __init__(self, selector: Selector, range_ms: int, per_second: bool) -> None:
        self.source = _Select(selector, window=range_ms, keep_stale=False)
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


class _NegVector(_Vector):
    def __init__(self, inner: _Vector) -> None:
        self.inner = inner
        self.distinct = _Distinct()

    def load(self, source: SampleSource, first: int, last: int) -> None:
        self.inner.load(source, first, last)

    def at(self, t: int) -> Vector:
        return [(self.distinct.check(_drop_name(labels), labels), -v) for labels, v in self.inner.at(t)]


class _VectorScalarBinary(_Vector):
    """Prometheus's VectorscalarBinop: `swap` when the scalar is on the left."""

    def __init__(self, op: str, vector: _Vector, scalar: _Scalar, swap: bool, return_bool: bool) -> None:
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


class _Aggregate(_Vector):
    def __init__(self, op: str, labels: Sequence[str], without: bool, inner: _Vector) -> None:
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


# Compiling: the supported subset, and a refusal naming anything else.


def _plan(expr_or_query: Expr | str) -> _Scalar | _Vector:
    expr = parse(expr_or_query) if isinstance(expr_or_query, str) else expr_or_query
    return _compile(expr)


def _compile(e: Expr) -> _Scalar | _Vector:
    if isinstance(e, ParenExpr):
        return _compile(e.expr)
    if isinstance(e, NumberLiteral):
        return _Number(e.val)
    if isinstance(e, UnaryExpr):
        inner = _compile(e.expr)
        return _NegScalar(inner) if isinstance(inner, _Scalar) else _NegVector(inner)
    if isinstance(e, VectorSelector):
        return _Select(_selector(e))
    if isinstance(e, Call):
        return _compile_call(e)
    if isinstance(e, AggregateExpr):
        return _compile_aggregate(e)
    if isinstance(e, BinaryExpr):
        return _compile_binary(e)
    if isinstance(e, MatrixSelector):
        raise _unsupported("range vector selectors outside rate() and increase()")
    if isinstance(e, SubqueryExpr):
        raise _unsupported("subqueries")
    if isinstance(e, StringLiteral):
        raise _unsupported("string literals")
    raise _unsupported(type(e).__name__)


def _compile_call(e: Call) -> _Vector:
    name = e.func.name
    if name not in ("rate", "increase"):
        raise _unsupported(f"the function {name}()")
    arg = e.args[0]
    while isinstance(arg, ParenExpr):
        arg = arg.expr
    if not isinstance(arg, MatrixSelector):
        raise _unsupported(f"{name}() of anything but a range vector selector")
    range_ms = arg.range // timedelta(milliseconds=1)
    return _Rate(_selector(arg.vector_selector), range_ms, per_second=name == "rate")


def _compile_aggregate(e: AggregateExpr) -> _Vector:
    op = str(e.op)
    if op not in AGGREGATIONS:
        raise _unsupported(f"the aggregation {op}()")
    inner = _compile(e.expr)
    assert isinstance(inner, _Vector)  # the parser allows only instant vectors here
    if e.modifier is None:
        return _Aggregate(op, (), False, inner)
    without = str(e.modifier.type) == "AggModifierType.Without"
    return _Aggregate(op, list(e.modifier.labels), without, inner)


def _compile_binary(e: BinaryExpr) -> _Scalar | _Vector:
    op = str(e.op)
    if op not in ARITHMETIC and op not in COMPARISONS:
        raise _unsupported(f"the `{op}` operator")
    lhs, rhs = _compile(e.lhs), _compile(e.rhs)
    return_bool = e.modifier is not None and e.modifier.return_bool
    if isinstance(lhs, _Scalar) and isinstance(rhs, _Scalar):
        return _ScalarBinary(op, lhs, rhs)
    if isinstance(lhs, _Vector) and isinstance(rhs, _Scalar):
        return _VectorScalarBinary(op, lhs, rhs, swap=False, return_bool=return_bool)
    if isinstance(lhs, _Scalar) and isinstance(rhs, _Vector):
        return _VectorScalarBinary(op, rhs, lhs, swap=True, return_bool=return_bool)
    raise _unsupported(f"binary operations between two vectors (`{op}`)")


def _selector(vs: VectorSelector) -> Selector:
    if vs.offset is not None:
        raise _unsupported("the offset modifier")
    if vs.at is not None:
        raise _unsupported("the @ modifier")
    selector = selectors(vs)[0]
    if len(selector.groups) != 1:
        raise _unsupported("`or` between label matchers")
    for matcher in selector.groups[0]:
        if matcher.op in ("=~", "!~"):
            compiled_regex(matcher.value)  # refuse what `re` cannot match as RE2 would, before any work
    return selector


def _unsupported(construct: str) -> BadUserInput:
    return BadUserInput.field("query", f"the embedded metrics store does not support {construct}; {_SUPPORTED}")


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
            t = _to_millis(when)
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


# Times: milliseconds, converted as Prometheus's HTTP API converts them.


def _range(start: float, end: float, step: float) -> tuple[int, int, int]:
    first, last = _millis(start, "start"), _millis(end, "end")
    if not math.isfinite(step) or step <= 0:
        raise BadUserInput.field("step", "must be a positive number of seconds")
    interval = int(step * 1e9) // 1_000_000  # Go: float seconds → Duration (ns) → whole ms
    if interval < 1:
        raise BadUserInput.field("step", "must be at least 0.001 seconds")
    if last < first:
        raise BadUserInput.field("end", "must not be before start")
    if (last - first) // interval > MAX_RESOLUTION:
        raise BadUserInput.field("step", f"gives more than {MAX_RESOLUTION:,} steps from start to end; "
                                         "use a larger step or a shorter range")
    return first, last, interval


def _millis(seconds: float, field: str) -> int:
    if not math.isfinite(seconds):
        raise BadUserInput.field(field, "must be a finite unix time in seconds")
    return _to_millis(seconds)


def _to_millis(seconds: float) -> int:
    """Whole seconds, plus the fraction rounded half away from zero to milliseconds."""
    whole = math.trunc(seconds)
    fraction = (seconds - whole) * 1000
    return whole * 1000 + int(math.copysign(math.floor(abs(fraction) + 0.5), fraction))


def _seconds(millis: int) -> float:
    """Go's Duration.Seconds(): whole seconds plus the nanoseconds / 1e9."""
    return millis // 1000 + (millis % 1000) * 1_000_000 / 1e9


def _by_labels(sample: tuple[Labels, float]) -> Labels:
    return sample[0]


def _time(millis: int) -> int | float:
    return millis // 1000 if millis % 1000 == 0 else millis / 1000
