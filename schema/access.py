"""What the access line and the request metrics learn from GraphQL: the operation's name and
its outcome (`ok`, or the first error's code). List it before ErrorCodes, so it sees the codes."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from app.telemetry import access_facts


class RequestFacts(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        ec = self.execution_context
        request = getattr(ec.context, "request", None)
        if request is None:
            return
        facts = access_facts(request.scope)
        facts.operation = ec.operation_name
        errors = getattr(ec.result, "errors", None) or ec.pre_execution_errors or []
        facts.outcome = str((errors[0].extensions or {}).get("code", "BAD_USER_INPUT")) if errors else "ok"
