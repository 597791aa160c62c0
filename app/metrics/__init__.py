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

# The embedded store, its sampler, and the two backends behind one interface.
from app.metrics.backend import (  # noqa: E402
    History,
    HistoryTarget,
    MetricsBackend,
    backend_from_settings,
    embedded_store,
    history,
    rate_window,
)
from app.metrics.embedded import EmbeddedBackend  # noqa: E402
from app.metrics.prometheus import PrometheusBackend  # noqa: E402
from app.metrics.sampler import Sampler  # noqa: E402
from app.metrics.series import Sample, sample_cluster, series_key  # noqa: E402
from app.metrics.store import EmbeddedStore, RollUp  # noqa: E402

__all__ += [
    "EmbeddedBackend",
    "EmbeddedStore",
    "History",
    "HistoryTarget",
    "MetricsBackend",
    "PrometheusBackend",
    "RollUp",
    "Sample",
    "Sampler",
    "backend_from_settings",
    "embedded_store",
    "history",
    "rate_window",
    "sample_cluster",
    "series_key",
]
