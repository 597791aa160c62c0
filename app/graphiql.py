"""GraphiQL at `/graphql`, from assets built into the installed product (web/graphiql, bundled to
app/static/graphiql by `make`), so the page works on a machine with no internet; and `/`, a small
page that says what is served where."""

from __future__ import annotations

import html
import json
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse

from app import __version__

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = STATIC / "graphiql"

DEFAULT_QUERY = """\
# Welcome to Fleetgraph.
#
# 1. Run `SignIn` (the play button, then pick it). The demo prints every
#    demo user's email and password when it starts.
# 2. Copy `accessToken` into the Headers tab below:
#    {"Authorization": "Bearer <accessToken>"}
# 3. Copy `user.tenantId` into the Variables tab: {"tenantId": "ten_..."}
# 4. Run `MyClusters`: the tenant's clusters and what runs in them.

mutation SignIn {
  login(email: "admin@acme.example", password: "fleetgraph-demo-1") {
    accessToken
    user { email role tenantId }
  }
}

query MyClusters($tenantId: ID!) {
  me { email role }
  clusters(tenantId: $tenantId) {
    nodes { id name status summary { nodes pods runningPods } }
  }
}
"""
DEFAULT_HEADERS = '{\n  "Authorization": "Bearer <accessToken from SignIn>"\n}'


def assets_built() -> bool:
    return (ASSETS / "graphiql.js").is_file() and (ASSETS / "graphiql.css").is_file()


def graphiql_page() -> str:
    if not assets_built():
        return _page(
            "GraphiQL is not built",
            "<p>The GraphiQL assets are missing from this installation. Build them with "
            "<code>make</code> (it runs <code>npm ci</code> and <code>npm run build</code> in "
            "<code>web/graphiql</code>); the API itself works without them.</p>",
        )
    config = html.escape(json.dumps({"defaultQuery": DEFAULT_QUERY, "defaultHeaders": DEFAULT_HEADERS}))
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Fleetgraph GraphiQL</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<link rel='stylesheet' href='/static/graphiql/graphiql.css'>"
        "<style>html,body,#graphiql{height:100%;margin:0}</style></head>"
        f"<body><div id='graphiql' data-config=\"{config}\"></div>"
        "<script src='/static/graphiql/graphiql.js'></script></body></html>"
    )


async def home(request: Request) -> HTMLResponse:
    links = [
        ("/graphql", "GraphiQL", "explore and run the GraphQL API in the browser"),
        ("/docs", "API docs", "the GraphQL schema (SDL) and the REST paths"),
        ("/health", "Health", "is the service up"),
        ("/metrics", "Metrics", "Prometheus metrics"),
    ]
    items = "".join(
        f"<li><a href='{href}'>{html.escape(name)}</a>: {html.escape(what)}</li>" for href, name, what in links
    )
    version = html.escape(__version__)
    body = f"<p>One GraphQL control plane for Kubernetes clusters, version {version}.</p><ul>{items}</ul>"
    return HTMLResponse(_page("Fleetgraph", body))


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;"
        "line-height:1.5}code{background:#f3f3f3;padding:0 .2rem}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
