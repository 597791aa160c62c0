"""Query limits beyond Strawberry's own: directive count, query cost, per-tenant cost budget.

Cost is computed before execution by a validation rule: each field costs 1, and the
selections under a connection are multiplied by its page size (`first` or `pageSize`,
literal or variable, else the default). The result is reported in `extensions.cost`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    get_named_type,
    validate,
    value_from_ast_untyped,
)
from graphql.language import DirectiveNode
from strawberry.extensions import SchemaExtension

from schema.base import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

PAGE_ARGUMENTS = ("first", "pageSize", "last")


class CostBudget:
    """A fixed-window budget of cost points per tenant (per process)."""

    def __init__(self, points: int, window_seconds: int) -> None:
        self.points = points
        self.window = window_seconds
        self._spent: dict[str, tuple[float, int]] = {}

    def charge(self, key: str, cost: int) -> int | None:
        """Spend `cost`; returns what is left, or None when the budget is exhausted."""
        now = time.monotonic()
        start, spent = self._spent.get(key, (now, 0))
        if now - start >= self.window:
            start, spent = now, 0
        if spent + cost > self.points:
            return None
        self._spent[key] = (start, spent + cost)
        return self.points - spent - cost


class DirectiveLimit(ValidationRule):
    maximum = 20

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.count = 0

    def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
        self.count += 1
        if self.count == self.maximum + 1:
            self.report_error(GraphQLError(f"too many directives: more than {self.maximum}", node))


def directive_limit(maximum: int) -> type[ValidationRule]:
    return type("DirectiveLimit", (DirectiveLimit,), {"maximum": maximum})


class _CostCalculator:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode], variables: dict) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def selection_cost(self, parent: Any, selection_set: SelectionSetNode | None, seen: frozenset[str]) -> int:
        if selection_set is None or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field_cost(parent, selection, seen)
            elif isinstance(selection, InlineFragmentNode):
                target = (
                    self.schema.get_type(selection.type_condition.name.value) if selection.type_condition else parent
                )
                total += self.selection_cost(target, selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    target = self.schema.get_type(fragment.type_condition.name.value)
                    total += self.selection_cost(target, fragment.selection_set, seen | {selection.name.value})
        return total

    def field_cost(self, parent: Any, node: FieldNode, seen: frozenset[str]) -> int:
        name = node.name.value
        fields = getattr(parent, "fields", {})
        if name.startswith("__") or name not in fields:
            return 0
        named = get_named_type(fields[name].type)
        multiplier = self.page_size(node) if named.name.endswith("Connection") else 1
        return 1 + multiplier * self.selection_cost(named, node.selection_set, seen)

    def page_size(self, node: FieldNode) -> int:
        for argument in node.arguments or ():
            if argument.name.value in PAGE_ARGUMENTS:
                value = value_from_ast_untyped(argument.value, self.variables)
                if isinstance(value, int):
                    return max(1, min(value, MAX_PAGE_SIZE))
        return DEFAULT_PAGE_SIZE


def query_cost_rule(variables: dict, maximum: int, sink: dict[str, int]) -> type[ValidationRule]:
    """A validation rule bound to this request's variables; it writes the cost into `sink`."""

    class QueryCostRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            document = self.context.document
            fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
            root = self.context.schema.get_root_type(node.operation)
            cost = _CostCalculator(self.context.schema, fragments, variables).selection_cost(
                root, node.selection_set, frozenset()
            )
            sink["requested"] = sink.get("requested", 0) + cost
            if cost > maximum:
                self.report_error(
                    GraphQLError(f"query cost {cost} exceeds the maximum of {maximum}; ask for smaller pages", node)
                )

    return QueryCostRule


class QueryCost(SchemaExtension):
    """Runs after the cached validation (list it after ValidationCache) and before execution."""

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        ctx = ec.context
        if not ec.pre_execution_errors and ec.graphql_document is not None:
            sink: dict[str, int] = {}
            rule = query_cost_rule(ec.variables or {}, ctx.settings.max_query_cost, sink)
            errors = list(validate(ec.schema._schema, ec.graphql_document, [rule]))
            ctx.cost.update(sink)
            if not errors:
                errors = self._charge(ctx, sink.get("requested", 0))
            ec.pre_execution_errors = errors
        yield

    @staticmethod
    def _charge(ctx: Any, cost: int) -> list[GraphQLError]:
        principal = ctx.principal
        key = principal.tenant_id or "provider" if principal else f"anonymous:{ctx.ip}"
        remaining = ctx.services.cost_budget.charge(key, cost)
        if remaining is None:
            message = "query cost budget exhausted for this tenant; retry later"
            return [GraphQLError(message, extensions={"code": "RATE_LIMITED"})]
        ctx.cost["budgetRemaining"] = remaining
        return []

    def get_results(self) -> dict[str, Any]:
        ctx = self.execution_context.context
        cost = dict(getattr(ctx, "cost", {}) or {})
        cost.setdefault("requested", 0)
        cost["maximum"] = ctx.settings.max_query_cost
        return {"cost": cost}
