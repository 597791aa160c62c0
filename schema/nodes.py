from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers.nodes import load_node
from schema.audit import AuditEntry
from schema.base import Node
from schema.clusters import Cluster
from schema.operations import Operation
from schema.permissions import ReadsById, SignedIn
from schema.roles import Role
from schema.templates import ClusterTemplate
from schema.tenants import Tenant
from schema.users import User

_TYPES = {  # the same kinds as READS, which says what reading each takes
    "tenant": Tenant,
    "user": User,
    "role": Role,
    "audit": AuditEntry,
    "cluster": Cluster,
    "operation": Operation,
    "template": ClusterTemplate,
}


@strawberry.type
class NodeQuery:
    @strawberry.field(permission_classes=[SignedIn, ReadsById], description="Refetch any object by its global ID.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        kind, model = await load_node(info.context, str(id))
        return _TYPES[kind].from_model(model)  # type: ignore[attr-defined,no-any-return]
