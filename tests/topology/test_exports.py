from __future__ import annotations

import io
import json
import struct
import xml.etree.ElementTree as ET

import networkx as nx
import pytest

from app.topology import build, layout, to_drawio, to_graphml, to_json, to_png, to_svg
from tests.topology.fixtures import pod

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def positions(graph: nx.MultiDiGraph) -> dict[str, tuple[float, float]]:
    return layout(graph)


def hostile_graph() -> nx.MultiDiGraph:
    """Names that must be escaped in XML, and a character XML cannot hold at all."""
    binding = {"metadata": {"name": "b", "namespace": "n"}, "roleRef": {"kind": "ClusterRole", "name": "r"},
               "subjects": [{"kind": "User", "name": 'eve<script>alert("x")</script>&\'\x07'}]}
    return build({"RoleBinding": [binding], "Pod": [pod("p&<q>", {"a": '"&<>'}, ns="n")]})


def test_json_shape(graph: nx.MultiDiGraph, positions: dict[str, tuple[float, float]]) -> None:
    data = to_json(graph, positions, {"generatedAt": "2026-01-01T00:00:00Z", "layoutSeed": 0, "namespace": None})
    assert data["meta"] == {"nodeCount": len(graph), "edgeCount": graph.number_of_edges(),
                            "generatedAt": "2026-01-01T00:00:00Z", "layoutSeed": 0, "namespace": None}
    node = next(n for n in data["nodes"] if n["id"] == "Deployment/shop/web")
    assert set(node) == {"id", "kind", "name", "namespace", "labels", "status", "missing", "hidden", "x", "y"}
    assert (node["kind"], node["name"], node["namespace"], node["status"]) == ("Deployment", "web", "shop", "healthy")
    assert (node["x"], node["y"]) == positions["Deployment/shop/web"]
    ids = [e["id"] for e in data["edges"]]
    assert len(ids) == len(set(ids)) == graph.number_of_edges() and ids == sorted(ids)
    edge = next(e for e in data["edges"] if e["id"] == "scales:HorizontalPodAutoscaler/shop/web->Deployment/shop/web")
    assert edge == {"id": edge["id"], "source": "HorizontalPodAutoscaler/shop/web", "target": "Deployment/shop/web",
                    "type": "scales", "label": "scales", "implicit": False}
    json.dumps(data)
    assert to_json(graph, positions)["meta"]["generatedAt"].endswith("Z")


def test_svg_is_well_formed_with_a_shape_and_label_per_node(graph: nx.MultiDiGraph, positions: dict) -> None:
    root = ET.fromstring(to_svg(graph, positions))
    assert root.tag == f"{SVG}svg"
    groups = root.findall(f".//{SVG}g[@class]")
    nodes = [g for g in groups if g.get("class", "").startswith("node ")]
    assert len(nodes) == len(graph)
    assert len(root.findall(f".//{SVG}line")) == graph.number_of_edges()
    failed = [g for g in nodes if g.get("class") == "node failed"]
    assert failed and all(g.find(f"{SVG}rect").get("fill") == "#fadbdb" for g in failed)  # type: ignore[union-attr]
    texts = {t.text for t in root.iter(f"{SVG}text")}
    assert "web" in texts and "Deployment" in texts


def test_svg_escapes_names() -> None:
    graph = hostile_graph()
    text = to_svg(graph, layout(graph))
    root = ET.fromstring(text)
    assert "<script>" not in text
    titles = {t.text for t in root.iter(f"{SVG}title")}
    assert any(t and 'eve<script>alert("x")</script>&\'' in t for t in titles)
    assert "p&<q>" in {t.text for t in root.iter(f"{SVG}text")}


def test_png_is_the_svg_rasterised(graph: nx.MultiDiGraph, positions: dict) -> None:
    root = ET.fromstring(to_svg(graph, positions))
    data = to_png(graph, positions)
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (int(root.get("width", "0")), int(root.get("height", "0")))
    hostile = hostile_graph()
    assert to_png(hostile, layout(hostile))[:8] == b"\x89PNG\r\n\x1a\n"


def test_drawio_document(graph: nx.MultiDiGraph, positions: dict) -> None:
    root = ET.fromstring(to_drawio(graph, positions))
    assert root.tag == "mxfile"
    model = root.find("diagram/mxGraphModel/root")
    assert model is not None
    cells = model.findall("mxCell")
    assert [c.get("id") for c in cells[:2]] == ["0", "1"] and cells[1].get("parent") == "0"
    vertices = [c for c in cells if c.get("vertex") == "1"]
    edges = [c for c in cells if c.get("edge") == "1"]
    assert len(vertices) == len(graph) and len(edges) == graph.number_of_edges()
    ids = {c.get("id") for c in vertices}
    assert all(e.get("source") in ids and e.get("target") in ids for e in edges)
    assert all(v.find("mxGeometry") is not None for v in vertices)
    hostile = hostile_graph()
    ET.fromstring(to_drawio(hostile, layout(hostile)))


def test_graphml_reads_back(graph: nx.MultiDiGraph) -> None:
    back = nx.read_graphml(io.BytesIO(to_graphml(graph).encode()))
    assert back.number_of_nodes() == graph.number_of_nodes()
    assert back.number_of_edges() == graph.number_of_edges()
    attrs = back.nodes["Deployment/shop/web"]
    assert json.loads(attrs["labels"])["app"] == "web" and attrs["status"] == "healthy"
    assert back.nodes["User//alice@example.com"]["uid"] == ""
    hostile = hostile_graph()
    assert nx.read_graphml(io.BytesIO(to_graphml(hostile).encode())).number_of_nodes() == len(hostile)
