"""Kubilitics's topology paths: a cluster's graph, the graph around one object, and exports.

The document's graph is GraphQL's with a few names moved: a node's kind is its `type`, what
GraphQL says of a node besides its identity (missing, hidden) is its `metadata`, the layout seed
is a string, and the answer says which cluster and namespace it is of."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any, Literal, cast

from pydantic import BaseModel, Field

from app.rest.rows import Attachment, Call, Data, Row

DOC = "topology.graphql"
TAG = "Kubilitics: topology"
TOPOLOGY = "/api/v1/clusters/{clusterId}/topology"
CLUSTER_SCOPED = ("-", "_")  # the document's namespace of an object that has none
METADATA = ("missing", "hidden")
EXPORTS = {"json": "application/json", "svg": "image/svg+xml", "png": "image/png", "drawio": "application/xml"}
OTHER_TYPES = tuple(media for media in EXPORTS.values() if media != "application/json")
Format = Literal["json", "svg", "drawio", "png"]


class GraphQuery(BaseModel):
    namespace: str | None = Field(None, min_length=1, description="only this namespace (default: every one)")
    force_refresh: bool = Field(
        False, description="accepted; the graph is always built from caches a watch keeps current"
    )


class DrawioQuery(BaseModel):
    namespace: str | None = Field(None, min_length=1, description="only this namespace (default: every one)")


class ExportTopology(BaseModel):
    format: Format = Field(description="json, svg, drawio or png")
    namespace: str | None = Field(None, min_length=1, description="only this namespace (default: every one)")


class NodeAnswer(BaseModel):
    id: str
    type: str = Field(description="the object's kind")
    name: str
    namespace: str | None
    labels: dict[str, str]
    status: str = Field(description="healthy, degraded, failed or unknown")
    metadata: dict[str, Any] = Field(description="missing: referenced but not found; hidden: a Secret not opened")
    x: float
    y: float


class EdgeAnswer(BaseModel):
    id: str
    source: str
    target: str
    type: str
    label: str


class MetaAnswer(BaseModel):
    node_count: int
    edge_count: int
    generated_at: datetime
    layout_seed: str


class GraphAnswer(BaseModel):
    cluster_id: str
    namespace: str | None
    nodes: list[NodeAnswer]
    edges: list[EdgeAnswer]
    meta: MetaAnswer


def _object_namespace(call: Call) -> str | None:
    namespace = call.path["namespace"]
    return None if namespace in CLUSTER_SCOPED else namespace


def document_graph(graph: Data, cluster_id: str, namespace: str | None) -> Data:
    """A graph as GraphQL (and its JSON export) gives it, in the document's names."""
    nodes = [
        {"id": n["id"], "type": n["kind"], "name": n["name"], "namespace": n.get("namespace"),
         "labels": n.get("labels") or {}, "status": n["status"], "metadata": {k: bool(n.get(k)) for k in METADATA},
         "x": n["x"], "y": n["y"]}
        for n in graph["nodes"]
    ]  # fmt: skip
    edges = [{k: e[k] for k in ("id", "source", "target", "type", "label")} for e in graph["edges"]]
    meta = graph["meta"]
    summary = {"node_count": meta["nodeCount"], "edge_count": meta["edgeCount"], "generated_at": meta["generatedAt"],
               "layout_seed": str(meta["layoutSeed"])}  # fmt: skip
    return {"cluster_id": cluster_id, "namespace": namespace, "nodes": nodes, "edges": edges, "meta": summary}


def _cluster_graph(value: Data, call: Call) -> Data:
    return document_graph(value, call.path["clusterId"], cast(GraphQuery, call.query).namespace)


def _object_graph(value: Data, call: Call) -> Data:
    return document_graph(value, call.path["clusterId"], _object_namespace(call))


def _topology(call: Call, _: Data) -> Data:
    return {"clusterId": call.path["clusterId"], "namespace": cast(GraphQuery, call.query).namespace}


def _resource(call: Call, _: Data) -> Data:
    path = call.path
    found = {"kind": path["kind"], "name": path["name"], "namespace": _object_namespace(call)}
    return {"clusterId": path["clusterId"], "object": found}


def _export(call: Call, _: Data) -> Data:
    body = cast(ExportTopology, call.body)
    return {"clusterId": call.path["clusterId"], "format": body.format.upper(), "namespace": body.namespace}


def _drawio(call: Call, _: Data) -> Data:
    return {
        "clusterId": call.path["clusterId"],
        "format": "DRAWIO",
        "namespace": cast(DrawioQuery, call.query).namespace,
    }


def _exported(text: str, call: Call) -> tuple[str, bytes | str]:
    """The file in the format asked for: JSON is the graph as the topology path gives it, and
    GraphQL gives a PNG as base64."""
    body = cast(ExportTopology, call.body)
    if body.format == "json":
        graph = document_graph(json.loads(text), call.path["clusterId"], body.namespace)
        return EXPORTS["json"], json.dumps(graph, separators=(",", ":"))
    return EXPORTS[body.format], base64.b64decode(text) if body.format == "png" else text


def _export_file(call: Call, _: Data) -> str:
    return f"topology.{cast(ExportTopology, call.body).format}"


ROWS = [
    Row(
        "GET",
        TOPOLOGY,
        DOC,
        ("KubiliticsTopology",),
        "Get topology graph",
        TAG,
        query=GraphQuery,
        variables=_topology,
        pick="topology",
        shape=_cluster_graph,
        response=GraphAnswer,
    ),
    Row(
        "GET",
        f"{TOPOLOGY}/resource/{{kind}}/{{namespace}}/{{name}}",
        DOC,
        ("KubiliticsResourceTopology",),
        "Get resource-specific topology subgraph",
        TAG,
        variables=_resource,
        pick="resourceTopology",
        shape=_object_graph,
        response=GraphAnswer,
    ),
    Row(
        "POST",
        f"{TOPOLOGY}/export",
        DOC,
        ("KubiliticsTopologyExport",),
        "Export topology in various formats",
        TAG,
        body=ExportTopology,
        variables=_export,
        pick="topologyExport.content",
        attachment=Attachment("application/json", _export_file, chosen=_exported, media_types=OTHER_TYPES),
    ),
    Row(
        "GET",
        f"{TOPOLOGY}/export/drawio",
        DOC,
        ("KubiliticsTopologyExport",),
        "Export topology as draw.io XML",
        TAG,
        query=DrawioQuery,
        variables=_drawio,
        pick="topologyExport.content",
        attachment=Attachment("application/xml", lambda _, __: "topology.drawio"),
    ),
]
