"""The embedded backend: PromQL (the subset of ``app.metrics.evaluate``) over the store's samples.

The samples include the recorded per-namespace and per-cluster sums (``app.metrics.recording``),
queryable like any series; ``backend.history`` reads them for a cluster or a namespace.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from promql_parser import Expr, MatrixSelector

from app.db.types import utcnow
from app.metrics.evaluate import LOOKBACK_MS, evaluate_instant, evaluate_range
from app.metrics.promql import parse, scope, walk
from app.metrics.store import ROLLUP, EmbeddedStore

LOOKBACK = timedelta(milliseconds=LOOKBACK_MS)


def reach(expr: Expr) -> timedelta:
    """How far before its first evaluation time a query reads: the lookback or its longest range."""
    ranges = [node.range for node in walk(expr) if isinstance(node, MatrixSelector)]
    return max([LOOKBACK, *ranges])


class EmbeddedBackend:
    name = "embedded"

    def __init__(self, store: EmbeddedStore, *, sample_interval: float = 15.0) -> None:
        self.store = store
        self.sample_interval = sample_interval
        # one evaluation at a time, off the event loop: evaluations are CPU work under one GIL, so
        # running several at once only makes each wait for the others
        self._evaluator = ThreadPoolExecutor(max_workers=1, thread_name_prefix="promql")

    def resolution(self, start: datetime) -> float:
        """The sampling interval, or the roll-ups' width where raw samples are no longer kept."""
        return float(ROLLUP) if start < utcnow() - self.store.raw_retention else self.sample_interval

    async def query_range(self, query: str, cluster_ids: Sequence[str], start: datetime, end: datetime,
                          step: float) -> dict[str, Any]:
        scoped = scope(query, cluster_ids)
        source = await self.store.source(cluster_ids, start - reach(parse(scoped)), end)
        # the evaluating thread parses the query again rather than share the parser's objects
        return await self._evaluate(evaluate_range, scoped, source, start.timestamp(), end.timestamp(), step)

    async def query_instant(self, query: str, cluster_ids: Sequence[str], at: datetime) -> dict[str, Any]:
        scoped = scope(query, cluster_ids)
        source = await self.store.source(cluster_ids, at - reach(parse(scoped)), at)
        return await self._evaluate(evaluate_instant, scoped, source, at.timestamp())

    async def _evaluate(self, evaluate: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
        return await asyncio.get_running_loop().run_in_executor(self._evaluator, evaluate, *args)

    async def close(self) -> None:
        self._evaluator.shutdown(wait=False, cancel_futures=True)
