"""The picture's legend: what each status colour and marker means, and each relation type drawn.

Two sections, each a header and cells flowing in columns as wide as the picture allows:
*Status* (the four colours, the dashed border of a missing object, the mark of a hidden Secret)
and *Relations* (one cell per edge type present in the graph, its line as drawn and its labels;
left out when there is none), then a line on how to read the arrows.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass

import networkx as nx

from app.topology.lettering import clean, fit
from app.topology.palette import IMPLICIT_DASH, MISSING_DASH, MUTED, STATUSES, TEXT, edge_colour, status_colours

PADDING = 16.0
HEADER_WIDTH = 96.0
CELL_WIDTH = 270.0
ROW_HEIGHT = 26.0
SECTION_GAP = 8.0  # between two sections
SAMPLE_WIDTH = 40.0
TEXT_SIZE = 12.0
MIN_WIDTH = HEADER_WIDTH + 3 * CELL_WIDTH + 2 * PADDING  # the legend's own width when the picture is narrower
NOTE = ("Arrows read from source to target as their label says (a Deployment owns a ReplicaSet). "
        "Dashed: inferred from a selector or a name; solid: recorded by Kubernetes.")  # fmt: skip
MARKERS = (
    ("missing", "missing: referenced, not found"),
    ("hidden", "hidden: values you may not read"),
)


@dataclass(frozen=True)
class Relation:
    type: str
    labels: tuple[str, ...]
    implicit: bool

    @property
    def text(self) -> str:
        return self.type if self.labels == (self.type,) else f"{self.type} ({' / '.join(self.labels)})"


def relations(graph: nx.MultiDiGraph) -> list[Relation]:
    """The edge types in ``graph``, sorted, each with its labels and whether it is implicit."""
    labels: dict[str, set[str]] = {}
    implicit: dict[str, bool] = {}
    for _, _, attrs in graph.edges(data=True):
        type_ = str(attrs["type"])
        labels.setdefault(type_, set()).add(str(attrs.get("label") or type_))
        implicit[type_] = implicit.get(type_, False) or bool(attrs.get("implicit"))
    return [Relation(t, tuple(sorted(labels[t])), implicit[t]) for t in sorted(labels)]


def _columns(width: float) -> int:
    return max(1, math.floor((width - 2 * PADDING - HEADER_WIDTH) / CELL_WIDTH))


def _section_height(count: int, columns: int) -> float:
    """A section of ``count`` cells; none at all for no cells."""
    return math.ceil(count / columns) * ROW_HEIGHT + SECTION_GAP if count else 0.0


def height(found: list[Relation], width: float) -> float:
    """How tall the legend of these relations is at ``width``."""
    columns = _columns(width)
    sections = _section_height(len(STATUSES) + len(MARKERS), columns) + _section_height(len(found), columns)
    return 2 * PADDING + sections + ROW_HEIGHT


def draw(parent: ET.Element, found: list[Relation], markers: Mapping[str, str], x: float, y: float,
         width: float) -> None:
    """Draw the legend with its top left corner at (x, y); ``markers`` maps an edge type to its arrow's id."""
    box = ET.SubElement(parent, "g", {"class": "legend"})
    ET.SubElement(box, "rect", {
        "x": f"{x:.1f}", "y": f"{y:.1f}", "width": f"{width:.1f}", "height": f"{height(found, width):.1f}",
        "rx": "8", "fill": "#fbfcfe", "stroke": "#c9d0db",
    })
    columns = _columns(width)
    keys = [*((status, status) for status in STATUSES), *MARKERS]
    row = y + PADDING
    _header(box, "Status", x, row)
    for index, (key, text) in enumerate(keys):
        _status_cell(box, key, text, *_cell(index, columns, x, row))
    row += _section_height(len(keys), columns)
    if found:
        _header(box, "Relations", x, row)
    for index, relation in enumerate(found):
        _relation_cell(box, relation, markers[relation.type], *_cell(index, columns, x, row))
    row += _section_height(len(found), columns)
    _text(box, fit(NOTE, TEXT_SIZE - 1, width - 2 * PADDING), x + PADDING, row + 17, TEXT_SIZE - 1, MUTED)


def _header(parent: ET.Element, title: str, x: float, y: float) -> None:
    _text(parent, title, x + PADDING, y + 17, TEXT_SIZE, TEXT).set("font-weight", "bold")


def _cell(index: int, columns: int, x: float, y: float) -> tuple[float, float]:
    return (x + PADDING + HEADER_WIDTH + (index % columns) * CELL_WIDTH, y + (index // columns) * ROW_HEIGHT)


def _status_cell(parent: ET.Element, key: str, text: str, x: float, y: float) -> None:
    """A status colour, or a marker (``missing``, ``hidden``) on a box of any colour."""
    cell = ET.SubElement(parent, "g", {"class": f"legend-status {key}"})
    fill, stroke = ("#ffffff", MUTED) if key == "hidden" else status_colours(key)
    swatch = ET.SubElement(cell, "rect", {
        "x": f"{x:.1f}", "y": f"{y + 4:.1f}", "width": f"{SAMPLE_WIDTH - 6:.0f}", "height": "18", "rx": "4",
        "fill": fill, "stroke": stroke, "stroke-width": "1.5",
    })
    if key == "missing":
        swatch.set("stroke-dasharray", MISSING_DASH)
    if key == "hidden":
        _text(cell, "(hidden)", x + (SAMPLE_WIDTH - 6) / 2, y + 16, 7, MUTED).set("text-anchor", "middle")
    _text(cell, fit(text, TEXT_SIZE, CELL_WIDTH - SAMPLE_WIDTH - 12), x + SAMPLE_WIDTH + 4, y + 17, TEXT_SIZE, TEXT)


def _relation_cell(parent: ET.Element, relation: Relation, marker: str, x: float, y: float) -> None:
    cell = ET.SubElement(parent, "g", {"class": f"legend-edge {relation.type}"})
    ET.SubElement(cell, "title").text = clean(relation.text)
    sample = ET.SubElement(cell, "path", {
        "d": f"M {x:.1f} {y + 13:.1f} H {x + SAMPLE_WIDTH - 8:.1f}", "stroke": edge_colour(relation.type),
        "stroke-width": "1.6", "fill": "none", "marker-end": f"url(#{marker})",
    })
    if relation.implicit:
        sample.set("stroke-dasharray", IMPLICIT_DASH)
    shown = fit(clean(relation.text), TEXT_SIZE, CELL_WIDTH - SAMPLE_WIDTH - 12)
    _text(cell, shown, x + SAMPLE_WIDTH + 4, y + 17, TEXT_SIZE, TEXT)


def _text(parent: ET.Element, text: str, x: float, y: float, size: float, colour: str) -> ET.Element:
    element = ET.SubElement(parent, "text", {
        "x": f"{x:.1f}", "y": f"{y:.1f}", "font-size": f"{size:g}", "fill": colour,
    })
    element.text = text
    return element
