"""Which operation of a document runs: the one `operationName` names, or the only one.

GraphQL refuses a document of several operations without `operationName` (it cannot know which
the client meant), but Strawberry, which looks the operation's type up before graphql-core runs
it, passes the first one's name on and so runs it. This check makes that a request error, over
HTTP and websockets alike, before anything runs or is charged: list it after Validation (which
sets the document's errors) and before QueryCost (which charges a document without errors).
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension


class OperationChoice(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)] if document else []
        if len(operations) > 1 and context._provided_operation_name is None:
            names = ", ".join(d.name.value if d.name else "anonymous" for d in operations[:5])
            more = ", ..." if len(operations) > 5 else ""
            count = len(operations)
            message = f"the document has {count} operations ({names}{more}): name the one to run in operationName"
            details = [{"field": "operationName", "message": "required when the document has several operations"}]
            error = GraphQLError(message, extensions={"code": "BAD_USER_INPUT", "details": details})
            context.pre_execution_errors = [error, *(context.pre_execution_errors or [])]
        yield
