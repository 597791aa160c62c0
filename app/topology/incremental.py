"""A topology kept current by watch events, touching only what each event changes.

The graph is always equal to ``build`` of the objects seen so far (same nodes, attributes and
edges). What makes single events cheap:

- every edge has one declaring object (see ``refs``), and ``_declared`` remembers each object's
  edges, so a change replaces exactly that object's edges;
- edges to an object that does not exist yet go to a placeholder node with the object's id, so
  when the object is created (a ConfigMap after the Pod mounting it) the node turns real and the
  edges pointing at it are already there: the graph itself is the index by referenced name;
- ``selects`` edges depend on the pods' labels: pods are indexed by (namespace, label, value) for
  a selector that changes, and selectors by namespace for a pod that changes;
- statuses are rolled up again only for the object and its owners, upwards while they change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import networkx as nx

from app.topology.builder import node_attrs, owners, paused_gc, rolled_status
from app.topology.model import (
    IGNORED_KINDS,
    EdgeKey,
    NodeAttrs,
    Obj,
    Ref,
    edge_attrs,
    edge_id,
    object_id,
    placeholder_attrs,
    ref_edge,
)
from app.topology.refs import refs_of
from app.topology.selectors import SELECTOR_KINDS, PodIndex, Selector, matches, selector_of

EventType = Literal["ADDED", "MODIFIED", "DELETED"]


@dataclass(frozen=True)
class TopologyDelta:
    nodes_added: tuple[str, ...] = ()
    nodes_removed: tuple[str, ...] = ()
    nodes_changed: tuple[str, ...] = ()
    edges_added: tuple[str, ...] = ()  # edge ids, "<type>:<source>-><target>"
    edges_removed: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.nodes_added or self.nodes_removed or self.nodes_changed or self.edges_added
                    or self.edges_removed)


class _Changes:
    """What one event did to the graph, netted out (an edge removed and added again is no change)."""

    def __init__(self, graph: nx.MultiDiGraph) -> None:
        self.graph = graph
        self.before: dict[str, NodeAttrs | None] = {}
        self.added: set[EdgeKey] = set()
        self.removed: set[EdgeKey] = set()
        self.dirty: set[str] = set()

    def touch(self, node: str) -> None:
        if node not in self.before:
            self.before[node] = dict(self.graph.nodes[node]) if node in self.graph else None

    def add_edge(self, key: EdgeKey, attrs: dict[str, Any]) -> None:
        source, target, type_ = key
        if key in self.removed:
            self.removed.discard(key)
        else:
            self.added.add(key)
        self.graph.add_edge(source, target, key=type_, **attrs)
        if type_ == "owner":
            self.dirty.add(source)

    def remove_edge(self, key: EdgeKey) -> None:
        source, target, type_ = key
        if key in self.added:
            self.added.discard(key)
        else:
            self.removed.add(key)
        self.graph.remove_edge(source, target, key=type_)
        if type_ == "owner":
            self.dirty.add(source)

    def delta(self) -> TopologyDelta:
        added, removed, changed = [], [], []
        for node, before in self.before.items():
            after = self.graph.nodes[node] if node in self.graph else None
            if before is None and after is not None:
                added.append(node)
            elif before is not None and after is None:
                removed.append(node)
            elif before is not None and after is not None and before != after:
                changed.append(node)
        return TopologyDelta(
            tuple(sorted(added)), tuple(sorted(removed)), tuple(sorted(changed)),
            tuple(sorted(edge_id(*k) for k in self.added)), tuple(sorted(edge_id(*k) for k in self.removed)),
        )


class LiveTopology:
    def __init__(self, objects: Mapping[str, Iterable[Obj]] | None = None, *, kinds: Iterable[str] | None = None):
        self.graph = nx.MultiDiGraph()
        self._kinds = frozenset(kinds) if kinds is not None else None
        self._declared: dict[str, set[EdgeKey]] = {}
        self._selectors: dict[str, Selector] = {}
        self._holders: dict[str, set[str]] = {}  # namespace -> ids of objects with a selector
        self._pods = PodIndex()
        with paused_gc():
            for kind, group in (objects or {}).items():
                for obj in group:
                    self.apply("ADDED", kind, obj)

    def apply(self, event_type: EventType, kind: str, obj: Obj) -> TopologyDelta:
        if (kind not in self._kinds) if self._kinds is not None else (kind in IGNORED_KINDS):
            return TopologyDelta()
        nid = object_id(kind, obj)
        changes = _Changes(self.graph)
        if event_type == "DELETED":
            self._delete(nid, kind, changes)
        else:
            self._upsert(nid, kind, obj, changes)
        self._settle(changes)
        return changes.delta()

    # -- one object -------------------------------------------------------------------------------

    def _upsert(self, nid: str, kind: str, obj: Obj, changes: _Changes) -> None:
        changes.touch(nid)
        attrs = node_attrs(kind, obj)
        old = self.graph.nodes[nid] if nid in self.graph else None
        if old is not None:
            attrs["status"] = old["status"]
            if kind == "Pod" and not old["missing"]:
                self._pods.remove(nid, old["namespace"] or "", old["labels"])
        self.graph.add_node(nid)
        self.graph.nodes[nid].clear()
        self.graph.nodes[nid].update(attrs)
        changes.dirty.add(nid)
        wanted = {key: ref for ref in refs_of(kind, obj) if self._keep(ref) for key in (ref_edge(nid, ref)[0],)}
        previous = self._declared.get(nid, set())
        for key in sorted(previous - wanted.keys()):
            self._drop(key, nid, changes)
        for key, ref in sorted(wanted.items()):
            if key not in previous:
                self._link(key, nid, ref, changes)
        self._declared[nid] = set(wanted)
        if kind in SELECTOR_KINDS:
            self._reselect(nid, selector_of(kind, obj), changes)
        if kind == "Pod":
            self._pods.add(nid, attrs["namespace"] or "", attrs["labels"])
            self._select_pod(nid, attrs["namespace"] or "", attrs["labels"], changes)

    def _delete(self, nid: str, kind: str, changes: _Changes) -> None:
        if nid not in self.graph or self.graph.nodes[nid]["missing"]:
            return
        changes.touch(nid)
        attrs = self.graph.nodes[nid]
        for key in sorted(self._declared.pop(nid, ())):
            self._drop(key, nid, changes)
        if kind in SELECTOR_KINDS:
            self._reselect(nid, None, changes)
        if kind == "Pod":
            self._pods.remove(nid, attrs["namespace"] or "", attrs["labels"])
            for holder in [h for h, keys in self.graph.pred[nid].items() if "selects" in keys]:
                changes.remove_edge((holder, nid, "selects"))
        if self.graph.degree(nid):
            placeholder = placeholder_attrs(kind, attrs["namespace"], attrs["name"])
            attrs.clear()
            attrs.update(placeholder)
        else:
            self.graph.remove_node(nid)

    def _keep(self, ref: Ref) -> bool:
        return self._kinds is None or ref.kind in self._kinds

    def _link(self, key: EdgeKey, declarer: str, ref: Ref, changes: _Changes) -> None:
        other = key[0] if key[1] == declarer else key[1]
        if other not in self.graph:
            changes.touch(other)
            self.graph.add_node(other, **placeholder_attrs(ref.kind, ref.namespace, ref.name))
        changes.add_edge(key, edge_attrs(ref.type, ref.label))

    def _drop(self, key: EdgeKey, declarer: str, changes: _Changes) -> None:
        source, target, _ = key
        changes.remove_edge(key)
        for node in (source, target):
            if node != declarer and node in self.graph and self.graph.nodes[node]["missing"] \
                    and not self.graph.degree(node):
                changes.touch(node)
                self.graph.remove_node(node)

    # -- selectors --------------------------------------------------------------------------------

    def _reselect(self, holder: str, selector: Selector | None, changes: _Changes) -> None:
        old = self._selectors.pop(holder, None)
        if old is not None:
            self._holders[old.namespace].discard(holder)
            if not self._holders[old.namespace]:
                del self._holders[old.namespace]
        current = {pod for pod, keys in self.graph.succ[holder].items() if "selects" in keys}
        wanted: set[str] = set()
        if selector is not None:
            self._selectors[holder] = selector
            self._holders.setdefault(selector.namespace, set()).add(holder)
            wanted = {
                pod for pod in self._pods.candidates(selector) if matches(selector, self.graph.nodes[pod]["labels"])
            }
        for pod in sorted(current - wanted):
            changes.remove_edge((holder, pod, "selects"))
        for pod in sorted(wanted - current):
            assert selector is not None
            changes.add_edge((holder, pod, "selects"), edge_attrs("selects", selector.label))

    def _select_pod(self, pod: str, namespace: str, labels: Mapping[str, Any], changes: _Changes) -> None:
        for holder in sorted(self._holders.get(namespace, ())):
            selector = self._selectors[holder]
            has = self.graph.has_edge(holder, pod, "selects")
            if matches(selector, labels) and not has:
                changes.add_edge((holder, pod, "selects"), edge_attrs("selects", selector.label))
            elif has and not matches(selector, labels):
                changes.remove_edge((holder, pod, "selects"))

    # -- status -----------------------------------------------------------------------------------

    def _settle(self, changes: _Changes) -> None:
        """Roll statuses up from the touched objects to their owners, for as long as they change."""
        pending = sorted(changes.dirty)
        budget = 10 * len(self.graph) + 100  # ownership cycles (malformed input) must not loop forever
        while pending and budget:
            budget -= 1
            node = pending.pop()
            if node not in self.graph:
                continue
            status = rolled_status(self.graph, node)
            if status != self.graph.nodes[node]["status"]:
                changes.touch(node)
                self.graph.nodes[node]["status"] = status
                pending.extend(owners(self.graph, node))
