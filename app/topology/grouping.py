"""The picture's arrangement: each namespace's objects together in a labelled frame, frames packed
in rows, and the cluster-scoped objects in a band of their own across the bottom.

Each frame's objects are placed by the layered ``layout`` of that frame's part of the graph, so
within a frame Ingresses stay on top and Pods under their owners. Frames are packed into rows
no wider than about one and a half times the square root of their total area (tallest first,
then by name; short frames stacked in the room under a wider one), so a cluster with many
namespaces makes a picture a little wider than tall. A graph of several
clusters (the project and fleet views) gets frames per cluster and namespace.

Frames never overlap each other, and a frame holds every one of its objects' boxes. Deterministic
like ``layout``: the result depends only on the graph and the seed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import networkx as nx

from app.topology.layout import NODE_HEIGHT, NODE_WIDTH, Position, layout
from app.topology.lettering import fit, text_width

PADDING = 24.0  # between a frame's border and the boxes inside it
LABEL_SIZE = 14.0  # font size of a frame's label
LABEL_HEIGHT = 30.0  # the strip at the top of a frame that holds its label
LABEL_ROOM = 420.0  # the widest a label may be before it is shortened
FRAME_GAP = 48.0  # between two frames
ROW_RATIO = 1.5  # a row of frames is at most this times the square root of their total area wide

Key = tuple[str, str | None]  # (cluster id or "", namespace or None for the cluster-scoped band)


@dataclass(frozen=True)
class Frame:
    """A labelled box around a group of objects; ``x``/``y`` is its top left corner."""

    cluster: str
    namespace: str | None
    label: str
    title: str
    x: float
    y: float
    width: float
    height: float
    nodes: tuple[str, ...]


@dataclass(frozen=True)
class Arrangement:
    """Where each object's box is centred and the frames around them, inside ``width`` x ``height``."""

    positions: dict[str, Position]
    frames: tuple[Frame, ...]
    width: float
    height: float


@dataclass
class _Group:
    key: Key
    label: str
    title: str
    nodes: list[str]
    offsets: dict[str, Position]  # box centres relative to the frame's top left corner
    width: float
    height: float


def arrange(graph: nx.MultiDiGraph, seed: int = 0) -> Arrangement:
    """Frames per namespace, packed in rows, above one band per cluster for its cluster-scoped objects."""
    members: dict[Key, list[str]] = {}
    for node in sorted(graph):
        attrs = graph.nodes[node]
        namespace = attrs.get("namespace")
        members.setdefault((str(attrs.get("cluster") or ""), str(namespace) if namespace else None), []).append(node)
    names = _cluster_names(graph)
    several = len({cluster for cluster, _ in members}) > 1
    groups = [_group(graph, key, nodes, names, several, seed) for key, nodes in sorted(members.items(), key=_order)]
    namespaced = sorted((g for g in groups if g.key[1] is not None), key=lambda g: (-g.height, g.key))
    bands = [g for g in groups if g.key[1] is None]
    rows = _rows(namespaced)
    width = max([_row_width(row) for row in rows] + [g.width for g in bands] + [0.0])
    frames: list[Frame] = []
    positions: dict[str, Position] = {}
    y = 0.0
    for row in rows:
        x = 0.0
        for column in row:
            top = y
            for group in column:
                _place(group, x, top, group.width, frames, positions)
                top += group.height + FRAME_GAP
            x += column[0].width + FRAME_GAP
        y += row[0][0].height + FRAME_GAP
    for band in bands:
        _place(band, 0.0, y, width, frames, positions)
        y += band.height + FRAME_GAP
    return Arrangement(positions, tuple(frames), width, max(0.0, y - FRAME_GAP))


def unframed(positions: Mapping[str, Position]) -> Arrangement:
    """Positions chosen elsewhere, moved so the boxes start at (0, 0), with no frames."""
    if not positions:
        return Arrangement({}, (), 0.0, 0.0)
    left = min(x for x, _ in positions.values()) - NODE_WIDTH / 2
    top = min(y for _, y in positions.values()) - NODE_HEIGHT / 2
    moved = {node: (x - left, y - top) for node, (x, y) in positions.items()}
    width = max(x for x, _ in moved.values()) + NODE_WIDTH / 2
    height = max(y for _, y in moved.values()) + NODE_HEIGHT / 2
    return Arrangement(moved, (), width, height)


def _order(item: tuple[Key, list[str]]) -> tuple[str, int, str]:
    (cluster, namespace), _ = item
    return cluster, 0 if namespace is not None else 1, namespace or ""


def _cluster_names(graph: nx.MultiDiGraph) -> dict[str, str]:
    """Cluster id -> name, from the ``Cluster`` nodes of a view across clusters."""
    return {
        str(attrs.get("cluster")): str(attrs.get("name") or attrs.get("cluster"))
        for _, attrs in sorted(graph.nodes(data=True), key=lambda item: item[0])
        if attrs.get("kind") == "Cluster" and attrs.get("cluster")
    }


def _group(
    graph: nx.MultiDiGraph, key: Key, nodes: list[str], names: Mapping[str, str], several: bool, seed: int
) -> _Group:
    cluster, namespace = key
    where = f"cluster {names.get(cluster, cluster)}" if several and cluster else ""
    if namespace is None:
        label = f"{where}: cluster-scoped objects" if where else "cluster-scoped objects"
    else:
        label = f"namespace {namespace}" + (f" ({where})" if where else "")
    count = f"{len(nodes)} object" + ("" if len(nodes) == 1 else "s")
    title = f"{label}: {count}"
    shown = fit(label, LABEL_SIZE, LABEL_ROOM, bold=True)
    placed = layout(graph.subgraph(nodes), seed)
    left = min(x for x, _ in placed.values()) - NODE_WIDTH / 2
    top = min(y for _, y in placed.values()) - NODE_HEIGHT / 2
    inner = max(x for x, _ in placed.values()) + NODE_WIDTH / 2 - left
    offsets = {n: (x - left + PADDING, y - top + PADDING + LABEL_HEIGHT) for n, (x, y) in placed.items()}
    width = math.ceil(max(inner, text_width(shown, LABEL_SIZE, bold=True)) + 2 * PADDING)
    height = max(y for _, y in offsets.values()) + NODE_HEIGHT / 2 + PADDING
    if width > inner + 2 * PADDING:  # a label wider than the boxes: centre them under it
        shift = (width - inner - 2 * PADDING) / 2
        offsets = {n: (x + shift, y) for n, (x, y) in offsets.items()}
    return _Group(key, shown, title, nodes, offsets, width, height)


Column = list[_Group]  # frames stacked one under another, the first one the widest
Row = list[Column]


def _rows(groups: list[_Group]) -> list[Row]:
    """Pack frames, tallest first, into rows at most ``ROW_RATIO * sqrt(total area)`` wide (or as
    wide as the widest frame). A frame goes under the frames of the first column with room below
    them (the row's first frame sets its height), else into the first row with room at its end,
    else it starts a row."""
    if not groups:
        return []
    area = math.fsum(g.width * g.height for g in groups)
    limit = max(max(g.width for g in groups), ROW_RATIO * math.sqrt(area))
    rows: list[Row] = []
    for group in groups:
        column = next((c for row in rows for c in row if _room_under(c, row, group)), None)
        if column is not None:
            column.append(group)
            continue
        row = next((r for r in rows if _row_width(r) + FRAME_GAP + group.width <= limit), None)
        if row is None:
            rows.append([[group]])
        else:
            row.append([group])
    return rows


def _room_under(column: Column, row: Row, group: _Group) -> bool:
    used = math.fsum(g.height + FRAME_GAP for g in column)
    return group.width <= column[0].width and used + group.height <= row[0][0].height


def _row_width(row: Row) -> float:
    return math.fsum(column[0].width for column in row) + FRAME_GAP * (len(row) - 1)


def _place(group: _Group, x: float, y: float, width: float, frames: list[Frame],
           positions: dict[str, Position]) -> None:
    """Put ``group``'s frame at (x, y), ``width`` wide; its boxes are centred across that width."""
    shift = (width - group.width) / 2
    cluster, namespace = group.key
    frames.append(Frame(cluster, namespace, group.label, group.title, x, y, width, group.height, tuple(group.nodes)))
    for node, (dx, dy) in group.offsets.items():
        positions[node] = (x + shift + dx, y + dy)
