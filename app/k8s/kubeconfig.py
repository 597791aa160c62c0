"""Kubeconfig parsing: users paste a kubeconfig (YAML text or base64 of it) and pick a context.

Only self-contained credentials are accepted: a bearer token or an inline client certificate and
key, with the server's CA inline. Anything that would make this service run a command
(``exec``, ``auth-provider``) or read a file of its own filesystem (``tokenFile``,
``client-certificate``, ``certificate-authority`` as paths) is refused with ``BadUserInput``
on the ``kubeconfig`` field: the file comes from a user and is never trusted.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

import yaml

from app.errors import BadUserInput

FIELD = "kubeconfig"
_BASE64 = re.compile(r"^[A-Za-z0-9+/=_\-\s]+$")
_FILE_KEYS = {
    "tokenFile": "a token file",
    "client-certificate": "a client certificate file",
    "client-key": "a client key file",
}


def _bad(message: str, **extra: Any) -> BadUserInput:
    return BadUserInput(f"{FIELD}: {message}", details=[{"field": FIELD, "message": message, **extra}])


@dataclass(frozen=True)
class KubeContext:
    name: str
    cluster: str
    server: str
    namespace: str
    user: str
    auth: str  # token, client-certificate, basic, exec, auth-provider, file, none


@dataclass
class ClusterConnection:
    """What it takes to reach one cluster; stored encrypted by the caller, so it must round-trip JSON."""

    server: str
    ca_data: str | None = None  # PEM
    token: str | None = field(default=None, repr=False)  # secrets stay out of logs and tracebacks
    client_cert_data: str | None = None  # PEM
    client_key_data: str | None = field(default=None, repr=False)  # PEM
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    namespace: str = "default"
    context: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ClusterConnection:
        data = json.loads(text)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True)
class Kubeconfig:
    clusters: dict[str, dict[str, Any]]
    users: dict[str, dict[str, Any]]
    contexts: list[KubeContext]
    current_context: str | None

    def context(self, name: str | None = None) -> KubeContext:
        """The named context, else the current one, else the only one."""
        wanted = name or self.current_context
        if wanted is None:
            if len(self.contexts) == 1:
                return self.contexts[0]
            raise _bad("no current-context; name the context to use")
        for ctx in self.contexts:
            if ctx.name == wanted:
                return ctx
        raise _bad(f"context {wanted!r} not found (contexts: {', '.join(c.name for c in self.contexts)})")

    def connection(self, context: str | None = None) -> ClusterConnection:
        ctx = self.context(context)
        cluster, user = self.clusters[ctx.cluster], self.users.get(ctx.user, {})
        if ctx.auth in ("exec", "auth-provider"):
            raise _bad(f"user {ctx.user!r} (of context {ctx.name!r}) uses an {ctx.auth} plugin, which would run "
                       "a command or call a service from this server; use a service account token or a client "
                       "certificate", user=ctx.user)
        if ctx.auth == "basic":
            raise _bad(f"context {ctx.name!r} uses basic authentication, which Kubernetes no longer supports")
        for key, what in _FILE_KEYS.items():
            if user.get(key):
                raise _bad(f"user {ctx.user!r} refers to {what}; inline the data ({key}-data or token)")
        if cluster.get("certificate-authority"):
            raise _bad(f"cluster {ctx.cluster!r} refers to a CA file; use certificate-authority-data")
        return ClusterConnection(
            server=ctx.server.rstrip("/"),
            ca_data=_pem(cluster.get("certificate-authority-data"), f"cluster {ctx.cluster!r} CA"),
            token=user.get("token") or None,
            client_cert_data=_pem(user.get("client-certificate-data"), f"user {ctx.user!r} certificate"),
            client_key_data=_pem(user.get("client-key-data"), f"user {ctx.user!r} key"),
            insecure_skip_tls_verify=bool(cluster.get("insecure-skip-tls-verify", False)),
            tls_server_name=cluster.get("tls-server-name") or None,
            namespace=ctx.namespace,
            context=ctx.name,
        )


def _pem(value: Any, what: str) -> str | None:
    if not value:
        return None
    try:
        text = base64.b64decode(str(value), validate=False).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise _bad(f"{what} is not base64-encoded PEM data") from exc
    if "-----BEGIN" not in text:
        raise _bad(f"{what} is not PEM data")
    return text


def _decode(text: str) -> str:
    """The YAML text itself, or the YAML inside base64 (how some UIs and APIs pass kubeconfigs)."""
    stripped = text.strip()
    if not stripped:
        raise _bad("is empty")
    if ":" in stripped or not _BASE64.match(stripped):
        return text  # a kubeconfig always has a colon; base64 never does
    compact = re.sub(r"\s+", "", stripped)
    compact += "=" * (-len(compact) % 4)
    try:
        if "-" in compact or "_" in compact:
            decoded = base64.urlsafe_b64decode(compact).decode()
        else:
            decoded = base64.b64decode(compact, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return text
    return decoded if ":" in decoded else text


def _load(text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "syntax error"
        where = f" at line {line}, column {mark.column + 1}" if mark is not None else ""
        raise _bad(f"invalid YAML{where}: {problem}", line=line) from exc
    except yaml.YAMLError as exc:
        raise _bad(f"invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise _bad("is not a kubeconfig (expected a mapping with clusters, users and contexts)")
    return data


def _named(data: dict[str, Any], section: str, inner: str) -> dict[str, dict[str, Any]]:
    entries = data.get(section)
    if not isinstance(entries, list) or not entries:
        raise _bad(f"has no {section}")
    found: dict[str, dict[str, Any]] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise _bad(f"{section}[{index}] has no name")
        body = entry.get(inner)
        if not isinstance(body, dict):
            raise _bad(f"{section}[{index}] ({entry['name']}) has no {inner}")
        found[entry["name"]] = body
    return found


def _auth_kind(user: dict[str, Any]) -> str:
    if "exec" in user:
        return "exec"
    if "auth-provider" in user:
        return "auth-provider"
    if user.get("token"):
        return "token"
    if user.get("client-certificate-data") and user.get("client-key-data"):
        return "client-certificate"
    if user.get("username") or user.get("password"):
        return "basic"
    if any(user.get(key) for key in _FILE_KEYS):
        return "file"
    return "none"


def _check_server(name: str, server: Any) -> str:
    if not isinstance(server, str) or not server:
        raise _bad(f"cluster {name!r} has no server")
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad(f"cluster {name!r} server {server!r} is not an http(s) URL")
    return server


def parse_kubeconfig(text: str) -> Kubeconfig:
    """Parse a kubeconfig given as YAML text or base64; every problem is a ``BadUserInput``."""
    data = _load(_decode(text))
    clusters = _named(data, "clusters", "cluster")
    users = _named(data, "users", "user")
    contexts: list[KubeContext] = []
    for ctx_name, ctx in _named(data, "contexts", "context").items():
        cluster_name, user_name = ctx.get("cluster"), ctx.get("user")
        if cluster_name not in clusters:
            raise _bad(f"context {ctx_name!r} refers to unknown cluster {cluster_name!r}")
        if user_name is not None and user_name not in users:
            raise _bad(f"context {ctx_name!r} refers to unknown user {user_name!r}")
        server = _check_server(cluster_name, clusters[cluster_name].get("server"))
        contexts.append(KubeContext(
            name=ctx_name, cluster=cluster_name, server=server, namespace=str(ctx.get("namespace") or "default"),
            user=user_name or "", auth=_auth_kind(users.get(user_name or "", {})),
        ))
    current = data.get("current-context") or None
    if current is not None and current not in {c.name for c in contexts}:
        raise _bad(f"current-context {current!r} is not one of the contexts")
    return Kubeconfig(clusters, users, contexts, current)
