"""Applying manifests: multi-document YAML or JSON, server-side apply per object, created/configured/unchanged.

Documents are split on ``---`` lines, so a syntax error is reported with the document's number
and its line in the whole text. Every object is checked (apiVersion, kind, metadata.name, a kind
the cluster serves) before anything is written. Per object: a GET tells whether it exists; a
missing one is applied (``created``); an existing one is first applied as a dry run and compared
with the stored object, so that an unchanged object is not written at all (``unchanged``), and a
changed one is applied for real (``configured``). With ``dry_run`` every apply is a dry run.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

from app import validation
from app.context import RequestContext
from app.db.models import Cluster
from app.errors import AppError, BadUserInput, FieldErrors
from app.k8s.client import ClusterClient
from app.k8s.resources import ResourceKind
from resolvers.kube_writes import ClusterWriter, Obj, meta, require_name, spec_replicas, writing
from resolvers.workload_writes import SCALABLE

_DOCUMENT_START = re.compile(r"^---(\s|$)")
_FIRST = ("Namespace", "CustomResourceDefinition")  # what other objects of the same text may need
MAX_OBJECTS = 500
MAX_NODES = 200_000  # values in all documents, aliases counted each time they are used (no YAML bombs)


@dataclass(frozen=True)
class ManifestObject:
    document: int  # 1-based, as people count documents
    body: Obj

    @property
    def where(self) -> str:
        return f"document {self.document}"


@dataclass(frozen=True)
class Applied:
    kind: str
    api_version: str
    namespace: str | None
    name: str
    action: str  # created, configured or unchanged
    object: Obj


def _chunks(text: str) -> list[tuple[int, str]]:
    """(first line, text) of each YAML document; a leading blank part before the first ``---`` is no document."""
    chunks: list[tuple[int, list[str]]] = [(0, [])]
    for number, line in enumerate(text.splitlines()):
        if _DOCUMENT_START.match(line):
            chunks.append((number, [line[3:]]))
        else:
            chunks[-1][1].append(line)
    if len(chunks) > 1 and not yaml_content("\n".join(chunks[0][1])):
        chunks.pop(0)
    return [(start, "\n".join(lines)) for start, lines in chunks]


def yaml_content(text: str) -> bool:
    return any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines())


def _load(document: int, start: int, text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = start + (mark.line if mark else 0) + 1
        column = (mark.column + 1) if mark else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        message = f"invalid YAML in document {document}, line {line}, column {column}: {problem}"
        detail = {"field": "yaml", "message": message, "document": document, "line": line, "column": column}
        raise BadUserInput(message, details=[detail]) from None


def _documents(text: str) -> list[tuple[int, Any]]:
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            return [(1, json.loads(stripped))]
        except ValueError:
            pass  # JSON-looking YAML (flow style) is still YAML
    return [(n, _load(n, start, chunk)) for n, (start, chunk) in enumerate(_chunks(text), 1)]


def _expand(document: int, data: Any) -> list[ManifestObject]:
    """A document's objects: itself, or the items of a list or of a ``kind: ...List``."""
    if data is None:
        return []
    if isinstance(data, list):
        return [o for item in data for o in _expand(document, item)]
    if isinstance(data, dict) and str(data.get("kind", "")).endswith("List") and isinstance(data.get("items"), list):
        return [o for item in data["items"] for o in _expand(document, item)]
    return [ManifestObject(document, data)]


def _check(obj: ManifestObject) -> None:
    if not isinstance(obj.body, dict):
        raise BadUserInput(
            f"{obj.where}: a Kubernetes object must be a mapping",
            details=[{"field": "yaml", "message": "not a mapping", "document": obj.document}],
        )
    missing = [key for key in ("apiVersion", "kind") if not obj.body.get(key)]
    if not meta(obj.body).get("name"):
        missing.append("metadata.name")
    if missing:
        message = f"{obj.where}: missing {', '.join(missing)}"
        raise BadUserInput(message, details=[{"field": "yaml", "message": message, "document": obj.document}])


def _bounded(document: int, data: Any, budget: list[int]) -> None:
    """Counts the values of a document against ``budget``, without following an alias more than needed."""
    stack = [data]
    while stack:
        budget[0] -= 1
        if budget[0] < 0:
            raise BadUserInput.field("yaml", f"is too large (document {document}): at most {MAX_NODES} values")
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def parse_manifest(text: str) -> list[ManifestObject]:
    """The objects of a YAML or JSON text, each checked for apiVersion, kind and metadata.name."""
    if not yaml_content(text):
        raise BadUserInput.field("yaml", "has no objects")
    documents, budget = _documents(text), [MAX_NODES]
    for n, data in documents:
        _bounded(n, data, budget)
    objects = [o for n, data in documents for o in _expand(n, data)]
    if not objects:
        raise BadUserInput.field("yaml", "has no objects")
    if len(objects) > MAX_OBJECTS:
        raise BadUserInput.field("yaml", f"holds {len(objects)} objects; at most {MAX_OBJECTS} are applied at once")
    for obj in objects:
        _check(obj)
    return objects


async def _kind_of(client: ClusterClient, obj: ManifestObject) -> ResourceKind:
    api_version, kind = str(obj.body["apiVersion"]), str(obj.body["kind"])
    try:
        rk = await client.kind(kind)
    except BadUserInput as exc:
        raise BadUserInput(
            f"{obj.where}: {exc.message}", details=[{"field": "yaml", "document": obj.document, "message": exc.message}]
        ) from None
    group, _, version = api_version.rpartition("/")
    if group != rk.group:
        message = f"{obj.where}: {kind} is served in group {rk.group or 'core'!r}, not by apiVersion {api_version!r}"
        raise BadUserInput(message, details=[{"field": "yaml", "document": obj.document, "message": message}])
    _check_fields(obj, rk, version)
    return rk if version == rk.version else dataclasses.replace(rk, version=version)


def _check_fields(obj: ManifestObject, rk: ResourceKind, version: str) -> None:
    """Version, name, namespace and replicas as the API checks them, before anything is written."""
    errors = FieldErrors()
    validation.kube_label(errors, "apiVersion", version)
    validation.kube_name(errors, "metadata.name", meta(obj.body).get("name"), rk.kind)
    if rk.namespaced and meta(obj.body).get("namespace"):  # empty is unset, as kubectl reads it
        validation.kube_namespace(errors, "metadata.namespace", meta(obj.body)["namespace"])
    if rk.kind in SCALABLE:
        spec_replicas(errors, "", obj.body)
    if errors.details:
        problems = [f"{d['field']}: {d['message']}" for d in errors.details]
        message = f"{obj.where} ({rk.kind} {meta(obj.body).get('name')!r}): {'; '.join(problems)}"
        details = [{"field": "yaml", "document": obj.document, "message": p} for p in problems]
        raise BadUserInput(message, details=details)


def _comparable(obj: Obj) -> Obj:
    m = {k: v for k, v in meta(obj).items() if k not in ("managedFields", "resourceVersion")}
    return {**obj, "metadata": m}


async def _apply_one(
    w: ClusterWriter, rk: ResourceKind, obj: ManifestObject, namespace: str, dry_run: bool, force: bool
) -> Applied:
    name = str(meta(obj.body)["name"])
    ns = (meta(obj.body).get("namespace") or namespace) if rk.namespaced else None
    body = {**obj.body, "metadata": {**meta(obj.body), **({"namespace": ns} if ns else {})}}
    client = w.client
    current = await w.get_or_none(rk, ns, name)
    action = "created"
    if current is not None:
        preview = await client.patch(rk, ns, name, body, "apply", force=force, dry_run=True)
        if _comparable(preview) == _comparable(current):
            return Applied(rk.kind, rk.api_version, ns, name, "unchanged", current)
        action = "configured"
    result = await client.patch(rk, ns, name, body, "apply", force=force, dry_run=dry_run)
    return Applied(rk.kind, rk.api_version, ns, name, action, result)


async def apply_manifest(
    ctx: RequestContext,
    cluster: Cluster,
    text: str,
    *,
    dry_run: bool = False,
    namespace: str | None = None,
    force: bool = False,
) -> list[Applied]:
    """Applies every object (namespaces and CRDs first); results in the order of the text."""
    if namespace is not None:
        require_name("namespace", namespace, "Namespace")
    objects = parse_manifest(text)
    async with writing(ctx, cluster) as w:
        kinds = [await _kind_of(w.client, obj) for obj in objects]
        order = sorted(range(len(objects)), key=lambda i: (kinds[i].kind not in _FIRST, i))
        results: dict[int, Applied] = {}
        for i in order:
            results[i] = await _apply_located(w, kinds[i], objects[i], namespace or "default", dry_run, force)
            done = results[i]
            if not dry_run and done.action != "unchanged":
                await w.audit(
                    "resource.applied",
                    done.kind,
                    done.namespace,
                    done.name,
                    {"action": done.action, "document": objects[i].document},
                )
    return [results[i] for i in range(len(objects))]


async def _apply_located(
    w: ClusterWriter, rk: ResourceKind, obj: ManifestObject, namespace: str, dry_run: bool, force: bool
) -> Applied:
    """``_apply_one``, with the document named in the cluster's refusal."""
    try:
        return await _apply_one(w, rk, obj, namespace, dry_run, force)
    except AppError as exc:
        exc.message = f"{obj.where} ({rk.kind} {meta(obj.body).get('name')}): {exc.message}"
        exc.args = (exc.message,)
        raise
