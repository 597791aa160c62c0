"""The topology as JSON (Kubilitics' shape), SVG, PNG, draw.io and GraphML.

SVG and PNG take an ``Arrangement`` (``grouping.arrange``: objects framed by namespace, with a
legend) or bare positions. PNG is rasterised from the SVG by resvg (the ``resvg-py`` wheel bundles
it, no system library needed), so both show the same picture at the same size; a picture larger
than ``MAX_PNG_SIDE`` pixels on a side is scaled down to fit.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import networkx as nx
import resvg_py

from app.topology.grouping import arrange
from app.topology.layout import NODE_HEIGHT, NODE_WIDTH, Position
from app.topology.model import edge_record
from app.topology.svg import FILL, STROKE, Placement, clean, kind_label, picture, to_svg

__all__ = ["arrange", "to_json", "to_svg", "to_png", "to_drawio", "to_graphml"]

MAX_PNG_SIDE = 16_384


def to_json(graph: nx.MultiDiGraph, positions: Mapping[str, Position],
            meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``{nodes, edges, meta}``, sorted by id. ``meta`` may set ``generatedAt`` (default: now, UTC) and
    ``layoutSeed`` (default 0) and add keys of its own; the counts are always the graph's."""
    nodes = []
    for node in sorted(graph):
        attrs = graph.nodes[node]
        x, y = positions[node]
        nodes.append({
            "id": node, "kind": attrs["kind"], "name": attrs["name"], "namespace": attrs["namespace"],
            "labels": dict(attrs["labels"]), "status": attrs["status"], "missing": attrs.get("missing", False),
            "hidden": attrs.get("hidden", False), "x": x, "y": y,
        })
    edges = sorted((edge_record(u, v, attrs) for u, v, attrs in graph.edges(data=True)), key=lambda e: e["id"])
    extra = dict(meta or {})
    generated = extra.pop("generatedAt", None) or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    summary = {"nodeCount": len(nodes), "edgeCount": len(edges), "generatedAt": generated,
               "layoutSeed": extra.pop("layoutSeed", 0)}
    extra.pop("nodeCount", None)
    extra.pop("edgeCount", None)
    return {"nodes": nodes, "edges": edges, "meta": {**summary, **extra}}


def to_png(graph: nx.MultiDiGraph, placement: Placement) -> bytes:
    svg, width, height = picture(graph, placement)
    side = max(width, height)
    zoom = MAX_PNG_SIDE / side if side > MAX_PNG_SIDE else None
    return bytes(resvg_py.svg_to_bytes(svg_string=svg, zoom=zoom))


def to_drawio(graph: nx.MultiDiGraph, positions: Mapping[str, Position]) -> str:
    """A draw.io document: one vertex per object at its layout position, one edge per relation."""
    mxfile = ET.Element("mxfile", {"host": "Fleetgraph", "type": "device"})
    diagram = ET.SubElement(mxfile, "diagram", {"id": "topology", "name": "Topology"})
    model = ET.SubElement(diagram, "mxGraphModel", {
        "grid": "1", "gridSize": "10", "guides": "1", "tooltips": "1", "connect": "1", "arrows": "1",
        "fold": "1", "page": "0", "pageScale": "1", "math": "0", "shadow": "0",
    })
    root = ET.SubElement(model, "root")
    ET.SubElement(root, "mxCell", {"id": "0"})
    ET.SubElement(root, "mxCell", {"id": "1", "parent": "0"})
    cells: dict[str, str] = {}
    for index, node in enumerate(sorted(graph)):
        attrs = graph.nodes[node]
        cells[node] = f"n{index}"
        status = str(attrs["status"])
        style = (f"rounded=1;whiteSpace=wrap;html=0;fillColor={FILL.get(status, FILL['unknown'])};"
                 f"strokeColor={STROKE.get(status, STROKE['unknown'])};")
        if attrs.get("missing"):
            style += "dashed=1;"
        cell = ET.SubElement(root, "mxCell", {
            "id": cells[node], "value": clean(f"{kind_label(attrs)}\n{attrs['name']}"), "style": style, "vertex": "1",
            "parent": "1",
        })
        x, y = positions[node]
        ET.SubElement(cell, "mxGeometry", {
            "x": f"{x - NODE_WIDTH / 2:.1f}", "y": f"{y - NODE_HEIGHT / 2:.1f}", "width": f"{NODE_WIDTH:.0f}",
            "height": f"{NODE_HEIGHT:.0f}", "as": "geometry",
        })
    edges = sorted(graph.edges(data=True), key=lambda e: (e[0], e[1], e[2]["type"]))
    for index, (source, target, attrs) in enumerate(edges):
        style = "endArrow=classic;html=0;rounded=0;" + ("dashed=1;" if attrs.get("implicit") else "")
        cell = ET.SubElement(root, "mxCell", {
            "id": f"e{index}", "value": clean(attrs["label"]), "style": style, "edge": "1", "parent": "1",
            "source": cells[source], "target": cells[target],
        })
        ET.SubElement(cell, "mxGeometry", {"relative": "1", "as": "geometry"})
    return ET.tostring(mxfile, encoding="unicode")


def to_graphml(graph: nx.MultiDiGraph) -> str:
    """GraphML through networkx's writer: labels become a JSON string, None an empty string, and
    characters XML cannot hold are dropped from ids and values."""
    flat = nx.MultiDiGraph()
    flat.add_nodes_from((clean(n), _flatten(attrs)) for n, attrs in sorted(graph.nodes(data=True)))
    flat.add_edges_from(
        (clean(u), clean(v), k, _flatten(attrs)) for u, v, k, attrs in sorted(graph.edges(keys=True, data=True))
    )
    return "\n".join(nx.generate_graphml(flat))


def _flatten(attrs: Mapping[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in attrs.items():
        if value is None:
            flat[key] = ""
        elif isinstance(value, str):
            flat[key] = clean(value)
        elif isinstance(value, bool | int | float):
            flat[key] = value
        else:
            flat[key] = json.dumps(value, sort_keys=True, default=str)
    return flat
