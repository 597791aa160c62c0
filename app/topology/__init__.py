"""Topology: what is connected to what in a cluster, and what breaks if something goes.

Pure functions over the objects of the watch-fed cache (no I/O): ``build`` a graph, ``layout`` it,
ask it questions (``queries``), keep it current from watch events (``LiveTopology``), compare two
(``diff``) and export it (``exports``).
"""

from app.topology.builder import build
from app.topology.diff import diff
from app.topology.exports import to_drawio, to_graphml, to_json, to_png, to_svg
from app.topology.incremental import LiveTopology, TopologyDelta
from app.topology.layout import layout
from app.topology.queries import blast_radius, dependency_path, fleet_view, orphans, subgraph

__all__ = [
    "LiveTopology", "TopologyDelta", "blast_radius", "build", "dependency_path", "diff", "fleet_view", "layout",
    "orphans", "subgraph", "to_drawio", "to_graphml", "to_json", "to_png", "to_svg",
]
