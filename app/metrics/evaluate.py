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

A query is compiled into a plan (``app.metrics.evaluate_compile``), whose nodes compute it
(``app.metrics.evaluate_plan``) from a ``SampleSource`` (``app.metrics.sources``).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from promql_parser import Expr

from app.errors import BadUserInput
from app.metrics.evaluate_compile import AGGREGATIONS, compile_plan
from app.metrics.evaluate_plan import (
    ARITHMETIC,
    COMPARISONS,
    LOOKBACK_MS,
    STALE_NAN,
    Labels,
    ScalarPlan,
    Vector,
    to_millis,
)
from app.metrics.promql import LabelMatch
from app.metrics.sources import METRIC_NAME, MemorySource, SampleSource, Series, series_matches

MAX_RESOLUTION = 11_000  # Prometheus's limit on (end - start) / step

Result = dict[str, Any]

__all__ = [
    "AGGREGATIONS", "ARITHMETIC", "COMPARISONS", "LOOKBACK_MS", "MAX_RESOLUTION", "METRIC_NAME", "STALE_NAN",
    "LabelMatch", "Labels", "MemorySource", "Result", "SampleSource", "Series", "Vector", "evaluate_instant",
    "evaluate_range", "format_value", "series_matches",
]


def evaluate_instant(expr_or_query: Expr | str, source: SampleSource, at: float) -> Result:
    """The query at `at` (unix seconds): a vector or a scalar."""
    t = _millis(at, "time")
    plan = compile_plan(expr_or_query)
    plan.load(source, t, t)
    if isinstance(plan, ScalarPlan):
        return {"resultType": "scalar", "result": [_time(t), format_value(plan.at(t))]}
    vector = sorted(plan.at(t), key=_by_labels)
    rows = [{"metric": dict(labels), "value": [_time(t), format_value(v)]} for labels, v in vector]
    return {"resultType": "vector", "result": rows}


def evaluate_range(expr_or_query: Expr | str, source: SampleSource, start: float, end: float, step: float) -> Result:
    """The query at start, start + step, ... up to end (unix seconds): always a matrix."""
    first, last, interval = _range(start, end, step)
    plan = compile_plan(expr_or_query)
    plan.load(source, first, last)
    steps = range(first, last + 1, interval)
    if isinstance(plan, ScalarPlan):
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
    return to_millis(seconds)


def _by_labels(sample: tuple[Labels, float]) -> Labels:
    return sample[0]


def _time(millis: int) -> int | float:
    return millis // 1000 if millis % 1000 == 0 else millis / 1000
