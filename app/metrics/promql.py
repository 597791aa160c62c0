"""PromQL from tenants: parsing, and limiting every selector to the caller's clusters.

Every series of every metrics backend carries its Fleetgraph cluster ID in the ``cluster_id``
label. ``scope`` rewrites a query the way prom-label-proxy does: each vector selector, wherever it
sits (inside range selectors and subqueries, as a function or aggregation argument, on either side
of ``or``/``and``/``unless``, in each alternative of an ``or`` inside braces), loses every matcher
the user wrote on ``cluster_id`` and gets ``cluster_id=~"<the caller's IDs>"`` instead, so
``cluster_id=~".+"`` or ``cluster_id!="x"`` cannot widen it. ``{__name__=~".+"}`` is a selector
like any other and is limited the same way.

Guarantee: no series whose cluster_id is not one of the caller's can contribute to a result.
PromQL values come only from the series that selectors read, from literals in the query and from
the evaluation time; operators and functions compute from their arguments. So once every selector
is limited, every result is. Labels are a different matter: ``label_replace``, ``label_join`` or
``count_values`` may *write* a ``cluster_id`` label, even another tenant's ID, onto the caller's own
series, but no sample of that cluster is read: what comes back is still made of the caller's
series. The one function that reads series no selector names, ``info()`` (it joins
``target_info`` by identifying labels, which other clusters' targets may share), is refused.

With no clusters at all, the enforced matcher is ``cluster_id="__none__"``: an equality (an empty
regex alternation would match the series *without* the label) with a value no cluster ID takes
(IDs are ``cls_`` and base32), so it selects nothing in either backend.

The rewritten query is printed by this module, not by ``str()`` of the parser's tree: that printer
writes string contents unescaped (a label value holding ``"} or {__name__=~".+"} or x{b="`` would
print as new, unlimited selectors), rounds durations to seconds and drops a subquery's missing
step. ``render`` writes Go-quoted strings and exact durations, and ``scope`` re-parses what it wrote
and checks every selector again before returning it.
"""

from __future__ import annotations

import json
import math
import re
import re._constants as sre_constants
import re._parser as sre_parser
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import promql_parser
from promql_parser import (
    AggregateExpr,
    BinaryExpr,
    BinModifier,
    Call,
    Expr,
    Matcher,
    MatrixSelector,
    NumberLiteral,
    ParenExpr,
    StringLiteral,
    SubqueryExpr,
    UnaryExpr,
    VectorSelector,
)

from app.errors import AppError, BadUserInput

CLUSTER_LABEL = "cluster_id"
NO_CLUSTER = "__none__"
MAX_QUERY_LENGTH = 4000
MAX_DEPTH = 200  # nesting far past any real query's, and well within Python's recursion limit
MAX_MESSAGE_LENGTH = 300
UNSCOPABLE_FUNCTIONS = frozenset({"info"})

_OPS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
# Words the lexer reads as keywords: a metric of that name is written as {__name__="..."}.
_KEYWORDS = frozenset({
    "and", "or", "unless", "atan2", "sum", "avg", "count", "min", "max", "group", "stddev", "stdvar",
    "topk", "bottomk", "count_values", "quantile", "limitk", "limit_ratio", "offset", "by", "without",
    "on", "ignoring", "group_left", "group_right", "bool", "start", "end", "step", "range", "smoothed",
    "anchored", "fill", "fill_left", "fill_right", "inf", "nan",
})
_RE2_META = frozenset("\\.+*?()|[]{}^$")
_REPEATS = (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT)
_DURATION_UNITS = (
    ("y", 365 * 86_400_000), ("w", 7 * 86_400_000), ("d", 86_400_000), ("h", 3_600_000),
    ("m", 60_000), ("s", 1000), ("ms", 1),
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class LabelMatch:
    """One label matcher: `op` is "=", "!=", "=~" or "!~"; regexes are fully anchored and `.`
    matches newlines, as in Prometheus. A missing label has the value ""."""

    label: str
    op: str
    value: str

    def matches(self, value: str) -> bool:
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        found = compiled_regex(self.value).fullmatch(value) is not None
        return found if self.op == "=~" else not found


@dataclass(frozen=True)
class Selector:
    """What one vector selector selects: its metric name, and its matchers as alternatives (one
    group, unless the braces hold ``or``) each of which is a conjunction."""

    name: str | None
    groups: tuple[tuple[LabelMatch, ...], ...]


def parse(query: str) -> Expr:
    """The query's syntax tree; a query that is empty, too long or not PromQL is the user's error."""
    if not query.strip():
        raise BadUserInput.field("query", "must not be empty")
    if len(query) > MAX_QUERY_LENGTH:
        raise BadUserInput.field("query", f"must be at most {MAX_QUERY_LENGTH} characters")
    try:
        expr = promql_parser.parse(query)
    except Exception as exc:  # the parser reports every syntax error as ValueError; stay total
        raise BadUserInput.field("query", _trim(str(exc) or "is not valid PromQL")) from None
    except BaseException as exc:
        if _is_parser_panic(exc):
            raise BadUserInput.field("query", "is not valid PromQL") from None
        raise
    _check_depth(expr)
    return expr


def cluster_matcher(cluster_ids: Sequence[str]) -> LabelMatch:
    """The matcher `scope` enforces: an exact alternation of the IDs, or NO_CLUSTER for none."""
    if any(not cluster_id for cluster_id in cluster_ids):
        raise ValueError("cluster IDs must not be empty")
    if not cluster_ids:
        return LabelMatch(CLUSTER_LABEL, "=", NO_CLUSTER)
    return LabelMatch(CLUSTER_LABEL, "=~", "|".join(_quote_meta(i) for i in sorted(set(cluster_ids))))


def scope(query: str, cluster_ids: Sequence[str]) -> str:
    """The query with every selector limited to `cluster_ids` (see the module's guarantee)."""
    enforced = cluster_matcher(cluster_ids)
    text = render(parse(query), enforce=enforced)
    _check_scoped(text, enforced)
    return text


def render(expr: Expr, enforce: LabelMatch | None = None) -> str:
    """PromQL text that parses back to the same tree; with `enforce`, each selector's matchers on
    that label are replaced by it, and functions that read unnamed series are refused."""
    try:
        return _render(expr, enforce)
    except (ValueError, OverflowError):
        raise BadUserInput.field("query", "holds a duration or timestamp out of range") from None
    except BaseException as exc:
        if _is_parser_panic(exc):  # the parser's tree cannot hold an @ time before 1970
            raise BadUserInput.field("query", "holds a timestamp before 1970") from None
        raise


def selectors(expr: Expr) -> list[Selector]:
    """Every vector selector in the tree (those inside range selectors too), in query order."""
    found = []
    for node in walk(expr):
        if isinstance(node, VectorSelector):
            found.append(_selector_info(node))
    return found


def walk(expr: Expr) -> Iterator[Expr]:
    """The node and all its descendants, depth first, parents before children."""
    yield expr
    for child in children(expr):
        yield from walk(child)


def children(expr: Expr) -> list[Expr]:
    if isinstance(expr, AggregateExpr):
        return [expr.expr] if expr.param is None else [expr.param, expr.expr]
    if isinstance(expr, BinaryExpr):
        return [expr.lhs, expr.rhs]
    if isinstance(expr, Call):
        return list(expr.args)
    if isinstance(expr, ParenExpr | UnaryExpr | SubqueryExpr):
        return [expr.expr]
    if isinstance(expr, MatrixSelector):
        return [expr.vector_selector]
    if isinstance(expr, VectorSelector | NumberLiteral | StringLiteral):
        return []
    raise TypeError(f"unknown PromQL node {type(expr).__name__}")


def match_op(matcher: Matcher) -> str:
    return _OPS[str(matcher.op)]


@lru_cache(maxsize=1024)
def compiled_regex(pattern: str) -> re.Pattern[str]:
    """`pattern` as Python compiles it, refused where Python's backtracking engine would read it
    differently from Prometheus's RE2 (POSIX classes) or could take exponential time on a value
    (a repetition or an alternation inside a repetition): RE2 is linear, `re` is not."""
    if "[:" in pattern:
        raise BadUserInput.field("query", f"the regular expression {pattern!r} uses a POSIX class; "
                                          "the embedded metrics store does not support them")
    try:
        parsed = sre_parser.parse(pattern)
        compiled = re.compile(f"(?s:{pattern})")
    except (re.error, OverflowError, RecursionError):
        raise BadUserInput.field("query", f"the embedded metrics store cannot read the regular "
                                          f"expression {pattern!r}") from None
    if _nested_repetition(list(parsed), inside=False):
        raise BadUserInput.field("query", f"the regular expression {pattern!r} repeats a repetition "
                                          "or an alternation; the embedded metrics store does not support that")
    return compiled


def _nested_repetition(items: list[tuple[Any, Any]], inside: bool) -> bool:
    for op, arg in items:
        if op in _REPEATS:
            repeats = arg[1] > 1
            if (inside and repeats) or _nested_repetition(list(arg[2]), inside or repeats):
                return True
        elif (op is sre_constants.BRANCH and inside) or any(
            _nested_repetition(list(sub), inside) for sub in _subpatterns(op, arg)
        ):
            return True
    return False


def _subpatterns(op: Any, arg: Any) -> list[Any]:
    if op is sre_constants.BRANCH:
        return list(arg[1])
    if op is sre_constants.SUBPATTERN:
        return [arg[3]]
    if op is sre_constants.ATOMIC_GROUP:
        return [arg]
    if op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
        return [arg[1]]
    if op is sre_constants.GROUPREF_EXISTS:
        return [part for part in arg[1:] if part is not None]
    return []


def _check_depth(expr: Expr) -> None:
    """Without recursion: every other walk of the tree recurses, one frame or two a level."""
    stack = [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadUserInput.field("query", f"nests more than {MAX_DEPTH} levels deep")
        stack.extend((child, depth + 1) for child in children(node))


def _check_scoped(text: str, enforced: LabelMatch) -> None:
    """Re-read the rewritten query: a printing mistake must fail here, never reach a backend."""
    try:
        expr = promql_parser.parse(text)
    except Exception:
        raise AppError("the rewritten query does not parse") from None
    for selector in selectors(expr):
        for group in selector.groups:
            if [m for m in group if m.label == CLUSTER_LABEL] != [enforced]:
                raise AppError("the rewritten query has a selector not limited to the caller's clusters")


def _selector_info(vs: VectorSelector) -> Selector:
    groups = _matcher_groups(vs)
    return Selector(vs.name, tuple(tuple(LabelMatch(m.name, match_op(m), m.value) for m in g) for g in groups))


def _matcher_groups(vs: VectorSelector) -> list[list[Matcher]]:
    plain = list(vs.matchers.matchers)
    alternatives = [list(g) for g in vs.matchers.or_matchers]
    return [plain + g for g in alternatives] if alternatives else [plain]


def _render(e: Expr, enforce: LabelMatch | None) -> str:
    if isinstance(e, NumberLiteral):
        return _number(e.val)
    if isinstance(e, StringLiteral):
        return _quote(e.val)
    if isinstance(e, VectorSelector):
        return _selector(e, enforce) + _modifiers(e)
    if isinstance(e, MatrixSelector):
        vs = e.vector_selector
        return f"{_selector(vs, enforce)}[{_duration(e.range)}]{_modifiers(vs)}"
    if isinstance(e, ParenExpr):
        return f"({_render(e.expr, enforce)})"
    if isinstance(e, UnaryExpr):
        return f"-{_render(e.expr, enforce)}"
    if isinstance(e, SubqueryExpr):
        step = "" if e.step is None else _duration(e.step)
        assert e.range is not None  # a subquery always has its range
        return f"{_render(e.expr, enforce)}[{_duration(e.range)}:{step}]{_modifiers(e)}"
    if isinstance(e, Call):
        if enforce is not None and e.func.name in UNSCOPABLE_FUNCTIONS:
            raise BadUserInput.field("query", f"{e.func.name}() reads series that no selector names; "
                                              "it cannot be limited to your clusters")
        return f"{e.func.name}({', '.join(_render(a, enforce) for a in e.args)})"
    if isinstance(e, AggregateExpr):
        args = [_render(e.expr, enforce)] if e.param is None else [_render(e.param, enforce), _render(e.expr, enforce)]
        grouping = ""
        if e.modifier is not None:
            keyword = "by" if str(e.modifier.type) == "AggModifierType.By" else "without"
            grouping = f" {keyword} ({_label_list(e.modifier.labels)}) "
        return f"{e.op}{grouping}({', '.join(args)})"
    if isinstance(e, BinaryExpr):
        modifier = _binary_modifier(e.modifier)
        return f"{_render(e.lhs, enforce)} {e.op}{modifier} {_render(e.rhs, enforce)}"
    raise TypeError(f"unknown PromQL node {type(e).__name__}")


def _selector(vs: VectorSelector, enforce: LabelMatch | None) -> str:
    """`name{matchers}`, with the alternatives of an ``or`` each limited on their own."""
    groups: list[list[tuple[str, str, str]]] = [
        [(m.name, match_op(m), m.value) for m in g] for g in _matcher_groups(vs)
    ]
    prefix = ""
    if vs.name is not None:
        if _METRIC_NAME.fullmatch(vs.name) and vs.name.lower() not in _KEYWORDS:
            prefix = vs.name
        else:
            groups = [[("__name__", "=", vs.name), *g] for g in groups]
    if enforce is not None:
        scoped = (enforce.label, enforce.op, enforce.value)
        groups = [[m for m in g if m[0] != enforce.label] + [scoped] for g in groups]
    body = " or ".join(",".join(f"{_label(n)}{op}{_quote(v)}" for n, op, v in g) for g in groups)
    return f"{prefix}{{{body}}}"


def _modifiers(node: VectorSelector | SubqueryExpr) -> str:
    text = ""
    if node.at is not None:
        kind = str(node.at.type)
        if kind == "AtModifierType.Start":
            text += " @ start()"
        elif kind == "AtModifierType.End":
            text += " @ end()"
        elif node.at.at is not None:
            millis = (node.at.at - _EPOCH) // timedelta(milliseconds=1)
            text += f" @ {millis // 1000}.{millis % 1000:03d}"
    if node.offset is not None:
        text += f" offset {_duration(node.offset)}"
    return text


def _binary_modifier(modifier: BinModifier | None) -> str:
    if modifier is None:
        return ""
    parts = []
    if modifier.return_bool:
        parts.append("bool")
    if modifier.matching is not None:
        keyword = "on" if str(modifier.matching.type) == "LabelModifierType.Include" else "ignoring"
        parts.append(f"{keyword} ({_label_list(modifier.matching.labels)})")
    card = str(modifier.card)
    if card in ("VectorMatchCardinality.ManyToOne", "VectorMatchCardinality.OneToMany"):
        side = "group_left" if card.endswith("ManyToOne") else "group_right"
        parts.append(f"{side} ({_label_list(modifier.group_labels or [])})")
    fill = modifier.fill_values
    if fill is not None and fill.lhs is not None and fill.rhs is not None and fill.lhs == fill.rhs:
        parts.append(f"fill ({_number(fill.lhs)})")
    elif fill is not None:
        parts.extend(f"{side} ({_number(v)})" for side, v in (("fill_left", fill.lhs), ("fill_right", fill.rhs))
                     if v is not None)
    return "".join(f" {part}" for part in parts)


def _label(name: str) -> str:
    return name if _LABEL_NAME.fullmatch(name) else _quote(name)


def _label_list(names: Sequence[str]) -> str:
    return ", ".join(_label(n) for n in names)


def _quote(text: str) -> str:
    """A double-quoted PromQL string: JSON's escapes are a subset of Go's, which PromQL reads."""
    return json.dumps(text, ensure_ascii=False)


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def _duration(delta: timedelta) -> str:
    millis = delta // timedelta(milliseconds=1)
    sign, millis = ("-" if millis < 0 else ""), abs(millis)
    parts = []
    for unit, size in _DURATION_UNITS:
        count, millis = divmod(millis, size)
        if count:
            parts.append(f"{count}{unit}")
    return sign + ("".join(parts) or "0s")


def _quote_meta(text: str) -> str:
    """Go's regexp.QuoteMeta: every RE2 metacharacter escaped (Python reads the result alike)."""
    return "".join(f"\\{c}" if c in _RE2_META else c for c in text)


def _trim(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE_LENGTH else message[: MAX_MESSAGE_LENGTH - 1] + "…"


def _is_parser_panic(exc: BaseException) -> bool:
    """The parser's Rust code signals a bug as pyo3's PanicException, a BaseException."""
    return type(exc).__name__ == "PanicException"
