"""The pictures' colours and line styles, shared by the SVG, its legend and the draw.io export.

Boxes are coloured by status. Each relation type has a colour of its own; implicit relations
(inferred from a selector or a bare name) are dashed, explicit ones solid, so two types never
look alike: the solid and the dashed ones each use distinct hues.
"""

from __future__ import annotations

STATUSES = ("healthy", "degraded", "failed", "unknown")
FILL = {"healthy": "#d8f3e3", "degraded": "#fdf0cf", "failed": "#fadbdb", "unknown": "#e6e9ef"}
STROKE = {"healthy": "#2e9e5b", "degraded": "#d19a10", "failed": "#d64545", "unknown": "#8a94a6"}
MISSING_DASH = "4 3"  # a placeholder's border: referenced, but not found
IMPLICIT_DASH = "6 4"  # an implicit relation's line
EDGE_COLOUR = {
    # explicit (solid)
    "owner": "#475467", "binds": "#15803d", "schedules": "#0e7490", "scales": "#a21caf", "grants": "#b91c1c",
    "endpoints": "#b45309",
    # implicit (dashed)
    "selects": "#2563eb", "routes": "#7c3aed", "tls": "#7c2d12", "mounts": "#0d9488", "env": "#ea580c",
    "pulls": "#db2777", "runs-as": "#4d7c0f",
}  # fmt: skip
OTHER_EDGE = "#5b6475"
TEXT = "#1d2330"
MUTED = "#5b6475"


def edge_colour(type_: str) -> str:
    return EDGE_COLOUR.get(type_, OTHER_EDGE)


def status_colours(status: str) -> tuple[str, str]:
    """(fill, stroke) of a box of ``status``; an unheard-of status is drawn as unknown."""
    return FILL.get(status, FILL["unknown"]), STROKE.get(status, STROKE["unknown"])
