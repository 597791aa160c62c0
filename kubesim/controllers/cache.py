"""An informer-style cache of every object in one cluster, fed by the store's listener.

Objects are the store's own dicts, which the store never mutates, so the cache holds
references and never copies.  Indexes answer the questions controllers ask on every
event without scanning: objects by namespace, dependents by owner uid, pods by node,
and the resources requested on each node.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kubesim.quantity import milli, whole
from kubesim.resources import ResourceType

TypeKey = tuple[str, str]  # (group, plural)
Ref = tuple[TypeKey, str, str]  # (type key, namespace, name)
PODS: TypeKey = ("", "pods")


def pod_requests(pod: dict[str, Any]) -> tuple[int, int]:
    """(millicores, bytes) a pod asks the scheduler for."""
    cpu = memory = 0
    for container in (pod.get("spec") or {}).get("containers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        cpu += milli(requests.get("cpu"))
        memory += whole(requests.get("memory"))
    return cpu, memory


def is_terminal(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


class Cache:
    def __init__(self) -> None:
        self.types: dict[TypeKey, ResourceType] = {}
        self._objects: dict[TypeKey, dict[str, dict[str, dict[str, Any]]]] = {}
        self.by_uid: dict[str, Ref] = {}
        self._dependents: dict[str, set[Ref]] = {}
        self._pods_by_node: dict[str, set[str]] = {}  # node -> "namespace/name"
        self.node_load: dict[str, tuple[int, int, int]] = {}  # node -> (millicores, bytes, pods)
        self.pod_ips: set[str] = set()

    # -- reading ------------------------------------------------------------------------------

    def get(self, key: TypeKey, namespace: str, name: str) -> dict[str, Any] | None:
        return self._objects.get(key, {}).get(namespace, {}).get(name)

    def in_namespace(self, key: TypeKey, namespace: str) -> list[dict[str, Any]]:
        return list(self._objects.get(key, {}).get(namespace, {}).values())

    def all(self, key: TypeKey) -> Iterator[dict[str, Any]]:
        for bucket in list(self._objects.get(key, {}).values()):
            yield from list(bucket.values())

    def dependents(self, uid: str) -> list[Ref]:
        return sorted(self._dependents.get(uid, ()))

    def resolve(self, ref: Ref) -> dict[str, Any] | None:
        return self.get(*ref)

    def owned(self, key: TypeKey, owner: dict[str, Any]) -> list[dict[str, Any]]:
        """Objects of one type whose controller reference points at ``owner``."""
        uid = owner["metadata"].get("uid")
        found = []
        for ref in self.dependents(uid) if uid else []:
            obj = self.resolve(ref) if ref[0] == key else None
            if obj is not None and controller_uid(obj) == uid:
                found.append(obj)
        return found

    def pods_on(self, node: str) -> list[dict[str, Any]]:
        pods = []
        for ref in sorted(self._pods_by_node.get(node, ())):
            namespace, _, name = ref.partition("/")
            pod = self.get(PODS, namespace, name)
            if pod is not None:
                pods.append(pod)
        return pods

    # -- feeding ------------------------------------------------------------------------------

    def apply(self, event: str, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any] | None:
        """Record a change; return the previous version of the object."""
        key = rt.key
        self.types.setdefault(key, rt)
        meta = obj["metadata"]
        namespace, name = meta.get("namespace") or "", meta["name"]
        bucket = self._objects.setdefault(key, {}).setdefault(namespace, {})
        old = bucket.get(name)
        if old is not None:
            self._unindex(key, old)
        if event == "DELETED":
            bucket.pop(name, None)
        else:
            bucket[name] = obj
            self._index(key, obj)
        return old

    def _index(self, key: TypeKey, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        ref: Ref = (key, meta.get("namespace") or "", meta["name"])
        if meta.get("uid"):
            self.by_uid[meta["uid"]] = ref
        for owner in meta.get("ownerReferences") or []:
            self._dependents.setdefault(owner.get("uid", ""), set()).add(ref)
        if key == PODS:
            self._pod_indexes(obj, 1)

    def _unindex(self, key: TypeKey, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        ref: Ref = (key, meta.get("namespace") or "", meta["name"])
        if self.by_uid.get(meta.get("uid", "")) == ref:
            del self.by_uid[meta["uid"]]
        for owner in meta.get("ownerReferences") or []:
            deps = self._dependents.get(owner.get("uid", ""))
            if deps is not None:
                deps.discard(ref)
                if not deps:
                    del self._dependents[owner.get("uid", "")]
        if key == PODS:
            self._pod_indexes(obj, -1)

    def _pod_indexes(self, pod: dict[str, Any], sign: int) -> None:
        node = (pod.get("spec") or {}).get("nodeName")
        ip = (pod.get("status") or {}).get("podIP")
        host_network = (pod.get("spec") or {}).get("hostNetwork")
        if ip and not host_network:
            (self.pod_ips.add if sign > 0 else self.pod_ips.discard)(ip)
        if not node:
            return
        ref = f"{pod['metadata'].get('namespace', '')}/{pod['metadata']['name']}"
        members = self._pods_by_node.setdefault(node, set())
        (members.add if sign > 0 else members.discard)(ref)
        if is_terminal(pod):
            return
        cpu, memory = pod_requests(pod)
        old_cpu, old_memory, count = self.node_load.get(node, (0, 0, 0))
        self.node_load[node] = (old_cpu + sign * cpu, old_memory + sign * memory, count + sign)


def controller_uid(obj: dict[str, Any]) -> str | None:
    for owner in obj["metadata"].get("ownerReferences") or []:
        if owner.get("controller"):
            return str(owner.get("uid"))
    return None


def controller_ref(obj: dict[str, Any]) -> dict[str, Any] | None:
    for owner in obj["metadata"].get("ownerReferences") or []:
        if owner.get("controller"):
            return dict(owner)
    return None
