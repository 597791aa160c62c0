"""Metrics history: samples, PromQL scoping and evaluation, backends."""

from __future__ import annotations

from app.metrics.evaluate import (
    MemorySource,
    Result,
    SampleSource,
    Series,
    evaluate_instant,
    evaluate_range,
    format_value,
)
from app.metrics.promql import CLUSTER_LABEL, LabelMatch, Selector, cluster_matcher, parse, scope, selectors

__all__ = [
    "CLUSTER_LABEL",
    "LabelMatch",
    "MemorySource",
    "Result",
    "SampleSource",
    "Selector",
    "Series",
    "cluster_matcher",
    "evaluate_instant",
    "evaluate_range",
    "format_value",
    "parse",
    "scope",
    "selectors",
]
