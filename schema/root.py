"""The one schema: domain query/mutation types merged, with limits and error codes."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from app.settings import Settings
from schema.audit import AuditQuery
from schema.auth import AuthMutation, AuthQuery
from schema.clusters import ClusterMutation, ClusterQuery
from schema.errors import ErrorCodes
from schema.fleet import FleetQuery
from schema.lifecycle import LifecycleMutation
from schema.limits import QueryCost, directive_limit
from schema.namespaces import NamespaceMutation
from schema.nodes import NodeQuery
from schema.notifications import NotificationMutation, NotificationQuery, NotificationSubscription
from schema.operations import OperationMutation, OperationQuery, OperationSubscription
from schema.realtime import Subscription as ResourceSubscription
from schema.roles import RoleMutation, RoleQuery
from schema.scalars import DateTime
from schema.templates import TemplateMutation, TemplateQuery
from schema.tenants import TenantMutation, TenantQuery
from schema.topology import TopologyMutation, TopologyQuery, TopologySubscription
from schema.users import UserMutation, UserQuery
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
    ),
)
Subscription = merge_types(
    "Subscription", (ResourceSubscription, OperationSubscription, NotificationSubscription, TopologySubscription)
)

CONFIG = StrawberryConfig(scalar_map={datetime: DateTime})
SDL_PATH = Path(__file__).resolve().parent.parent / "schema.graphql"


class FleetgraphSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Internal errors are logged (with the request ID) by ErrorCodes; nothing to log twice."""


def build_schema(settings: Settings) -> strawberry.Schema:
    # The limit rules are built once so that the validation cache, keyed by the rules, hits.
    rules = [
        *QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
        directive_limit(settings.max_directives),
    ]
    extensions: list[Any] = [
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: ParserCache(maxsize=512),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=512),
        QueryCost,
        ErrorCodes,
    ]
    if not settings.introspection:
        extensions.insert(0, DisableIntrospection)
    return FleetgraphSchema(
        query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions, config=CONFIG
    )


def sdl() -> str:
    schema = strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription, config=CONFIG)
    return schema.as_str() + "\n"
