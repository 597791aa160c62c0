"""The topology drawn as SVG: boxes coloured by status at the layout's positions, arrows between.

Built with ElementTree, so every name is escaped; characters XML cannot hold at all are dropped.
Implicit edges are dashed, placeholders (missing objects) have a dashed border, a hidden Secret
(one the reader may not open) says so under its kind; each box and arrow carries a ``<title>``
with the full id, shown as a tooltip.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping

import networkx as nx

from app.topology.layout import NODE_HEIGHT, NODE_WIDTH, Position

SVG_NS = "http://www.w3.org/2000/svg"
MARGIN = 40.0
FILL = {"healthy": "#d8f3e3", "degraded": "#fdf0cf", "failed": "#fadbdb", "unknown": "#e6e9ef"}
STROKE = {"healthy": "#2e9e5b", "degraded": "#d19a10", "failed": "#d64545", "unknown": "#8a94a6"}
MAX_NAME = 22
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean(text: object) -> str:
    return _INVALID_XML.sub("", str(text))


def short(name: str, limit: int = MAX_NAME) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "\u2026"


def kind_label(attrs: Mapping[str, object]) -> str:
    """The line above a node's name: its kind, and whether it is hidden from the reader."""
    kind = str(attrs.get("kind", ""))
    return f"{kind} (hidden)" if attrs.get("hidden") else kind


def canvas(positions: Mapping[str, Position]) -> tuple[int, int, float, float]:
    """Width and height of the picture, and the shift that moves the layout inside its margin."""
    if not positions:
        return int(2 * MARGIN), int(2 * MARGIN), 0.0, 0.0
    xs = [p[0] for p in positions.values()]
    ys = [p[1] for p in positions.values()]
    dx = MARGIN + NODE_WIDTH / 2 - min(xs)
    dy = MARGIN + NODE_HEIGHT / 2 - min(ys)
    width = math.ceil(max(xs) - min(xs) + NODE_WIDTH + 2 * MARGIN)
    height = math.ceil(max(ys) - min(ys) + NODE_HEIGHT + 2 * MARGIN)
    return width, height, dx, dy


def to_svg(graph: nx.MultiDiGraph, positions: Mapping[str, Position]) -> str:
    width, height, dx, dy = canvas(positions)
    root = ET.Element("svg", {
        "xmlns": SVG_NS, "width": str(width), "height": str(height), "viewBox": f"0 0 {width} {height}",
        "font-family": "DejaVu Sans, Arial, sans-serif",
    })
    defs = ET.SubElement(root, "defs")
    marker = ET.SubElement(defs, "marker", {
        "id": "arrow", "viewBox": "0 0 10 10", "refX": "10", "refY": "5", "markerWidth": "8", "markerHeight": "8",
        "orient": "auto-start-reverse",
    })
    ET.SubElement(marker, "path", {"d": "M 0 0 L 10 5 L 0 10 z", "fill": "#5b6475"})
    ET.SubElement(root, "rect", {"x": "0", "y": "0", "width": str(width), "height": str(height), "fill": "#ffffff"})
    shifted = {n: (x + dx, y + dy) for n, (x, y) in positions.items()}
    edges = ET.SubElement(root, "g", {"class": "edges", "stroke": "#5b6475", "stroke-width": "1.2"})
    for source, target, attrs in sorted(graph.edges(data=True), key=lambda e: (e[0], e[1], e[2]["type"])):
        if source in shifted and target in shifted and source != target:
            _edge(edges, shifted[source], shifted[target], attrs, f"{source} {attrs['label']} {target}")
    nodes = ET.SubElement(root, "g", {"class": "nodes"})
    for node in sorted(graph):
        if node in shifted:
            _node(nodes, node, graph.nodes[node], shifted[node])
    return ET.tostring(root, encoding="unicode")


def _edge(parent: ET.Element, start: Position, end: Position, attrs: Mapping[str, object], title: str) -> None:
    x2, y2 = _border(start, end)
    line = ET.SubElement(parent, "line", {
        "x1": f"{start[0]:.1f}", "y1": f"{start[1]:.1f}", "x2": f"{x2:.1f}", "y2": f"{y2:.1f}",
        "marker-end": "url(#arrow)", "class": f"edge {clean(attrs['type'])}",
    })
    if attrs.get("implicit"):
        line.set("stroke-dasharray", "5 4")
    ET.SubElement(line, "title").text = clean(title)


def _border(start: Position, end: Position) -> Position:
    """Where the segment from ``start`` to the centre ``end`` enters ``end``'s box."""
    vx, vy = start[0] - end[0], start[1] - end[1]
    if vx == 0 and vy == 0:
        return end
    scale = min(
        (NODE_WIDTH / 2) / abs(vx) if vx else math.inf,
        (NODE_HEIGHT / 2) / abs(vy) if vy else math.inf,
    )
    return end[0] + vx * scale, end[1] + vy * scale


def _node(parent: ET.Element, node: str, attrs: Mapping[str, object], centre: Position) -> None:
    status = str(attrs.get("status", "unknown"))
    group = ET.SubElement(parent, "g", {"class": f"node {clean(status)}"})
    ET.SubElement(group, "title").text = clean(f"{node} ({status})")
    rect = ET.SubElement(group, "rect", {
        "x": f"{centre[0] - NODE_WIDTH / 2:.1f}", "y": f"{centre[1] - NODE_HEIGHT / 2:.1f}",
        "width": f"{NODE_WIDTH:.0f}", "height": f"{NODE_HEIGHT:.0f}", "rx": "6",
        "fill": FILL.get(status, FILL["unknown"]), "stroke": STROKE.get(status, STROKE["unknown"]),
        "stroke-width": "1.5",
    })
    if attrs.get("missing"):
        rect.set("stroke-dasharray", "4 3")
    kind = ET.SubElement(group, "text", {
        "x": f"{centre[0]:.1f}", "y": f"{centre[1] - 5:.1f}", "text-anchor": "middle", "font-size": "10",
        "fill": "#5b6475",
    })
    kind.text = clean(kind_label(attrs))
    name = ET.SubElement(group, "text", {
        "x": f"{centre[0]:.1f}", "y": f"{centre[1] + 11:.1f}", "text-anchor": "middle", "font-size": "12",
        "fill": "#1d2330",
    })
    name.text = clean(short(str(attrs.get("name", ""))))
