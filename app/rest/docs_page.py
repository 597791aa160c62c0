"""`/docs`: the REST paths of the OpenAPI document as one page, rendered here (no script, no
CDN), and the GraphQL schema's SDL when introspection is on."""

from __future__ import annotations

import html
import json
from collections import defaultdict
from typing import Any

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;line-height:1.45}"
    "code,pre{background:#f4f4f4;padding:0 .25rem}table{border-collapse:collapse;margin:.3rem 0 1rem}"
    "td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}"
    ".m{font-weight:700;display:inline-block;min-width:4.5rem}details{margin:.2rem 0}"
)


def _parameters(operation: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td><code>{html.escape(p['name'])}</code></td><td>{p['in']}</td>"
        f"<td>{'yes' if p.get('required') else ''}</td><td><code>{html.escape(json.dumps(p.get('schema', {})))}"
        "</code></td></tr>"
        for p in operation.get("parameters", [])
    )
    return (
        f"<table><tr><th>parameter</th><th>in</th><th>required</th><th>schema</th></tr>{rows}</table>" if rows else ""
    )


def _operation(method: str, path: str, operation: dict[str, Any]) -> str:
    statuses = ", ".join(sorted(operation["responses"]))
    body = operation.get("requestBody", {}).get("content", {})
    media = ", ".join(body)
    request = f"<p>Body: {html.escape(media)}</p>" if media else ""
    graphql = ", ".join(operation.get("x-graphql-operations", []))
    return (
        f"<details><summary><span class='m'>{method.upper()}</span><code>{html.escape(path)}</code> "
        f"{html.escape(operation.get('summary', ''))}</summary>{_parameters(operation)}{request}"
        f"<p>Answers: {statuses}. Runs GraphQL: <code>{html.escape(graphql)}</code>.</p></details>"
    )


def docs_html(document: dict[str, Any], sdl: str | None) -> str:
    by_tag: dict[str, list[str]] = defaultdict(list)
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            by_tag[operation["tags"][0]].append(_operation(method, path, operation))
    sections = "".join(f"<h3>{html.escape(tag)}</h3>{''.join(items)}" for tag, items in sorted(by_tag.items()))
    graphql = (
        f"<h2>GraphQL schema</h2><pre style='white-space:pre-wrap'>{html.escape(sdl)}</pre>" if sdl is not None else ""
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Fleetgraph API</title>"
        f"<style>{STYLE}</style></head><body><h1>Fleetgraph API</h1>"
        "<p>One GraphQL API at <a href='/graphql'>/graphql</a> (every error carries <code>extensions.code</code>; "
        "lists are connections with <code>first/after</code> or <code>page/pageSize</code>), and the source "
        "documents' REST paths, each answered by a GraphQL operation: the machine-readable description is "
        "<a href='/openapi.json'>/openapi.json</a> (OpenAPI 3.1).</p>"
        f"<h2>REST paths</h2>{sections}{graphql}</body></html>"
    )
