"""Scoping PromQL to the caller's clusters: every selector of any query, generated from a grammar
or written as an attack, ends up with exactly our cluster_id matcher; the printed query parses back
to the same tree; and evaluating a scoped query over two clusters' series gives what one cluster's
series alone give."""

from __future__ import annotations

import json
from typing import Any

import promql_parser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.errors import BadUserInput
from app.metrics.evaluate import MemorySource, Series, evaluate_instant, evaluate_range
from app.metrics.promql import CLUSTER_LABEL, MAX_MESSAGE_LENGTH, cluster_matcher, parse, render, scope

MINE = "cls_mine"
OURS = ("cluster_id", "MatchOp.Re", MINE)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# A grammar of PromQL, wider than any backend supports: what matters is that scoping holds for all.

label_names = st.sampled_from(["job", "pod", "namespace", CLUSTER_LABEL, "a.b", "__name__"])
regexes = st.sampled_from([".+", ".*", "cls_.*", "cls_other|cls_mine", "x", "(a|b)c", '"}', "\\\\"])
values = st.text(st.characters(codec="utf-8"), max_size=12)


@st.composite
def matcher(draw: Any, named: bool) -> str:
    name = draw(label_names.filter(lambda n: not named or n != "__name__"))
    label = name if name.isidentifier() else json.dumps(name)
    op = draw(st.sampled_from(["=~", "!~"] if name == "__name__" else ["=", "!=", "=~", "!~"]))
    value = draw(regexes) if "~" in op else draw(values)
    return f"{label}{op}{json.dumps(value, ensure_ascii=False)}"


@st.composite
def selector_parts(draw: Any) -> tuple[str, str]:
    """A selector's `name{matchers}` and its modifiers (offset, @), apart: a range goes between."""
    name = draw(st.sampled_from(["up", "http_requests_total", "kube_pod_status_phase", None]))
    alternatives = st.lists(st.lists(matcher(named=name is not None), min_size=1, max_size=3), min_size=1, max_size=2)
    groups = draw(st.one_of(st.just([[]]), alternatives))
    if name is None:  # a selector needs one matcher that cannot match the empty string
        groups = [[*g, 'job="api"'] for g in groups]
    body = " or ".join(",".join(g) for g in groups)
    modifier = draw(st.sampled_from(["", "", " offset 5m", " @ 1700000000", " offset -1m", " @ start()"]))
    return f"{name or ''}{{{body}}}", modifier


def selector() -> st.SearchStrategy[str]:
    return selector_parts().map(lambda parts: parts[0] + parts[1])


def range_selector() -> st.SearchStrategy[str]:
    durations = st.sampled_from(["5m", "1h", "90s", "1500ms"])
    return st.builds(lambda parts, d: f"{parts[0]}[{d}]{parts[1]}", selector_parts(), durations)


def leaves() -> st.SearchStrategy[str]:
    functions = st.sampled_from(["rate", "increase", "max_over_time"])
    return st.one_of(selector(), st.builds(lambda f, r: f"{f}({r})", functions, range_selector()))


def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    grouping = st.sampled_from(["", " by (pod)", " without (cluster_id)", " by (cluster_id, job)"])
    return st.one_of(
        st.builds(lambda op, g, e: f"{op}{g} ({e})", st.sampled_from(["sum", "avg", "max", "min", "count"]),
                  grouping, children),
        st.builds(lambda lhs, op, rhs: f"{lhs} {op} {rhs}", children,
                  st.sampled_from(["+", "/", ">", "== bool", "or", "and", "unless", "or on (cluster_id)"]), children),
        st.builds(lambda e, n: f"{e} * {n}", children, st.sampled_from(["2", "-1", "0.5", "NaN"])),
        st.builds(lambda e: f'label_replace({e}, "cluster_id", "cls_other", "pod", "(.*)")', children),
        st.builds(lambda e: f"absent({e})", children),
        st.builds(lambda e: f"max_over_time(({e})[30m:1m])", children),
        st.builds(lambda e: f"rate(({e})[1h:])", children),
        st.builds(lambda e: f"topk(3, {e})", children),
        st.builds(lambda e: f'count_values("cluster_id", {e})', children),
        st.builds(lambda e: f"-({e})", children),
        st.builds(lambda e: f"vector(scalar({e}))", children),
    )


queries = st.recursive(leaves(), extend, max_leaves=6)


def vector_selectors(expr: promql_parser.Expr) -> list[promql_parser.VectorSelector]:
    """Every vector selector, found by the parser's own walker (not the module under test's)."""
    found: list[promql_parser.VectorSelector] = []

    def visit(node: promql_parser.Expr) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)
        return True

    promql_parser.walk(expr, visit)
    return found


def groups(vs: promql_parser.VectorSelector) -> list[list[tuple[str, str, str]]]:
    """The selector's alternatives, its metric name written as the `__name__="..."` it means."""
    raw = [list(g) for g in vs.matchers.or_matchers] or [list(vs.matchers.matchers)]
    name = [] if vs.name is None else [("__name__", "MatchOp.Equal", vs.name)]
    return [name + [(m.name, str(m.op), m.value) for m in g] for g in raw]


def assert_scoped(original: str, scoped: str) -> None:
    before = vector_selectors(promql_parser.parse(original))
    after = vector_selectors(promql_parser.parse(scoped))
    assert len(after) == len(before)  # no selector lost, and none smuggled in
    for old, new in zip(before, after, strict=True):
        new_groups = groups(new)
        for group in new_groups:
            assert [m for m in group if m[0] == CLUSTER_LABEL] == [OURS], scoped
        # everything the user wrote besides cluster_id is kept, in order
        assert [[m for m in g if m[0] != CLUSTER_LABEL] for g in new_groups] == [
            [m for m in g if m[0] != CLUSTER_LABEL] for g in groups(old)
        ]


@SETTINGS
@given(queries)
def test_every_selector_of_any_query_carries_exactly_our_cluster_matcher(query: str) -> None:
    assert_scoped(query, scope(query, [MINE]))


@SETTINGS
@given(queries)
def test_printing_and_parsing_back_gives_the_same_tree(query: str) -> None:
    expr = parse(query)
    assert repr(promql_parser.parse(render(expr))) == repr(expr)
    scoped = scope(query, [MINE])
    assert scope(scoped, [MINE]) == scoped  # scoping a scoped query changes nothing


@pytest.mark.parametrize("query", [
    'up or {__name__=~".+"}',
    'up and on() {__name__=~"secret.*"}',
    'up unless ignoring(cluster_id) up{cluster_id="cls_other"}',
    'label_replace(up{cluster_id="cls_other"}, "cluster_id", "cls_mine", "cluster_id", ".*")',
    'label_join(up, "cluster_id", ",", "job")',
    '{__name__=~".+"}',
    '{__name__=~".+", cluster_id=~".+"}',
    'rate(http_requests_total{cluster_id!="x"}[5m])[1h:1m]',
    'max_over_time(rate(x{cluster_id=~".*"}[5m])[1h:])',
    'up{cluster_id=~".+"}',
    'up{cluster_id!="x"}',
    'up{cluster_id="cls_other", cluster_id="cls_mine"}',
    'up{"cluster_id"="cls_other"}',
    'up{job="a" or cluster_id="cls_other"}',
    'sum(rate(x[5m])) by (cluster_id) / scalar(sum(up{cluster_id!~"cls_mine"}))',
    'absent(up{cluster_id="cls_other"})',
    'absent_over_time(up{cluster_id="cls_other"}[1h])',
    'topk(scalar(count(up{cluster_id="cls_other"})), up)',
    'count_values("cluster_id", up)',
    'histogram_quantile(0.9, sum by (le) (rate(h_bucket{cluster_id=~".+"}[5m])))',
    'up offset 1d or up @ start()',
])
def test_attacks_are_scoped(query: str) -> None:
    assert_scoped(query, scope(query, [MINE]))


def test_quotes_in_a_label_value_cannot_open_new_selectors() -> None:
    # The value holds `"} or {__name__=~".+"} or y{b="`: printed unescaped, it would add an
    # unscoped selector to the query.
    query = r'x{a="\"} or {__name__=~\".+\"} or y{b=\""}'
    scoped = scope(query, [MINE])
    assert_scoped(query, scoped)
    assert len(vector_selectors(promql_parser.parse(scoped))) == 1


def test_the_matcher_is_an_exact_alternation_of_escaped_ids() -> None:
    assert cluster_matcher(["cls_b", "cls_a", "cls_b"]).value == "cls_a|cls_b"
    assert scope("up", ["cls.a", "cls_b"]) == r'up{cluster_id=~"cls\\.a|cls_b"}'
    source = MemorySource([Series("up", {"cluster_id": "clsXa"}, [(0, 1.0)]),
                           Series("up", {"cluster_id": "cls.a"}, [(0, 2.0)])])
    result = evaluate_instant(scope("up", ["cls.a"]), source, 10)
    assert [r["value"][1] for r in result["result"]] == ["2"]  # `.` is not a wildcard


def test_no_clusters_matches_nothing() -> None:
    scoped = scope('up{cluster_id=~".*"} or {__name__=~".+"}', [])
    assert scoped == 'up{cluster_id="__none__"} or {__name__=~".+",cluster_id="__none__"}'
    source = MemorySource([Series("up", {"cluster_id": "cls_a"}, [(0, 1.0)]), Series("up", {}, [(0, 1.0)])])
    assert evaluate_instant(scoped.split(" or ")[0], source, 10)["result"] == []
    with pytest.raises(ValueError):
        scope("up", [""])  # an empty ID would let series without the label through


def test_info_is_refused_because_it_reads_unnamed_series() -> None:
    with pytest.raises(BadUserInput) as caught:
        scope("info(up)", [MINE])
    assert "info()" in caught.value.message


@pytest.mark.parametrize(("query", "problem"), [
    ("", "must not be empty"),
    ("   ", "must not be empty"),
    ("up{" + "a" * 4000 + "}", "at most 4000 characters"),
    ("sum(", ""),
    ("up{a=~\"(\"}", "regex"),
    ("x @ -1", "before 1970"),
    ("x[100000000y]", "out of range"),
    ("(" * 201 + "up" + ")" * 201, "nests more than 200 levels"),
    ("-" * 300 + "up", "nests more than 200 levels"),
])
def test_bad_queries_are_the_users_error(query: str, problem: str) -> None:
    with pytest.raises(BadUserInput) as caught:
        scope(query, [MINE])
    detail = caught.value.details[0]
    assert detail["field"] == "query"
    assert problem in detail["message"]
    assert len(detail["message"]) <= MAX_MESSAGE_LENGTH


@SETTINGS
@given(st.text(max_size=80))
def test_any_text_either_scopes_or_is_refused_as_bad_input(text: str) -> None:
    try:
        scoped = scope(text, [MINE])
    except BadUserInput:
        return  # anything else (a scoping failure is an AppError) fails the test
    assert_scoped(text, scoped)


# Evaluation: over two clusters' series, a scoped query answers what cluster A's alone answer.

A, B = "cls_a", "cls_b"


def two_clusters() -> tuple[list[Series], list[Series]]:
    mine, theirs = [], []
    for i, pod in enumerate(["p1", "p2", "p3"]):
        mine.append(Series("mem", {CLUSTER_LABEL: A, "pod": pod, "ns": "x"},
                           [(t, i + t / 60) for t in range(0, 601, 15)]))
        mine.append(Series("req_total", {CLUSTER_LABEL: A, "pod": pod, "ns": "x"},
                           [(t, (t * (i + 1)) % 97) for t in range(0, 601, 15)]))
        # B's series share A's label values (but cluster_id) and carry huge, distinctive values
        theirs.append(Series("mem", {CLUSTER_LABEL: B, "pod": pod, "ns": "x", "secret": "b"},
                             [(t, 7e12 + i) for t in range(0, 601, 15)]))
        theirs.append(Series("req_total", {CLUSTER_LABEL: B, "pod": pod, "ns": "y"},
                             [(t, 9e12 + t * 1e9) for t in range(0, 601, 15)]))
    theirs.append(Series("mem", {"pod": "p1", "ns": "x"}, [(t, 5e12) for t in range(0, 601, 15)]))  # no cluster
    return mine, theirs


supported_matcher = st.sampled_from([
    'cluster_id=~".+"', 'cluster_id="cls_b"', 'cluster_id!="cls_a"', 'cluster_id=~"cls_b|cls_a"', 'cluster_id!~"x"',
    'pod="p1"', 'pod!="p2"', 'pod=~"p[12]"', 'ns="y"', 'secret="b"', 'secret=""',
])


@st.composite
def supported_selector(draw: Any) -> str:
    name = draw(st.sampled_from(["mem", "req_total", ""]))
    found = draw(st.lists(supported_matcher, max_size=3))
    if not name:
        found.append(draw(st.sampled_from(['__name__=~"mem|req_total"', '__name__="mem"', '__name__=~".+"'])))
    return f"{name}{{{','.join(found)}}}"


def supported_leaves() -> st.SearchStrategy[str]:
    return st.one_of(
        supported_selector(),
        st.builds(lambda f, s, d: f"{f}({s}[{d}])", st.sampled_from(["rate", "increase"]), supported_selector(),
                  st.sampled_from(["1m", "90s", "5m"])),
    )


def supported_extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda op, g, e: f"{op}{g} ({e})", st.sampled_from(["sum", "avg", "max", "min", "count"]),
                  st.sampled_from(["", " by (pod)", " without (pod)", " by (cluster_id)", " without (ns)"]), children),
        st.builds(lambda e, op, n: f"{e} {op} {n}", children,
                  st.sampled_from(["+", "-", "*", "/", "%", ">", "<=", "!=", "> bool"]),
                  st.sampled_from(["2", "0.5", "3"])),
        st.builds(lambda n, e: f"{n} - ({e})", st.sampled_from(["1", "100"]), children),
        st.builds(lambda e: f"-({e})", children),
    )


supported_queries = st.recursive(supported_leaves(), supported_extend, max_leaves=3)


@SETTINGS
@given(supported_queries)
def test_a_scoped_query_over_both_clusters_answers_what_cluster_a_alone_answers(query: str) -> None:
    mine, theirs = two_clusters()
    scoped = scope(query, [A])
    try:
        both = evaluate_range(scoped, MemorySource(mine + theirs), 0, 600, 30)
    except BadUserInput as exc:  # e.g. two series merged once their names are dropped
        with pytest.raises(BadUserInput) as again:
            evaluate_range(scoped, MemorySource(mine), 0, 600, 30)
        assert again.value.message == exc.message
        return
    assert both == evaluate_range(scoped, MemorySource(mine), 0, 600, 30)
    for row in both["result"]:
        assert row["metric"].get(CLUSTER_LABEL, A) == A
        assert "secret" not in row["metric"] and row["metric"].get("ns") != "y"
        assert all(abs(float(v)) < 1e11 for _, v in row["values"] if v not in ("NaN", "+Inf", "-Inf"))


def test_the_same_query_unscoped_does_read_cluster_b() -> None:
    """The property above can fail: without scoping, B's series change the answer."""
    mine, theirs = two_clusters()
    query = 'max(mem{cluster_id=~".+"})'
    unscoped = evaluate_instant(query, MemorySource(mine + theirs), 600)
    scoped = evaluate_instant(scope(query, [A]), MemorySource(mine + theirs), 600)
    assert float(unscoped["result"][0]["value"][1]) > 1e12
    assert scoped == evaluate_instant(query, MemorySource(mine), 600)
    assert float(scoped["result"][0]["value"][1]) == 12.0
