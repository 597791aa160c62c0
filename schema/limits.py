"""Query limits beyond the document's own: directive count, query cost and the cost budgets.

Cost is computed before execution, once the document is valid: each field costs 1, and the
selections under a connection are multiplied by its page size (`first` or `pageSize`, literal
or variable, else the default). The result is reported in `extensions.cost`, and charged to the
caller's budget and its tenant's (app/ratelimit.py).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
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
    value_from_ast_untyped,
)
from graphql.language import DirectiveNode
from strawberry.extensions import SchemaExtension

from schema.base import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from schema.document_shape import fragment_order, fragments_of

PAGE_ARGUMENTS = ("first", "pageSize", "last")


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
    """Each fragment is costed once, after the fragments it spreads, so the work is linear in the
    document's size (a spread closing a cycle costs nothing: validation refuses cycles)."""

    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, variables: dict, field_costs: dict[str, int] | None = None
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.fragments: dict[str, int] = {}
        self.field_costs = {} if field_costs is None else field_costs  # "Type.field": the most one call costs
        fragments = fragments_of(document)
        for name in fragment_order(fragments):
            fragment = fragments[name]
            target = self.schema.get_type(fragment.type_condition.name.value)
            self.fragments[name] = self.selection_cost(target, fragment.selection_set)

    def selection_cost(self, parent: Any, selection_set: SelectionSetNode | None) -> int:
        if selection_set is None or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field_cost(parent, selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selection_cost(target, selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragments.get(selection.name.value, 0)
        return total

    def field_cost(self, parent: Any, node: FieldNode) -> int:
        name = node.name.value
        fields = getattr(parent, "fields", {})
        if name.startswith("__") or name not in fields:
            return 0
        named = get_named_type(fields[name].type)
        multiplier = self.page_size(node) if named.name.endswith("Connection") else 1
        cost = 1 + multiplier * self.selection_cost(named, node.selection_set)
        coordinate = f"{parent.name}.{name}"
        if cost > self.field_costs.get(coordinate, 0):
            self.field_costs[coordinate] = cost
        return cost

    def page_size(self, node: FieldNode) -> int:
        for argument in node.arguments or ():
            if argument.name.value in PAGE_ARGUMENTS:
                value = value_from_ast_untyped(argument.value, self.variables)
                if isinstance(value, int):
                    return max(1, min(value, MAX_PAGE_SIZE))
        return DEFAULT_PAGE_SIZE


def cost_errors(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: dict,
    maximum: int,
    sink: dict[str, int],
    field_costs: dict[str, int] | None = None,
) -> list[GraphQLError]:
    """Each operation's cost, added up in `sink["requested"]`; an error for each over `maximum`.
    `field_costs` receives what one call of each field costs (by its schema coordinate)."""
    calculator = _CostCalculator(schema, document, variables, field_costs)
    errors = []
    for node in document.definitions:
        if not isinstance(node, OperationDefinitionNode):
            continue
        cost = calculator.selection_cost(schema.get_root_type(node.operation), node.selection_set)
        sink["requested"] = sink.get("requested", 0) + cost
        if cost > maximum:
            message = f"query cost {cost} exceeds the maximum of {maximum}; ask for smaller pages"
            errors.append(GraphQLError(message, node))
    return errors


class QueryCost(SchemaExtension):
    """Runs after validation (list it after Validation) and before execution."""

    async def on_validate(self) -> AsyncIterator[None]:
        ec = self.execution_context
        ctx = ec.context
        if not ec.pre_execution_errors and ec.graphql_document is not None:
            sink: dict[str, int] = {}
            maximum = ctx.settings.max_query_cost
            field_costs = getattr(ctx, "field_costs", None)
            errors = cost_errors(ec.schema._schema, ec.graphql_document, ec.variables or {}, maximum, sink,
                                 field_costs)  # fmt: skip
            ctx.cost.update(sink)
            if not errors:
                errors = await self._charge(ctx, sink.get("requested", 0))
            ec.pre_execution_errors = errors
        yield

    @staticmethod
    async def _charge(ctx: Any, cost: int) -> list[GraphQLError]:
        """To the caller's own budget (a user's or an API token's) and to its tenant's, which
        caps what all of the tenant's principals spend together."""
        settings = ctx.settings
        principal = ctx.principal
        if principal is None:
            limits = [(f"anonymous:{ctx.ip}", settings.principal_cost_budget)]
        else:
            own = f"token:{principal.api_token_id}" if principal.api_token_id else f"user:{principal.user_id}"
            tenant = f"tenant:{principal.tenant_id}" if principal.tenant_id else "provider"
            limits = [(own, settings.principal_cost_budget), (tenant, settings.tenant_cost_budget)]
        charge = await ctx.services.cost_budget.charge(limits, cost)
        if charge.refused is not None:
            whose = "this tenant's" if charge.refused.startswith(("tenant:", "provider")) else "your"
            retry = math.ceil(charge.retry_after)
            message = f"{whose} query cost budget is spent; retry in {retry} s"
            return [GraphQLError(message, extensions={"code": "RATE_LIMITED", "retryAfterSeconds": retry})]
        if charge.remaining is not None:
            ctx.cost["budgetRemaining"] = charge.remaining
        return []

    def get_results(self) -> dict[str, Any]:
        ctx = self.execution_context.context
        cost = dict(getattr(ctx, "cost", {}) or {})
        cost.setdefault("requested", 0)
        cost["maximum"] = ctx.settings.max_query_cost
        return {"cost": cost}
