"""The topology picture (the SVG and PNG exports): each namespace framed, a legend, names that fit
their boxes, nothing overlapping, and the same bytes every time.

The picture kept in docs/ is the demo's first cluster (kubesim's ``small`` profile with the demo's
seed) as a reader without ``secrets:read`` sees it, drawn from a fixed copy of its objects
(``demo_cluster.json``). ``python -m tests.topology.test_picture`` draws it again; with
``--objects`` it first copies the objects from kubesim again.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from itertools import combinations
from pathlib import Path

import networkx as nx
import pytest

from app.k8s import secret_policy
from app.topology import build
from app.topology.layout import NODE_WIDTH
from app.topology.lettering import text_width
from app.topology.views import project_view
from resolvers.topology import KINDS, export, render
from tests.topology.fixtures import lab_objects, pod

ROOT = Path(__file__).resolve().parents[2]
OBJECTS = Path(__file__).with_name("demo_cluster.json")
KEPT_SVG = ROOT / "docs" / "topology.svg"
KEPT_PNG = ROOT / "docs" / "topology.png"
DEMO_SEED = 42  # the seed app/demo_fleet.py starts its clusters with
SVG = "{http://www.w3.org/2000/svg}"
SCRIPT = """
import hashlib, json, sys
from app.k8s import secret_policy
from app.topology import build
from app.topology.exports import arrange, to_svg
graph = build(json.load(open(sys.argv[1])), kinds=json.loads(sys.argv[2]))
for _, attrs in graph.nodes(data=True):
    if secret_policy.hides(attrs, False):
        attrs["hidden"] = True
print(hashlib.sha256(to_svg(graph, arrange(graph, int(sys.argv[3]))).encode()).hexdigest())
"""
Box = tuple[float, float, float, float]  # left, top, right, bottom


def demo_graph(objects: dict[str, list[dict]] | None = None) -> nx.MultiDiGraph:
    """The demo cluster's graph as the API builds it for a reader whose Secrets are hidden."""
    graph = build(objects if objects is not None else json.loads(OBJECTS.read_text()), kinds=KINDS)
    for _, attrs in graph.nodes(data=True):
        if secret_policy.hides(attrs, False):
            attrs["hidden"] = True
    return graph


def drawn(graph: nx.MultiDiGraph, fmt: str = "SVG", seed: int = 0) -> str:
    """The export the API answers ``topologyExport(format: ...)`` with."""
    return export(render(graph, seed), fmt)[2]


@pytest.fixture(scope="module")
def demo() -> nx.MultiDiGraph:
    return demo_graph()


@pytest.fixture(scope="module")
def picture(demo: nx.MultiDiGraph) -> ET.Element:
    return ET.fromstring(drawn(demo))


def box(rect: ET.Element | None) -> Box:
    assert rect is not None
    x, y = float(rect.get("x", "0")), float(rect.get("y", "0"))
    return x, y, x + float(rect.get("width", "0")), y + float(rect.get("height", "0"))


def overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def inside(inner: Box, outer: Box) -> bool:
    return outer[0] <= inner[0] and inner[2] <= outer[2] and outer[1] <= inner[1] and inner[3] <= outer[3]


def frames(root: ET.Element) -> dict[tuple[str, str | None], Box]:
    """(cluster, namespace) -> its frame; namespace None is the band of cluster-scoped objects."""
    found = {}
    for group in root.iter(f"{SVG}g"):
        if group.get("class", "").startswith("frame "):
            key = (group.get("data-cluster", ""), group.get("data-namespace"))
            assert key not in found, f"two frames for {key}"
            found[key] = box(group.find(f"{SVG}rect"))
    return found


def nodes(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-id", ""): g for g in root.iter(f"{SVG}g") if g.get("class", "").startswith("node ")}


def legend_types(root: ET.Element) -> list[str]:
    return [g.get("class", "").split(" ", 1)[1] for g in root.iter(f"{SVG}g")
            if g.get("class", "").startswith("legend-edge ")]  # fmt: skip


def assert_framed_without_overlaps(graph: nx.MultiDiGraph, root: ET.Element) -> None:
    """Every box in its own frame, no two boxes and no two frames overlapping, all on the canvas."""
    found = frames(root)
    drawn_nodes = nodes(root)
    assert drawn_nodes.keys() == set(graph)
    canvas = (0.0, 0.0, float(root.get("width", "0")), float(root.get("height", "0")))
    boxes = {node: box(group.find(f"{SVG}rect")) for node, group in drawn_nodes.items()}
    for node, where in boxes.items():
        attrs = graph.nodes[node]
        frame = found[(attrs.get("cluster") or "", attrs.get("namespace") or None)]
        assert inside(where, frame), node
    legend = box(next(g for g in root.iter(f"{SVG}g") if g.get("class") == "legend").find(f"{SVG}rect"))
    for first, second in combinations([legend, *found.values()], 2):
        assert not overlap(first, second), (first, second)
    for (one, first), (other, second) in combinations(sorted(boxes.items()), 2):
        assert not overlap(first, second), (one, other)
    assert all(inside(b, canvas) for b in [legend, *found.values(), *boxes.values()])


def text_box(text: ET.Element) -> Box:
    size = float(text.get("font-size", "0"))
    width = text_width(text.text or "", size, bold=text.get("font-weight") == "bold")
    left = float(text.get("x", "0")) - (width / 2 if text.get("text-anchor") == "middle" else 0)
    base = float(text.get("y", "0"))
    return left, base - 0.8 * size, left + width, base + 0.2 * size


def assert_legend_lines_apart(root: ET.Element) -> None:
    legend = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "legend")
    outline = box(legend.find(f"{SVG}rect"))
    texts = [(t.text, text_box(t)) for t in legend.iter(f"{SVG}text")]
    assert all(inside(where, outline) for _, where in texts)
    for (one, first), (other, second) in combinations(texts, 2):
        assert not overlap(first, second), (one, other)


def test_the_kept_picture_is_the_demo_cluster_drawn_again(demo: nx.MultiDiGraph) -> None:
    svg = drawn(demo)
    assert KEPT_SVG.read_bytes() == svg.encode(), "docs/topology.svg is stale: python -m tests.topology.test_picture"
    root = ET.fromstring(svg)
    png = KEPT_PNG.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    assert struct.unpack(">II", png[16:24]) == (int(root.get("width", "0")), int(root.get("height", "0")))


def test_the_picture_is_the_same_in_other_processes_and_for_any_input_order(demo: nx.MultiDiGraph) -> None:
    pictures = {seed: drawn(demo, "SVG", seed) for seed in (0, 5)}
    assert pictures[0] != pictures[5], "another layout seed arranges the frames' boxes differently"
    expected = {seed: hashlib.sha256(svg.encode()).hexdigest() for seed, svg in pictures.items()}
    for hash_seed, seed in (("1", 0), ("4242", 0), ("99", 5)):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        command = [sys.executable, "-c", SCRIPT, str(OBJECTS), json.dumps(KINDS), str(seed)]
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True)
        assert result.stdout.strip() == expected[seed], (hash_seed, seed)
    objects = json.loads(OBJECTS.read_text())
    reordered = {kind: list(reversed(items)) for kind, items in reversed(list(objects.items()))}
    assert drawn(demo_graph(reordered)) == drawn(demo)


def test_each_namespace_frame_holds_its_objects_and_nothing_overlaps(
    demo: nx.MultiDiGraph, picture: ET.Element
) -> None:
    namespaces = {attrs["namespace"] for _, attrs in demo.nodes(data=True)}
    assert {namespace for _, namespace in frames(picture)} == namespaces
    assert_framed_without_overlaps(demo, picture)
    labels = {g.get("data-namespace"): g.find(f"{SVG}text") for g in picture.iter(f"{SVG}g")
              if g.get("class") == "frame namespace"}  # fmt: skip
    assert {n: t.text for n, t in labels.items() if t is not None} == {
        n: f"namespace {n}" for n in namespaces if n is not None
    }
    for group in nodes(picture).values():
        outline = box(group.find(f"{SVG}rect"))
        assert all(inside(text_box(t), outline) for t in group.iter(f"{SVG}text")), group.get("data-id")


def test_five_default_service_accounts_sit_in_five_namespace_frames(
    demo: nx.MultiDiGraph, picture: ET.Element
) -> None:
    accounts = sorted(n for n, a in demo.nodes(data=True) if a["kind"] == "ServiceAccount" and a["name"] == "default")
    assert len(accounts) >= 5
    found = frames(picture)
    drawn_nodes = nodes(picture)
    holders = set()
    for account in accounts:
        where = box(drawn_nodes[account].find(f"{SVG}rect"))
        holding = [key for key, frame in found.items() if inside(where, frame)]
        assert holding == [("", demo.nodes[account]["namespace"])], account
        holders.add(holding[0])
    assert len(holders) == len(accounts)
    titles = {drawn_nodes[a].findtext(f"{SVG}title") for a in accounts}
    assert len(titles) == len(accounts), "each tooltip says which namespace its ServiceAccount is in"


def test_frames_of_several_clusters_are_apart() -> None:
    objects = json.loads(OBJECTS.read_text())
    chosen = (("cls_a", "prod-eu", "shop"), ("cls_b", "staging", "shop"), ("cls_b", "staging", "payments"))
    view = project_view((cid, name, ns, build(objects, namespace=ns, kinds=KINDS)) for cid, name, ns in chosen)
    root = ET.fromstring(drawn(view))
    assert_framed_without_overlaps(view, root)
    labels = {g.findtext(f"{SVG}text") for g in root.iter(f"{SVG}g") if g.get("class", "").startswith("frame ")}
    assert labels == {
        "namespace shop (cluster prod-eu)", "namespace shop (cluster staging)", "namespace payments (cluster staging)",
        "cluster prod-eu: cluster-scoped objects", "cluster staging: cluster-scoped objects",
    }


def test_many_namespaces_of_all_sizes_pack_without_overlaps() -> None:
    objects: dict[str, list[dict]] = {"Pod": [], "ConfigMap": [], "Namespace": []}
    for index in range(17):
        namespace = f"team-{index:02d}"
        objects["Namespace"].append({"metadata": {"name": namespace}, "status": {"phase": "Active"}})
        for number in range((index * 7) % 23 + 1):
            volumes = [{"name": "c", "configMap": {"name": f"config-{number % 3}"}}]
            objects["Pod"].append(pod(f"app-{number}", {"app": "a"}, ns=namespace, volumes=volumes))
        configs = [{"metadata": {"name": f"config-{n}", "namespace": namespace}} for n in range(index % 4)]
        objects["ConfigMap"] += configs
    graph = build(objects)
    root = ET.fromstring(drawn(graph))
    assert_framed_without_overlaps(graph, root)
    width, height = float(root.get("width", "0")), float(root.get("height", "0"))
    assert width < 3 * height and height < 3 * width, "frames are packed in rows, not in one long line"


def test_the_legend_lists_exactly_the_edge_types_present(demo: nx.MultiDiGraph, picture: ET.Element) -> None:
    lab = build(lab_objects())
    quiet = build({"ConfigMap": [{"metadata": {"name": "alone", "namespace": "n"}}]})
    for graph, root in ((demo, picture), (lab, ET.fromstring(drawn(lab))), (quiet, ET.fromstring(drawn(quiet)))):
        types = sorted({attrs["type"] for _, _, attrs in graph.edges(data=True)})
        assert legend_types(root) == types
        assert ("Relations" in [t.text for t in root.iter(f"{SVG}text")]) == bool(types)
        assert_legend_lines_apart(root)
    assert set(legend_types(picture)) != set(legend_types(ET.fromstring(drawn(lab))))
    lines = {line.get("class", "").split(" ", 1)[1]: line for line in picture.iter(f"{SVG}line")}
    for group in picture.iter(f"{SVG}g"):
        if group.get("class", "").startswith("legend-edge "):
            sample, edge = group.find(f"{SVG}path"), lines[group.get("class", "").split(" ", 1)[1]]
            assert sample is not None and sample.get("stroke") == edge.get("stroke")
            assert sample.get("stroke-dasharray") == edge.get("stroke-dasharray")
    texts = [t.text for t in picture.iter(f"{SVG}text")]
    assert "owner (owns)" in texts and "selects (applies to / selects)" in texts


def test_the_legend_shows_each_status_colour_and_marker(picture: ET.Element) -> None:
    lab = build(lab_objects())
    root = ET.fromstring(drawn(lab))
    swatches = {g.get("class", "").split(" ", 1)[1]: box_style(g) for g in root.iter(f"{SVG}g")
                if g.get("class", "").startswith("legend-status ")}  # fmt: skip
    assert list(swatches) == ["healthy", "degraded", "failed", "unknown", "missing", "hidden"]
    assert {lab.nodes[n]["status"] for n in lab} == {"healthy", "degraded", "failed", "unknown"}
    for node, group in nodes(root).items():
        fill, stroke, dashes = box_style(group)
        assert (fill, stroke) == swatches[lab.nodes[node]["status"]][:2], node
        assert dashes == (swatches["missing"][2] if lab.nodes[node]["missing"] else None), node
    assert "Secret (hidden)" in [t.text for t in picture.iter(f"{SVG}text")]


def box_style(group: ET.Element) -> tuple[str | None, str | None, str | None]:
    rect = group.find(f"{SVG}rect")
    assert rect is not None
    return rect.get("fill"), rect.get("stroke"), rect.get("stroke-dasharray")


def test_long_names_end_in_an_ellipsis_and_the_tooltip_has_them_whole() -> None:
    namespace = "payments-settlement-and-reconciliation-for-the-european-union"
    name = "settlement-reconciler-7d9f8c6b5-x2x9z"
    graph = build({"Pod": [pod(name, {"app": "s"}, ns=namespace)]})
    root = ET.fromstring(drawn(graph))
    group = nodes(root)[f"Pod/{namespace}/{name}"]
    shown = [t.text or "" for t in group.iter(f"{SVG}text")]
    assert shown[0] == "Pod" and shown[1].endswith("\u2026") and name.startswith(shown[1][:-1])
    assert text_width(shown[1], 12) <= NODE_WIDTH - 12
    title = group.findtext(f"{SVG}title") or ""
    assert f"Pod {name}" in title and f"namespace {namespace}" in title
    frame = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "frame namespace")
    label = frame.findtext(f"{SVG}text") or ""
    assert label.endswith("\u2026") and f"namespace {namespace}".startswith(label[:-1])
    assert text_width(label, 14, bold=True) <= box(frame.find(f"{SVG}rect"))[2] - box(frame.find(f"{SVG}rect"))[0]
    assert namespace in (frame.findtext(f"{SVG}title") or "")


def test_the_png_export_is_the_framed_picture(demo: nx.MultiDiGraph) -> None:
    kube_public = demo.subgraph(n for n, a in demo.nodes(data=True) if a["namespace"] in ("kube-public", None)).copy()
    root = ET.fromstring(drawn(kube_public))
    png = base64.b64decode(drawn(kube_public, "PNG"))
    assert struct.unpack(">II", png[16:24]) == (int(root.get("width", "0")), int(root.get("height", "0")))
    assert {namespace for _, namespace in frames(root)} == {"kube-public", None}


def write_objects() -> None:
    """Copy the demo cluster's objects from kubesim into the fixture, one object a line."""
    from tests.topology.fixtures import small_profile

    objects = {kind: items for kind, items in sorted(small_profile(DEMO_SEED).items()) if kind in KINDS}
    lines = [
        f"{json.dumps(kind)}: [\n" + ",\n".join(json.dumps(item, sort_keys=True) for item in items) + "\n]"
        for kind, items in objects.items()
    ]
    OBJECTS.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")


def write_picture() -> None:
    graph = demo_graph()
    KEPT_SVG.parent.mkdir(exist_ok=True)
    KEPT_SVG.write_bytes(drawn(graph).encode())
    KEPT_PNG.write_bytes(base64.b64decode(drawn(graph, "PNG")))


if __name__ == "__main__":
    if "--objects" in sys.argv[1:]:
        write_objects()
    write_picture()
