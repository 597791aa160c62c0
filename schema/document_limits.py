"""The limits a document must keep before any validation rule looks at it: fragment spreads,
fields once fragments are spread, operation depth and aliases.

They are checked on the document's measure (schema/document_shape.py), linear in its size, so a
document whose fragments spread each other exponentially is refused at the cost of reading it,
before the standard rules (and their walks through fragments) run. The messages are those of
Strawberry's depth and alias limiters, which these checks replace.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import DocumentNode, GraphQLError

from app.settings import Settings
from schema.document_shape import measure


@dataclass(frozen=True)
class DocumentLimits:
    max_depth: int
    max_aliases: int
    max_fragment_spreads: int
    max_expanded_fields: int

    @classmethod
    def from_settings(cls, settings: Settings) -> DocumentLimits:
        return cls(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_fragment_spreads=settings.max_fragment_spreads,
            max_expanded_fields=settings.max_expanded_fields,
        )


def limit_errors(document: DocumentNode, limits: DocumentLimits) -> list[GraphQLError]:
    """The first limit the document breaks, as its error; none when it keeps them all."""
    try:
        shape = measure(document)
    except RecursionError:
        return [GraphQLError("the document is nested too deeply")]
    if shape.spreads > limits.max_fragment_spreads:
        return [GraphQLError(f"{shape.spreads} fragment spreads found. Allowed: {limits.max_fragment_spreads}")]
    if shape.expanded_fields > limits.max_expanded_fields:
        message = (
            f"the document has {shape.expanded_fields} fields once its fragments are spread; "
            f"at most {limits.max_expanded_fields} are allowed"
        )
        return [GraphQLError(message)]
    too_deep = [
        GraphQLError(f"'{name}' exceeds maximum operation depth of {limits.max_depth}")
        for name, operation in shape.operations
        if operation.depth > limits.max_depth
    ]
    if too_deep:
        return too_deep
    if shape.aliases > limits.max_aliases:
        return [GraphQLError(f"{shape.aliases} aliases found. Allowed: {limits.max_aliases}")]
    return []
