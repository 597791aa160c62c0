"""The one schema: domain query/mutation types merged, with limits and error codes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import strawberry
from graphql import GraphQLError
from graphql.validation import ASTValidationRule
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, ParserCache, SchemaExtension
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from app.settings import Settings
from schema.access import RequestFacts
from schema.alert_rules import AlertRuleMutation, AlertRuleQuery
from schema.alerts import AlertMutation, AlertQuery, AlertSubscription
from schema.audit import AuditQuery
from schema.auth import AuthMutation, AuthQuery
from schema.clusters import ClusterMutation, ClusterQuery
from schema.document_limits import DocumentLimits
from schema.errors import ErrorCodes
from schema.fleet import FleetQuery
from schema.incidents import IncidentMutation, IncidentQuery
from schema.input_limits import InputLimits, input_size_rule
from schema.lifecycle import LifecycleMutation
from schema.limits import QueryCost, directive_limit
from schema.logs import LogQuery, LogSubscription
from schema.metrics import MetricsQuery
from schema.namespaces import NamespaceMutation
from schema.nodes import NodeQuery
from schema.notifications import NotificationMutation, NotificationQuery, NotificationSubscription
from schema.operation_choice import OperationChoice
from schema.operations import OperationMutation, OperationQuery, OperationSubscription
from schema.realtime import Subscription as ResourceSubscription
from schema.roles import RoleMutation, RoleQuery
from schema.scalars import DateTime
from schema.service import ServiceQuery
from schema.silences import SilenceMutation, SilenceQuery
from schema.system_health import SystemHealthQuery
from schema.templates import TemplateMutation, TemplateQuery
from schema.tenants import TenantMutation, TenantQuery
from schema.topology import TopologyMutation, TopologyQuery, TopologySubscription
from schema.users import UserMutation, UserQuery
from schema.validation import Validation
from schema.workload_actions import WorkloadActionMutation, WorkloadActionQuery

Query = merge_types(
    "Query",
    (
        UserQuery,
        TenantQuery,
        RoleQuery,
        AuthQuery,
        AuditQuery,
        ClusterQuery,
        FleetQuery,
        NodeQuery,
        WorkloadActionQuery,
        OperationQuery,
        TemplateQuery,
        NotificationQuery,
        TopologyQuery,
        ServiceQuery,
        LogQuery,
        SystemHealthQuery,
        MetricsQuery,
        AlertQuery,
        SilenceQuery,
        AlertRuleQuery,
        IncidentQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        AuthMutation,
        TenantMutation,
        UserMutation,
        RoleMutation,
        ClusterMutation,
        NamespaceMutation,
        WorkloadActionMutation,
        LifecycleMutation,
        OperationMutation,
        TemplateMutation,
        NotificationMutation,
        TopologyMutation,
        AlertMutation,
        SilenceMutation,
        AlertRuleMutation,
        IncidentMutation,
    ),
)
Subscription = merge_types(
    "Subscription",
    (
        ResourceSubscription,
        OperationSubscription,
        NotificationSubscription,
        TopologySubscription,
        LogSubscription,
        AlertSubscription,
    ),
)

CONFIG = StrawberryConfig(scalar_map={datetime: DateTime})
SDL_PATH = Path(__file__).resolve().parent.parent / "schema.graphql"


class FleetgraphSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Internal errors are logged (with the request ID) by ErrorCodes; nothing to log twice."""


class QuietExecutor(StrawberryGraphQLCoreExecutionContext):
    """Coerces variables without "Did you mean" suggestions, which name fields and values."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        return super().build(*args, **{**kwargs, "hide_suggestions": True})


def build_schema(settings: Settings, tracing: Callable[[], SchemaExtension] | None = None) -> strawberry.Schema:
    """The schema with its limits; `tracing` adds resolver spans (app/telemetry/tracing.py)."""
    # The rules are built once so that the validation cache, keyed by the rules, hits.
    documents, inputs = DocumentLimits.from_settings(settings), InputLimits.from_settings(settings)
    rules: list[type[ASTValidationRule]] = [directive_limit(settings.max_directives), input_size_rule(inputs)]
    hide_suggestions = not settings.introspection  # suggestions would show the schema piece by piece
    extensions: list[Any] = [
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: ParserCache(maxsize=512),
        lambda: AddValidationRules(rules),
        lambda: Validation(documents, inputs, hide_suggestions),
        OperationChoice,
        QueryCost,
        RequestFacts,
        ErrorCodes,
    ]
    if tracing is not None:
        extensions.append(tracing)
    if not settings.introspection:
        extensions.insert(0, DisableIntrospection)
    return FleetgraphSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=CONFIG,
        execution_context_class=QuietExecutor if hide_suggestions else None,
    )


def sdl() -> str:
    schema = strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription, config=CONFIG)
    return schema.as_str() + "\n"
