from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import networkx as nx

from app.topology import LiveTopology, build, layout
from app.topology.layout import NODE_HEIGHT, NODE_WIDTH
from tests.topology.fixtures import Objects

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import json, sys
from app.topology import build, layout
objects = json.load(open(sys.argv[1]))
positions = layout(build(objects), seed=int(sys.argv[2]))
print(json.dumps(sorted((k, list(v)) for k, v in positions.items())))
"""


def as_lists(positions: dict[str, tuple[float, float]]) -> list[list[object]]:
    return [[k, list(v)] for k, v in sorted(positions.items())]


def test_every_node_is_placed_and_calls_agree(graph: nx.MultiDiGraph) -> None:
    first = layout(graph)
    assert first.keys() == set(graph.nodes)
    assert layout(graph) == first
    assert layout(graph, seed=7) == layout(graph, seed=7)
    assert layout(graph, seed=7) != first


def test_layout_ignores_insertion_order(objects: Objects) -> None:
    reordered = {kind: list(reversed(items)) for kind, items in reversed(list(objects.items()))}
    assert layout(build(reordered)) == layout(build(objects))
    assert layout(LiveTopology(reordered).graph) == layout(build(objects))


def test_layout_is_identical_in_other_processes(objects: Objects, tmp_path: Path) -> None:
    data = tmp_path / "objects.json"
    data.write_text(json.dumps(objects))
    expected = {seed: as_lists(layout(build(objects), seed=seed)) for seed in (0, 3)}
    for hash_seed, seed in (("1", 0), ("4242", 0), ("99", 3)):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        result = subprocess.run([sys.executable, "-c", SCRIPT, str(data), str(seed)], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=120, check=True)
        assert json.loads(result.stdout) == expected[seed]


def test_no_two_nodes_overlap(graph: nx.MultiDiGraph) -> None:
    points = sorted(layout(graph).values())
    assert len(set(points)) == len(points)
    for i, (x1, y1) in enumerate(points):
        for x2, y2 in points[i + 1:]:
            assert abs(x1 - x2) >= NODE_WIDTH or abs(y1 - y2) >= NODE_HEIGHT


def test_layers_run_from_ingress_down_to_nodes(graph: nx.MultiDiGraph) -> None:
    positions = layout(graph)

    def top(kind: str) -> float:
        return min(y for n, (_, y) in positions.items() if graph.nodes[n]["kind"] == kind)

    def bottom(kind: str) -> float:
        return max(y for n, (_, y) in positions.items() if graph.nodes[n]["kind"] == kind)

    order = ["Ingress", "Service", "Deployment", "ReplicaSet", "Pod", "ConfigMap", "PersistentVolume", "Node"]
    for upper, lower in zip(order, order[1:], strict=False):
        assert bottom(upper) < top(lower), (upper, lower)


def test_empty_graph() -> None:
    assert layout(nx.MultiDiGraph()) == {}
