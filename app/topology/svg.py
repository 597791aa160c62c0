"""The topology drawn as SVG: a legend, a frame per namespace, boxes coloured by status, arrows.

Given an ``Arrangement`` (``grouping.arrange``) each namespace's objects sit in a labelled frame
and the cluster-scoped ones in a band of their own; given bare positions the boxes are drawn
where they say, without frames. Each relation type has its colour, implicit ones are dashed, and
arrows between frames are drawn fainter than those inside one. Placeholders (missing objects)
have a dashed border, a hidden Secret (one the reader may not open) says so under its kind.
Names too long for their box end in an ellipsis; every box, frame and arrow carries a
``<title>`` (a tooltip) with the full kind, name, namespace and id.

Built with ElementTree, so every name is escaped; characters XML cannot hold are dropped. The same
graph and arrangement always give the same bytes: everything is drawn in sorted order.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping

import networkx as nx

from app.topology import legend
from app.topology.grouping import Arrangement, Frame, unframed
from app.topology.layout import NODE_HEIGHT, NODE_WIDTH, Position
from app.topology.lettering import clean, fit
from app.topology.palette import FILL, IMPLICIT_DASH, MISSING_DASH, MUTED, STROKE, TEXT, edge_colour, status_colours

__all__ = ["FILL", "STROKE", "clean", "kind_label", "picture", "to_svg"]

SVG_NS = "http://www.w3.org/2000/svg"
MARGIN = 40.0
LEGEND_GAP = 32.0  # between the legend and the first frame
TEXT_ROOM = NODE_WIDTH - 12  # the widest a line inside a box may be
FAINT = "0.4"  # opacity of an arrow between two frames
Placement = Arrangement | Mapping[str, Position]


def kind_label(attrs: Mapping[str, object]) -> str:
    """The line above a node's name: its kind, and whether it is hidden from the reader."""
    kind = str(attrs.get("kind", ""))
    return f"{kind} (hidden)" if attrs.get("hidden") else kind


def node_title(node: str, attrs: Mapping[str, object]) -> str:
    """A box's tooltip: what the box shortens, one fact a line."""
    lines = [f"{attrs.get('kind', '')} {attrs.get('name', '')}"]
    if attrs.get("namespace"):
        lines.append(f"namespace {attrs['namespace']}")
    if attrs.get("cluster"):
        lines.append(f"cluster {attrs['cluster']}")
    lines.append(f"status {attrs.get('status', 'unknown')}")
    if attrs.get("missing"):
        lines.append("missing: referenced, not found")
    if attrs.get("hidden"):
        lines.append("hidden: its values are not yours to read")
    lines.append(f"id {node}")
    return clean("\n".join(lines))


def to_svg(graph: nx.MultiDiGraph, placement: Placement) -> str:
    return picture(graph, placement)[0]


def picture(graph: nx.MultiDiGraph, placement: Placement) -> tuple[str, int, int]:
    """The SVG text, and its width and height in pixels."""
    arranged = placement if isinstance(placement, Arrangement) else unframed(placement)
    found = legend.relations(graph)
    inner = max(arranged.width, legend.MIN_WIDTH)
    legend_height = legend.height(found, inner)
    width = math.ceil(inner + 2 * MARGIN)
    height = math.ceil(2 * MARGIN + legend_height + LEGEND_GAP + arranged.height)
    root = ET.Element("svg", {
        "xmlns": SVG_NS, "width": str(width), "height": str(height), "viewBox": f"0 0 {width} {height}",
        "font-family": "DejaVu Sans, Arial, sans-serif",
    })
    markers = _markers(ET.SubElement(root, "defs"), found)
    ET.SubElement(root, "rect", {"x": "0", "y": "0", "width": str(width), "height": str(height), "fill": "#ffffff"})
    legend.draw(root, found, markers, MARGIN, MARGIN, inner)
    dx, dy = MARGIN, MARGIN + legend_height + LEGEND_GAP
    frames = ET.SubElement(root, "g", {"class": "frames"})
    for frame in arranged.frames:
        _frame(frames, frame, dx, dy)
    shifted = {n: (x + dx, y + dy) for n, (x, y) in arranged.positions.items()}
    _edges(root, graph, shifted, {node: i for i, f in enumerate(arranged.frames) for node in f.nodes}, markers)
    nodes = ET.SubElement(root, "g", {"class": "nodes"})
    for node in sorted(graph):
        if node in shifted:
            _node(nodes, node, graph.nodes[node], shifted[node])
    return ET.tostring(root, encoding="unicode"), width, height


def _markers(defs: ET.Element, found: list[legend.Relation]) -> dict[str, str]:
    """One arrowhead per relation type, in its colour; type -> the marker's id."""
    ids: dict[str, str] = {}
    for index, relation in enumerate(found):
        ids[relation.type] = f"arrow-{index}"
        marker = ET.SubElement(defs, "marker", {
            "id": ids[relation.type], "viewBox": "0 0 10 10", "refX": "10", "refY": "5", "markerWidth": "7",
            "markerHeight": "7", "orient": "auto-start-reverse",
        })
        ET.SubElement(marker, "path", {"d": "M 0 0 L 10 5 L 0 10 z", "fill": edge_colour(relation.type)})
    return ids


def _frame(parent: ET.Element, frame: Frame, dx: float, dy: float) -> None:
    band = frame.namespace is None
    group = ET.SubElement(parent, "g", {"class": "frame cluster-scoped" if band else "frame namespace"})
    if frame.cluster:
        group.set("data-cluster", clean(frame.cluster))
    if frame.namespace is not None:
        group.set("data-namespace", clean(frame.namespace))
    ET.SubElement(group, "title").text = clean(frame.title)
    ET.SubElement(group, "rect", {
        "x": f"{frame.x + dx:.1f}", "y": f"{frame.y + dy:.1f}", "width": f"{frame.width:.1f}",
        "height": f"{frame.height:.1f}", "rx": "10", "fill": "#eef1f6" if band else "#f6f8fb",
        "stroke": "#9aa4b5" if band else "#b8c0cc", "stroke-width": "1.5",
    })
    label = ET.SubElement(group, "text", {
        "x": f"{frame.x + dx + 16:.1f}", "y": f"{frame.y + dy + 24:.1f}", "font-size": "14", "font-weight": "bold",
        "fill": "#39414f",
    })
    label.text = clean(frame.label)


def _edges(root: ET.Element, graph: nx.MultiDiGraph, centres: Mapping[str, Position], frame_of: Mapping[str, int],
           markers: Mapping[str, str]) -> None:
    """Arrows between frames first and faint, then those inside a frame over them."""
    between = ET.SubElement(root, "g", {"class": "edges between", "stroke-opacity": FAINT})
    within = ET.SubElement(root, "g", {"class": "edges within"})
    for source, target, attrs in sorted(graph.edges(data=True), key=lambda e: (e[0], e[1], e[2]["type"])):
        if source in centres and target in centres and source != target:
            parent = within if frame_of.get(source) == frame_of.get(target) else between
            title = f"{source} {attrs['label']} {target}"
            _edge(parent, centres[source], centres[target], attrs, markers[str(attrs["type"])], title)


def _edge(parent: ET.Element, start: Position, end: Position, attrs: Mapping[str, object], marker: str,
          title: str) -> None:
    x2, y2 = _border(start, end)
    line = ET.SubElement(parent, "line", {
        "x1": f"{start[0]:.1f}", "y1": f"{start[1]:.1f}", "x2": f"{x2:.1f}", "y2": f"{y2:.1f}",
        "stroke": edge_colour(str(attrs["type"])), "stroke-width": "1.3", "marker-end": f"url(#{marker})",
        "class": f"edge {clean(attrs['type'])}",
    })
    if attrs.get("implicit"):
        line.set("stroke-dasharray", IMPLICIT_DASH)
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
    fill, stroke = status_colours(status)
    group = ET.SubElement(parent, "g", {"class": f"node {clean(status)}", "data-id": clean(node)})
    ET.SubElement(group, "title").text = node_title(node, attrs)
    rect = ET.SubElement(group, "rect", {
        "x": f"{centre[0] - NODE_WIDTH / 2:.1f}", "y": f"{centre[1] - NODE_HEIGHT / 2:.1f}",
        "width": f"{NODE_WIDTH:.0f}", "height": f"{NODE_HEIGHT:.0f}", "rx": "6", "fill": fill, "stroke": stroke,
        "stroke-width": "1.5",
    })
    if attrs.get("missing"):
        rect.set("stroke-dasharray", MISSING_DASH)
    kind = ET.SubElement(group, "text", {
        "x": f"{centre[0]:.1f}", "y": f"{centre[1] - 5:.1f}", "text-anchor": "middle", "font-size": "10",
        "fill": MUTED,
    })
    kind.text = fit(clean(kind_label(attrs)), 10, TEXT_ROOM)
    name = ET.SubElement(group, "text", {
        "x": f"{centre[0]:.1f}", "y": f"{centre[1] + 11:.1f}", "text-anchor": "middle", "font-size": "12",
        "fill": TEXT,
    })
    name.text = fit(clean(attrs.get("name", "")), 12, TEXT_ROOM)
