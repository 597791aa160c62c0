"""The embedded metrics store: every series of a cluster at a moment as one row of packed arrays.

Writing a sample registers the series it has not seen before (one multi-row INSERT), then adds one
``metric_samples`` row (step 0) holding the series' IDs and values as little-endian arrays (see
``app.db.metrics``). The key → ID map of each cluster is loaded from the database once, then kept
in memory; rows that fail to commit never reach it.

Reading (``source``) answers the evaluator's ``SampleSource``: raw rows for the part of a range
within the raw retention, 5-minute roll-ups before that (the split is where the newest roll-up
in the range ends). Series are chosen by name and matchers from the in-memory metadata before
any point is built, so a query reading 3 series of a 5,000-pod cluster builds 3 series, and
decoded rows are kept in an LRU (bounded in bytes) so a repeated query reads only the rows' IDs
and times from the database.

``roll_up`` turns each 5-minute window older than the raw retention into one row (step 300,
stamped at the window's end): gauges become their mean over the window, counters (names ending
in ``_total``) their last value; then it deletes the rolled-up raw rows, and roll-ups older than
their retention.
"""

from __future__ import annotations

import asyncio
import math
import operator
import sys
import time
import weakref
from array import array
from collections import OrderedDict
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.metrics import MetricSample, MetricSeries
from app.db.session import Database
from app.metrics.evaluate import Series
from app.metrics.promql import LabelMatch
from app.metrics.series import Entry

RAW = 0
ROLLUP = 300  # seconds a roll-up row covers
METRIC_NAME = "__name__"
ID_TYPE = "I" if array("I").itemsize == 4 else "L"  # unsigned 32-bit
_SWAP = sys.byteorder != "little"
_CHUNK = 500  # IDs per `IN (...)`
_RE2_META = frozenset("\\.+*?()|[]{}^$")


def pack(typecode: str, values: Iterable[Any]) -> bytes:
    """Values as a little-endian packed array."""
    packed = array(typecode, values)
    if _SWAP:
        packed.byteswap()
    return packed.tobytes()


def unpack(typecode: str, data: bytes) -> array[Any]:
    """A little-endian packed array, decoded."""
    decoded = array(typecode)
    decoded.frombytes(data)
    if _SWAP:
        decoded.byteswap()
    return decoded


def is_counter(name: str) -> bool:
    return name.endswith("_total")


Known = tuple[int, Mapping[str, str]]  # series ID, labels


@dataclass
class _Index:
    """One cluster's series: key → ID; (ID, labels) by metric name; and, made on first use, the
    series of a name by the value of one label (a series without the label has the value "")."""

    ids: dict[str, int] = field(default_factory=dict)
    by_name: dict[str, list[Known]] = field(default_factory=dict)
    counters: set[int] = field(default_factory=set)
    postings: dict[str, dict[str, dict[str, list[Known]]]] = field(default_factory=dict)  # name → label → value
    newest: int = 0  # the highest series ID known
    refreshed: float = -math.inf  # time.monotonic() of the last look for series registered elsewhere

    def add(self, series_id: int, key: str, name: str, labels: Mapping[str, str]) -> None:
        if key in self.ids:
            return
        self.ids[key] = series_id
        self.newest = max(self.newest, series_id)
        known = (series_id, labels)
        self.by_name.setdefault(name, []).append(known)
        for label, by_value in self.postings.get(name, {}).items():
            by_value.setdefault(labels.get(label, ""), []).append(known)
        if is_counter(name):
            self.counters.add(series_id)

    def posting(self, name: str, label: str) -> dict[str, list[Known]]:
        by_label = self.postings.setdefault(name, {})
        found = by_label.get(label)
        if found is None:
            found = by_label[label] = {}
            for known in self.by_name.get(name, ()):
                found.setdefault(known[1].get(label, ""), []).append(known)
        return found


@lru_cache(maxsize=1024)
def _literals(pattern: str) -> frozenset[str] | None:
    """The values a regex that is an alternation of literals (``a|b\\.c``) matches; None for any other."""
    values, current, escaped = [], [], False
    for c in pattern:
        if escaped:
            if c not in _RE2_META:
                return None  # a class such as \d
            current.append(c)
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == "|":
            values.append("".join(current))
            current = []
        elif c in _RE2_META:
            return None
        else:
            current.append(c)
    if escaped:
        return None
    values.append("".join(current))
    return frozenset(values)


def literal_values(matcher: LabelMatch) -> frozenset[str] | None:
    """The only values a matcher can match, when it says them (``=``, or ``=~`` of literals)."""
    if matcher.op == "=":
        return frozenset([matcher.value])
    return _literals(matcher.value) if matcher.op == "=~" else None


class _IdBlock:
    """The series IDs of a row, decoded once and shared by every row with the same IDs."""

    __slots__ = ("raw", "_ids", "_positions", "__weakref__")

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self._ids: array[int] | None = None
        self._positions: dict[int, int] | None = None

    @property
    def ids(self) -> array[int]:
        if self._ids is None:
            self._ids = unpack(ID_TYPE, self.raw)
        return self._ids

    def positions(self) -> dict[int, int]:
        if self._positions is None:
            self._positions = {series_id: i for i, series_id in enumerate(self.ids)}
        return self._positions


@dataclass(frozen=True)
class _Row:
    cluster_id: str
    at: float  # unix seconds
    step: int
    block: _IdBlock
    values: array[float]

    @property
    def size(self) -> int:
        return len(self.values) * 8 + len(self.block.raw)  # a block shared by several rows counts in each


@dataclass(frozen=True)
class RollUp:
    """What one ``roll_up`` did."""

    windows: int  # roll-up rows written
    raw_deleted: int
    rollups_deleted: int


class StoredSource:
    """Rows loaded for a range, answering the evaluator's ``SampleSource``."""

    def __init__(self, parts: Sequence[tuple[_Index, Sequence[_Row]]]) -> None:
        self.parts = parts

    def series(self, name: str | None, matchers: Sequence[LabelMatch], start: float, end: float) -> Iterator[Series]:
        for index, rows in self.parts:
            chosen = list(_matching(index, name, matchers))
            if chosen:
                yield from _build(chosen, [r for r in rows if start <= r.at <= end])


Chosen = tuple[int, str, Mapping[str, str]]  # series ID, metric name, labels


def _matching(index: _Index, name: str | None, matchers: Sequence[LabelMatch]) -> Iterator[Chosen]:
    """The series matching: candidates from the most selective matcher that names its values."""
    names = [name] if name is not None else list(index.by_name)
    label_matchers = [m for m in matchers if m.label != METRIC_NAME]
    for metric in names:
        if not all(m.matches(metric) for m in matchers if m.label == METRIC_NAME):
            continue
        pool: Sequence[Known] = index.by_name.get(metric, ())
        for m in label_matchers:
            values = literal_values(m)
            if values is not None:
                posting = index.posting(metric, m.label)
                if sum(len(posting.get(v, ())) for v in values) < len(pool):
                    pool = [known for v in values for known in posting.get(v, ())]
        for series_id, labels in pool:
            if all(m.matches(labels.get(m.label, "")) for m in label_matchers):
                yield series_id, metric, labels


def _build(chosen: list[Chosen], rows: Sequence[_Row]) -> Iterator[Series]:
    """The chosen series' points: positions are found once per distinct block of IDs."""
    points: list[list[tuple[float, float]]] = [[] for _ in chosen]
    wanted = [series_id for series_id, _, _ in chosen]
    block: _IdBlock | None = None
    found: list[tuple[int, int]] = []
    for row in rows:
        if row.block is not block:
            block = row.block
            positions = block.positions()
            found = [(j, p) for j, p in enumerate(map(positions.get, wanted)) if p is not None]
        at, values = row.at, row.values
        for j, p in found:
            points[j].append((at, values[p]))
    for (_, metric, labels), series_points in zip(chosen, points, strict=True):
        if series_points:
            yield Series(metric, labels, series_points)


def roll_up_window(rows: Sequence[tuple[bytes, bytes]], counters: Container[int]) -> tuple[bytes, bytes]:
    """One roll-up row from a window's raw rows (packed IDs and values, in time order):
    the mean of each gauge, the last value of each counter, over the rows holding it."""
    first = rows[0][0]
    if all(ids == first for ids, _ in rows):  # the usual case: the same series all window long
        ids = unpack(ID_TYPE, first)
        sums: list[float] = list(unpack("d", rows[0][1]))
        for _, values in rows[1:]:
            sums = list(map(operator.add, sums, unpack("d", values)))
        count = len(rows)
        last = unpack("d", rows[-1][1])
        result = [last[i] if series_id in counters else sums[i] / count for i, series_id in enumerate(ids)]
        return first, pack("d", result)
    totals: dict[int, list[float]] = {}  # ID → [sum, count, last]
    for ids_raw, values_raw in rows:
        for series_id, value in zip(unpack(ID_TYPE, ids_raw), unpack("d", values_raw), strict=True):
            entry = totals.get(series_id)
            if entry is None:
                totals[series_id] = [value, 1.0, value]
            else:
                entry[0] += value
                entry[1] += 1
                entry[2] = value
    order = sorted(totals)
    means = [totals[i][2] if i in counters else totals[i][0] / totals[i][1] for i in order]
    return pack(ID_TYPE, order), pack("d", means)


def _window_start(moment: datetime) -> datetime:
    seconds = math.floor(moment.timestamp() / ROLLUP) * ROLLUP
    return datetime.fromtimestamp(seconds, UTC)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class EmbeddedStore:
    """Samples of clusters in the database, with raw and roll-up retentions."""

    def __init__(self, db: Database, raw_retention: timedelta, rollup_retention: timedelta, *,
                 cache_bytes: int = 256 * 2**20, refresh_seconds: float = 5.0) -> None:
        self.db = db
        self.raw_retention, self.rollup_retention = raw_retention, rollup_retention
        self.cache_bytes = cache_bytes  # a 5,000-pod cluster's row is about 0.5 MB: a day of roll-ups, 140 MB
        self.refresh_seconds = refresh_seconds
        self._indexes: dict[str, _Index] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._rows: OrderedDict[int, _Row] = OrderedDict()  # decoded rows by row ID, least recent first
        self._cached = 0  # bytes the decoded rows hold
        self._blocks: weakref.WeakValueDictionary[bytes, _IdBlock] = weakref.WeakValueDictionary()

    # -- series ---------------------------------------------------------------------------------

    def _lock(self, cluster_id: str) -> asyncio.Lock:
        return self._locks.setdefault(cluster_id, asyncio.Lock())

    async def _index(self, cluster_id: str, *, refresh: bool = False) -> _Index:
        """The cluster's series, loaded once; ``refresh`` adds those another replica registered since
        (looked for at most every ``refresh_seconds``)."""
        index = self._indexes.get(cluster_id)
        if index is not None and not (refresh and time.monotonic() - index.refreshed >= self.refresh_seconds):
            return index
        async with self._lock(cluster_id):
            index = self._indexes.get(cluster_id) or _Index()
            index.refreshed = time.monotonic()
            async with self.db.session() as session:
                query = select(MetricSeries.id, MetricSeries.key, MetricSeries.name, MetricSeries.labels).where(
                    MetricSeries.cluster_id == cluster_id, MetricSeries.id > index.newest).order_by(MetricSeries.id)
                for series_id, key, name, labels in await session.execute(query):
                    index.add(series_id, key, name, labels)
            self._indexes[cluster_id] = index
            return index

    async def _register(self, session: AsyncSession, tenant_id: str | None, cluster_id: str, keys: Sequence[str],
                        values: Mapping[str, Entry]) -> dict[str, int]:
        """IDs of new series, inserted in one statement (a series another replica added meanwhile is read)."""
        rows = [{"tenant_id": tenant_id, "cluster_id": cluster_id, "name": values[k][0], "labels": dict(values[k][1]),
                 "key": k} for k in keys]
        insert = postgresql_insert if self.db.engine.dialect.name == "postgresql" else sqlite_insert
        statement = insert(MetricSeries).on_conflict_do_nothing(index_elements=["cluster_id", "key"]).returning(
            MetricSeries.id, MetricSeries.key)
        made = {key: series_id for series_id, key in await session.execute(statement, rows)}
        missing = [k for k in keys if k not in made]
        for chunk in _chunks(missing):
            query = select(MetricSeries.id, MetricSeries.key).where(
                MetricSeries.cluster_id == cluster_id, MetricSeries.key.in_(chunk))
            made.update({key: series_id for series_id, key in await session.execute(query)})
        return made

    def forget(self, cluster_id: str) -> None:
        """Drop what is held in memory for a cluster (its series map, its decoded rows)."""
        self._indexes.pop(cluster_id, None)
        self._locks.pop(cluster_id, None)
        for row_id in [i for i, row in self._rows.items() if row.cluster_id == cluster_id]:
            self._cached -= self._rows.pop(row_id).size

    # -- writing --------------------------------------------------------------------------------

    async def write(self, tenant_id: str | None, cluster_id: str, at: datetime, values: Mapping[str, Entry]) -> None:
        """One raw row holding every series of ``values`` (key → (name, labels, value)) at ``at``."""
        index = await self._index(cluster_id)
        async with self._lock(cluster_id):
            new = [key for key in values if key not in index.ids]
            async with self.db.transaction() as session:
                made = await self._register(session, tenant_id, cluster_id, new, values) if new else {}
                known = index.ids
                ids = [known[k] if k in known else made[k] for k in values] if made else map(known.__getitem__, values)
                session.add(MetricSample(tenant_id=tenant_id, cluster_id=cluster_id, at=at, step=RAW,
                                         series=pack(ID_TYPE, ids), values=pack("d", (e[2] for e in values.values()))))
            for key in new:  # committed: the IDs are real now
                index.add(made[key], key, values[key][0], values[key][1])

    # -- reading --------------------------------------------------------------------------------

    async def source(self, cluster_ids: Sequence[str], start: datetime, end: datetime) -> StoredSource:
        """The clusters' rows over [start, end], decoded (or taken from the LRU)."""
        parts = []
        for cluster_id in dict.fromkeys(cluster_ids):
            index = await self._index(cluster_id, refresh=True)
            parts.append((index, await self._load(cluster_id, start, end)))
        return StoredSource(parts)

    async def _load(self, cluster_id: str, start: datetime, end: datetime) -> list[_Row]:
        async with self.db.session() as session:
            found = await session.execute(select(MetricSample.id, MetricSample.at, MetricSample.step).where(
                MetricSample.cluster_id == cluster_id, MetricSample.at >= start, MetricSample.at <= end,
                MetricSample.step.in_((RAW, ROLLUP))).order_by(MetricSample.at))
            listing: list[tuple[int, datetime, int]] = [(r[0], r[1], r[2]) for r in found]
            # roll-ups up to the newest, raw rows after it (rolled-up raw rows are deleted with the roll-up)
            boundary = max((at for _, at, step in listing if step == ROLLUP), default=None)
            if boundary is not None:
                listing = [(i, at, step) for i, at, step in listing if (step == ROLLUP) == (at <= boundary)]
            rows: dict[int, _Row] = {}
            for row_id, at, step in listing:
                cached = self._cached_row(row_id, at.timestamp(), step)
                if cached is not None:
                    rows[row_id] = cached
            missing = [row_id for row_id, _, _ in listing if row_id not in rows]
            for chunk in _chunks(missing, 100):
                query = select(MetricSample.id, MetricSample.at, MetricSample.step, MetricSample.series,
                               MetricSample.values).where(MetricSample.id.in_(chunk))
                for row_id, at, step, series, values in await session.execute(query):
                    rows[row_id] = self._remember(row_id, _Row(cluster_id, at.timestamp(), step, self._block(series),
                                                               unpack("d", values)))
        return [rows[row_id] for row_id, _, _ in listing]

    def _block(self, raw: bytes) -> _IdBlock:
        block = self._blocks.get(raw)
        if block is None:
            block = self._blocks[raw] = _IdBlock(raw)
        return block

    def _cached_row(self, row_id: int, at: float, step: int) -> _Row | None:
        row = self._rows.get(row_id)
        if row is None or row.at != at or row.step != step:  # a row ID SQLite gave again after a delete
            return None
        self._rows.move_to_end(row_id)
        return row

    def _remember(self, row_id: int, row: _Row) -> _Row:
        if row.size > self.cache_bytes:
            return row
        old = self._rows.pop(row_id, None)
        if old is not None:
            self._cached -= old.size
        self._rows[row_id] = row
        self._cached += row.size
        while self._cached > self.cache_bytes:
            _, evicted = self._rows.popitem(last=False)
            self._cached -= evicted.size
        return row

    # -- roll-ups and retention -----------------------------------------------------------------

    async def roll_up(self, cluster_id: str, now: datetime) -> RollUp:
        """Roll up the 5-minute windows older than the raw retention, then prune; idempotent."""
        index = await self._index(cluster_id, refresh=True)
        cutoff = _window_start(now - self.raw_retention)  # windows ending by then are complete and old enough
        windows = 0
        async with self.db.transaction() as session:
            times = (await session.execute(select(MetricSample.at, MetricSample.tenant_id).where(
                MetricSample.cluster_id == cluster_id, MetricSample.step == RAW, MetricSample.at < cutoff))).all()
            starts = {_window_start(at): tenant_id for at, tenant_id in times}
            done = set((await session.scalars(select(MetricSample.at).where(
                MetricSample.cluster_id == cluster_id, MetricSample.step == ROLLUP, MetricSample.at <= cutoff))).all())
            for start in sorted(starts):
                window_end = start + timedelta(seconds=ROLLUP)
                if window_end in done:
                    continue
                rows = (await session.execute(select(MetricSample.series, MetricSample.values).where(
                    MetricSample.cluster_id == cluster_id, MetricSample.step == RAW, MetricSample.at >= start,
                    MetricSample.at < window_end).order_by(MetricSample.at))).all()
                series, values = roll_up_window([(bytes(s), bytes(v)) for s, v in rows], index.counters)
                session.add(MetricSample(tenant_id=starts[start], cluster_id=cluster_id, at=window_end, step=ROLLUP,
                                         series=series, values=values))
                windows += 1
            await session.flush()
            raw = await session.execute(delete(MetricSample).where(
                MetricSample.cluster_id == cluster_id, MetricSample.step == RAW, MetricSample.at < cutoff))
            old = await session.execute(delete(MetricSample).where(
                MetricSample.cluster_id == cluster_id, MetricSample.step == ROLLUP,
                MetricSample.at < now - self.rollup_retention))
        return RollUp(windows, _count(raw), _count(old))


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
