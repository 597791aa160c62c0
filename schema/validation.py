"""Each request's document validated once per text (cached), in an order that keeps the work
bounded: our linear limits first (schema/document_limits.py), the standard rules only for a
document that keeps them, then the sizes of the request's variables (schema/input_limits.py).

This replaces Strawberry's ValidationCache, which runs every rule in one pass: a limit rule
there cannot spare the other rules a document they would spend seconds on.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, OverlappingFieldsCanBeMergedRule, validate
from graphql.validation import ASTValidationRule
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from schema.document_limits import DocumentLimits, limit_errors
from schema.input_limits import InputLimits, variable_errors

# graphql-core meters the comparisons of OverlappingFieldsCanBeMerged and aborts past its budget
# (500,000 units by default: seconds of one core, for a few hundred fields of one name). 30,000
# keeps the worst document to a few hundredths of a second and still compares the fragments of
# the spread cap (100, all selecting one field: 25,000 units); the queries of the SPA, the REST
# layer and the tests use none (they repeat no field), fragment-heavy ones tens to hundreds.
MERGE_BUDGET = 30_000
TOO_COMPLEX = "the document is too complex to validate: repeat fewer fields, or split it"


class BudgetedOverlappingFields(OverlappingFieldsCanBeMergedRule):
    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.rule_context.remaining_complexity_budget = MERGE_BUDGET


def _with_budget(rules: tuple[type[ASTValidationRule], ...]) -> tuple[type[ASTValidationRule], ...]:
    chosen = tuple(BudgetedOverlappingFields if rule is OverlappingFieldsCanBeMergedRule else rule for rule in rules)
    return (*chosen, MaybeNullValidationRule, OneOfInputValidationRule)  # as Strawberry adds them


@lru_cache(maxsize=512)
def check_document(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: tuple[type[ASTValidationRule], ...],
    limits: DocumentLimits,
    hide_suggestions: bool,
) -> tuple[GraphQLError, ...]:
    errors = limit_errors(document, limits)
    if not errors:
        errors = validate(schema, document, _with_budget(rules), hide_suggestions=hide_suggestions)
    return tuple(_plain(error) for error in errors)


def _plain(error: GraphQLError) -> GraphQLError:
    """graphql-core says only "Validation aborted." when its budget or the stack runs out."""
    if isinstance(error, ValidationAbortedError) and error.message == "Validation aborted.":
        return GraphQLError(TOO_COMPLEX)
    return error


class Validation(SchemaExtension):
    def __init__(self, documents: DocumentLimits, inputs: InputLimits, hide_suggestions: bool) -> None:
        self.documents = documents
        self.inputs = inputs
        self.hide_suggestions = hide_suggestions

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        schema, document = ec.schema._schema, ec.graphql_document
        assert document is not None
        errors = list(check_document(schema, document, ec.validation_rules, self.documents, self.hide_suggestions))
        if not errors:
            errors = variable_errors(schema, document, ec.operation_name, ec.variables or {}, self.inputs)
        ec.pre_execution_errors = errors
        yield
