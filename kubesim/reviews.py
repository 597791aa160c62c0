"""Self-reviews (kubectl auth can-i / whoami): the bearer token of a simulated cluster is its admin."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from . import errors
from .handlers import Target
from .httputil import json_response, read_body

ADMIN = "kubesim-admin"
ADMIN_GROUPS = ["system:masters", "system:authenticated"]


def user_info(request: Request) -> dict[str, Any]:
    user = request.headers.get("impersonate-user")
    if user:
        return {"username": user, "groups": request.headers.getlist("impersonate-group") + ["system:authenticated"]}
    return {"username": ADMIN, "groups": list(ADMIN_GROUPS)}


def _status(kind: str, request: Request) -> dict[str, Any]:
    if kind == "SelfSubjectAccessReview":
        return {"allowed": True, "reason": "the cluster administrator may do anything"}
    if kind == "SelfSubjectRulesReview":
        return {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}], "incomplete": False}
    return {"userInfo": user_info(request)}


async def handle(request: Request, target: Target) -> Response:
    if request.method != "POST" or target.name:
        raise errors.method_not_allowed()
    body = await read_body(request) or {}
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request was in an unknown format")
    review = {"kind": target.rt.kind, "apiVersion": target.rt.api_version,
              "metadata": {"creationTimestamp": None}, "spec": body.get("spec") or {},
              "status": _status(target.rt.kind, request)}
    if target.rt.kind == "SelfSubjectReview":
        review.pop("spec")
    return json_response(review, 201)
