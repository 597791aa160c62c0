"""The embedded store's PromQL subset against results computed by hand from Prometheus's rules, in
the shape of Prometheus's HTTP API; and each construct outside the subset refused by name."""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator, Sequence

import pytest

from app.errors import BadUserInput
from app.metrics.evaluate import (
    LabelMatch,
    MemorySource,
    Series,
    evaluate_instant,
    evaluate_range,
    format_value,
)
from app.metrics.promql import parse

STALE = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]


def values(result: dict) -> list[str]:
    return [row["value"][1] for row in result["result"]]


def metrics(result: dict) -> list[dict[str, str]]:
    return [row["metric"] for row in result["result"]]


@pytest.fixture
def counters() -> MemorySource:
    return MemorySource([
        # scraped every 15 s, reset between 30 s and 45 s
        Series("req_total", {"pod": "p1"}, [(0, 0), (15, 10), (30, 20), (45, 5), (60, 15)]),
        # scraped every 30 s
        Series("req_total", {"pod": "p2"}, [(0, 100), (30, 130), (60, 160)]),
        # starts inside the window
        Series("req_total", {"pod": "p3"}, [(40, 5), (50, 10), (60, 15)]),
        # starts inside the window, close to its zero point
        Series("req_total", {"pod": "p4"}, [(30, 2), (45, 12), (60, 22)]),
    ])


def test_increase_adds_back_resets_and_extrapolates_to_the_window(counters: MemorySource) -> None:
    result = evaluate_instant("increase(req_total[1m])", counters, 60)
    got = {row["metric"]["pod"]: float(row["value"][1]) for row in result["result"]}
    # p1: window (0, 60] holds 15..60 (the sample at 0 is out: left-open). 15 - 10 = 5, plus the 20
    # before the reset: 25 over 45 s sampled. 15 s to the start < 1.1 × the 15 s average: extrapolate
    # all the way (the zero point is 18 s away, further), 0 s to the end: 25 × 60 / 45.
    assert got["p1"] == pytest.approx(25 * 60 / 45)
    # p2: only 30 and 60 are inside: 30 over 30 s, 30 s to the start < 33: 30 × 60 / 30.
    assert got["p2"] == 60
    # p3: 10 over 20 s; 40 s to the start ≥ 11: only half the 10 s average, 5 s: 10 × 25 / 20.
    assert got["p3"] == 12.5
    # p4: 20 over 30 s; 30 s to the start ≥ 16.5 → 7.5 s, but the counter reaches 0 after
    # 30 × 2 / 20 = 3 s: 20 × 33 / 30.
    assert got["p4"] == pytest.approx(22)
    assert metrics(result) == [{"pod": "p1"}, {"pod": "p2"}, {"pod": "p3"}, {"pod": "p4"}]  # name dropped


def test_rate_is_the_increase_per_second_of_the_range(counters: MemorySource) -> None:
    result = evaluate_instant('rate(req_total{pod=~"p[12]"}[1m])', counters, 60)
    assert [float(v) for v in values(result)] == [pytest.approx(25 / 45), 1.0]
    assert values(result)[1] == "1"


def test_rate_needs_two_samples_in_the_window(counters: MemorySource) -> None:
    # at 100 s, the 40 s window (60, 100] holds nothing; at 75 s, (35, 75] holds 45 and 60 for p1
    assert evaluate_instant("rate(req_total[40s])", counters, 100)["result"] == []
    result = evaluate_instant('rate(req_total{pod="p2"}[40s])', counters, 75)
    assert result["result"] == []  # only the sample at 60 is inside


def test_rate_over_a_range_query_steps_through_time(counters: MemorySource) -> None:
    result = evaluate_range('increase(req_total{pod="p2"}[1m])', counters, 30, 90, 30)
    # 30: (-30, 30] holds 0 and 30: 30 over 30 s, 30 s to the start < 33 (and the zero point, at
    # 100 s before, is further): 30 × 60 / 30. 60: as above. 90: (30, 90] holds only the sample at 60.
    assert result == {"resultType": "matrix", "result": [{"metric": {"pod": "p2"}, "values": [[30, "60"], [60, "60"]]}]}


@pytest.fixture
def gauges() -> MemorySource:
    return MemorySource([
        Series("mem", {"ns": "a", "pod": "p1", "node": "n1"}, [(0, 1.0), (60, 2.0)]),
        Series("mem", {"ns": "a", "pod": "p2", "node": "n2"}, [(0, 3.0), (60, 4.0)]),
        Series("mem", {"ns": "b", "pod": "p3", "node": "n1"}, [(0, 10.0), (60, 20.0)]),
        Series("cpu", {"ns": "a", "pod": "p1"}, [(0, 0.5)]),
    ])


def test_sum_by_keeps_only_the_listed_labels(gauges: MemorySource) -> None:
    result = evaluate_instant("sum by (ns) (mem)", gauges, 60)
    assert result == {"resultType": "vector", "result": [
        {"metric": {"ns": "a"}, "value": [60, "6"]},
        {"metric": {"ns": "b"}, "value": [60, "20"]},
    ]}
    assert metrics(evaluate_instant("sum by (__name__) (mem)", gauges, 60)) == [{"__name__": "mem"}]
    assert evaluate_instant("sum(mem)", gauges, 60)["result"] == [{"metric": {}, "value": [60, "26"]}]


def test_avg_without_drops_the_listed_labels_and_the_name(gauges: MemorySource) -> None:
    result = evaluate_instant("avg without (pod, ns) (mem)", gauges, 60)
    assert result["result"] == [
        {"metric": {"node": "n1"}, "value": [60, "11"]},
        {"metric": {"node": "n2"}, "value": [60, "4"]},
    ]


def test_max_min_count(gauges: MemorySource) -> None:
    assert values(evaluate_instant("max by (node) (mem)", gauges, 60)) == ["20", "4"]
    assert values(evaluate_instant("min(mem)", gauges, 60)) == ["2"]
    assert values(evaluate_instant("count by (ns) (mem)", gauges, 60)) == ["2", "1"]


def test_aggregations_follow_prometheus_floats() -> None:
    big = MemorySource([Series("x", {"i": str(i)}, [(0, v)]) for i, v in enumerate([1e100, 1.0, -1e100])])
    assert values(evaluate_instant("sum(x)", big, 0)) == ["1"]  # compensated: plain addition gives 0
    huge = MemorySource([Series("x", {"i": str(i)}, [(0, 1e308)]) for i in range(2)])
    assert float(values(evaluate_instant("avg(x)", huge, 0))[0]) == 1e308  # the sum would overflow
    assert values(evaluate_instant("sum(x)", huge, 0)) == ["+Inf"]
    nan_first = MemorySource([Series("x", {"i": "0"}, [(0, math.nan)]), Series("x", {"i": "1"}, [(0, 1.0)])])
    assert values(evaluate_instant("max(x)", nan_first, 0)) == ["1"]
    assert values(evaluate_instant("min(x)", nan_first, 0)) == ["1"]
    assert values(evaluate_instant("sum(x)", nan_first, 0)) == ["NaN"]


def test_scalar_arithmetic() -> None:
    empty = MemorySource([])
    cases = {"1 + 2 * 3": "7", "(1 + 2) * 3": "9", "-(2)": "-2", "7 % 3": "1", "-7 % 3": "-1", "1 / 0": "+Inf",
             "-1 / 0": "-Inf", "0 / 0": "NaN", "1 % 0": "NaN", "2 > bool 1": "1", "2 == bool 1": "0",
             "0.1 + 0.2": "0.30000000000000004", "1 - 1.5": "-0.5", "1e21": "1000000000000000000000"}
    for query, expected in cases.items():
        assert evaluate_instant(query, empty, 10) == {"resultType": "scalar", "result": [10, expected]}, query


def test_a_comparison_filters_the_vector_and_keeps_names_and_values(gauges: MemorySource) -> None:
    assert evaluate_instant("mem > 3", gauges, 60)["result"] == [  # sorted by labels: node, then ns
        {"metric": {"__name__": "mem", "node": "n1", "ns": "b", "pod": "p3"}, "value": [60, "20"]},
        {"metric": {"__name__": "mem", "node": "n2", "ns": "a", "pod": "p2"}, "value": [60, "4"]},
    ]
    assert values(evaluate_instant("3 < mem", gauges, 60)) == ["20", "4"]  # the vector's value, not 3
    assert values(evaluate_instant("mem <= 2", gauges, 60)) == ["2"]
    with_bool = evaluate_instant("mem > bool 3", gauges, 60)
    assert values(with_bool) == ["0", "1", "1"]
    assert all("__name__" not in m for m in metrics(with_bool))


def test_arithmetic_with_a_scalar_drops_the_name(gauges: MemorySource) -> None:
    result = evaluate_instant('mem{pod="p1"} * 2', gauges, 60)
    assert result["result"] == [{"metric": {"node": "n1", "ns": "a", "pod": "p1"}, "value": [60, "4"]}]
    assert values(evaluate_instant('10 - mem{pod="p1"}', gauges, 60)) == ["8"]
    assert values(evaluate_instant('mem{pod="p1"} / 0', gauges, 60)) == ["+Inf"]
    negated = evaluate_instant('-mem{pod="p1"}', gauges, 60)
    assert negated["result"] == [{"metric": {"node": "n1", "ns": "a", "pod": "p1"}, "value": [60, "-2"]}]


def test_lookback_takes_the_latest_sample_of_the_last_five_minutes() -> None:
    source = MemorySource([Series("up", {"job": "a"}, [(0, 1.0), (100, 2.0)]),
                           Series("up", {"job": "b"}, [(0, 1.0), (30, STALE)])])
    assert values(evaluate_instant('up{job="a"}', source, 99.999)) == ["1"]
    assert values(evaluate_instant('up{job="a"}', source, 100)) == ["2"]
    assert values(evaluate_instant('up{job="a"}', source, 399.999)) == ["2"]
    assert values(evaluate_instant('up{job="a"}', source, 400)) == []  # (100, 400] is left-open
    assert values(evaluate_instant('up{job="b"}', source, 29)) == ["1"]
    assert values(evaluate_instant('up{job="b"}', source, 31)) == []  # a staleness marker ends it


def test_range_query_shape_and_times(gauges: MemorySource) -> None:
    result = evaluate_range('mem{pod="p1"}', gauges, 0, 450, 150)
    assert result == {"resultType": "matrix", "result": [{
        "metric": {"__name__": "mem", "node": "n1", "ns": "a", "pod": "p1"},
        "values": [[0, "1"], [150, "2"], [300, "2"]],  # 450 is more than 5 minutes after 60
    }]}
    scalar = evaluate_range("2 * 3", gauges, 1.5, 2.5, 0.5)
    assert scalar == {"resultType": "matrix", "result": [{"metric": {}, "values": [[1.5, "6"], [2, "6"], [2.5, "6"]]}]}
    assert evaluate_range("mem", gauges, 1000, 2000, 100) == {"resultType": "matrix", "result": []}


def test_values_are_formatted_as_prometheus_formats_them() -> None:
    cases = [(1.0, "1"), (0.5, "0.5"), (-0.0, "-0"), (1e21, "1000000000000000000000"), (1.5e-7, "0.00000015"),
             (123456789.125, "123456789.125"), (math.nan, "NaN"), (math.inf, "+Inf"), (-math.inf, "-Inf"),
             (1 / 3, "0.3333333333333333"), (5e-324, "0." + "0" * 323 + "5")]
    for value, text in cases:
        assert format_value(value) == text


def test_matchers_are_anchored_and_a_missing_label_is_empty() -> None:
    source = MemorySource([Series("up", {"pod": "p1"}, [(0, 1.0)]), Series("up", {"pod": "p10"}, [(0, 2.0)]),
                           Series("up", {}, [(0, 3.0)])])
    assert values(evaluate_instant('up{pod=~"p1"}', source, 0)) == ["1"]
    assert values(evaluate_instant('up{pod!~"p1"}', source, 0)) == ["3", "2"]
    assert values(evaluate_instant('up{pod=""}', source, 0)) == ["3"]
    assert values(evaluate_instant('up{pod!=""}', source, 0)) == ["1", "2"]
    assert values(evaluate_instant('{__name__=~"u.", pod="p1"}', source, 0)) == ["1"]


class Everything:
    """A source that ignores what is asked and returns all it has, split in pieces."""

    def __init__(self, series: list[Series]) -> None:
        self.all = series

    def series(self, name: str | None, matchers: Sequence[LabelMatch], start: float, end: float) -> Iterator[Series]:
        for s in self.all:
            for point in s.points:
                yield Series(s.name, s.labels, [point])


def test_the_evaluator_matches_again_whatever_the_source_returns() -> None:
    source = Everything([Series("up", {"cluster_id": "cls_a"}, [(0, 1.0), (30, 2.0)]),
                         Series("up", {"cluster_id": "cls_b"}, [(0, 100.0)]),
                         Series("down", {"cluster_id": "cls_a"}, [(0, 7.0)])])
    result = evaluate_instant('up{cluster_id="cls_a"}', source, 60)
    assert result["result"] == [{"metric": {"__name__": "up", "cluster_id": "cls_a"}, "value": [60, "2"]}]


def test_names_must_not_merge_series() -> None:
    source = MemorySource([Series("a_total", {"pod": "p"}, [(0, 1.0), (30, 2.0)]),
                           Series("b_total", {"pod": "p"}, [(0, 1.0), (30, 2.0)])])
    for query in ('rate({__name__=~".+_total"}[1m])', '{__name__=~".+_total"} * 2', '-{__name__=~".+_total"}'):
        with pytest.raises(BadUserInput) as caught:
            evaluate_instant(query, source, 30)
        assert "same labelset" in caught.value.message
    assert len(evaluate_instant('{__name__=~".+_total"} > 1', source, 30)["result"]) == 2  # names kept


def test_a_parsed_expression_is_accepted_too(gauges: MemorySource) -> None:
    assert evaluate_instant(parse("sum(mem)"), gauges, 60) == evaluate_instant("sum(mem)", gauges, 60)


@pytest.mark.parametrize(("query", "construct"), [
    ("abs(mem)", "the function abs()"),
    ("histogram_quantile(0.9, mem)", "the function histogram_quantile()"),
    ('label_replace(mem, "a", "b", "c", "d")', "the function label_replace()"),
    ("absent(mem)", "the function absent()"),
    ("topk(3, mem)", "the aggregation topk()"),
    ("quantile(0.5, mem)", "the aggregation quantile()"),
    ("stddev(mem)", "the aggregation stddev()"),
    ("mem or cpu", "the `or` operator"),
    ("mem and cpu", "the `and` operator"),
    ("mem unless cpu", "the `unless` operator"),
    ("mem + cpu", "binary operations between two vectors (`+`)"),
    ("mem > cpu", "binary operations between two vectors (`>`)"),
    ("mem ^ 2", "the `^` operator"),
    ("mem atan2 1", "the `atan2` operator"),
    ("rate(mem[5m])[1h:1m]", "subqueries"),
    ("mem offset 5m", "the offset modifier"),
    ("rate(mem[5m] offset 1m)", "the offset modifier"),
    ("mem @ 100", "the @ modifier"),
    ('"text"', "string literals"),
    ("mem[5m]", "range vector selectors outside rate() and increase()"),
    ('mem{a="1" or b="2"}', "`or` between label matchers"),
    ('mem{pod=~"(a+)+"}', "repeats a repetition"),
    ('mem{pod=~"(ab|cd)+x"}', "repeats a repetition or an alternation"),
    ('mem{pod=~"[[:alpha:]]"}', "POSIX class"),
    ('mem{pod=~"\\\\pL"}', "cannot read the regular expression"),
])
def test_unsupported_constructs_are_refused_by_name(gauges: MemorySource, query: str, construct: str) -> None:
    with pytest.raises(BadUserInput) as caught:
        evaluate_range(query, gauges, 0, 60, 15)
    detail = caught.value.details[0]
    assert detail["field"] == "query"
    assert construct in detail["message"]


@pytest.mark.parametrize(("start", "end", "step", "field"), [
    (0, 60, 0, "step"),
    (0, 60, -1, "step"),
    (0, 60, 0.0001, "step"),
    (0, 60, math.nan, "step"),
    (60, 0, 1, "end"),
    (0, 11_001, 1, "step"),
    (math.inf, 60, 1, "start"),
])
def test_range_limits(start: float, end: float, step: float, field: str) -> None:
    with pytest.raises(BadUserInput) as caught:
        evaluate_range("1", MemorySource([]), start, end, step)
    assert caught.value.details[0]["field"] == field


def test_the_largest_resolution_is_allowed() -> None:
    result = evaluate_range("1", MemorySource([]), 0, 11_000, 1)
    assert len(result["result"][0]["values"]) == 11_001
