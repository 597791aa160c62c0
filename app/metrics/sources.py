"""Where the embedded PromQL evaluator reads samples from: a ``SampleSource`` of ``Series``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from app.metrics.promql import LabelMatch

METRIC_NAME = "__name__"


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
