"""Per-request DataLoaders, one module per domain; created by the context getter."""

from __future__ import annotations

from app.crypto import Sealer
from app.db.session import Database
from app.k8s.gateway import Gateway
from loaders.clusters import make_cluster_loader, make_kube_items_loader
from loaders.operations import make_operation_loader
from loaders.roles import make_held_role_loader, make_role_by_name_loader
from loaders.tenants import make_tenant_loader
from loaders.topology import make_snapshot_loader
from loaders.users import make_user_loader


class Loaders:
    def __init__(self, db: Database, scope: str | None, gateway: Gateway, sealer: Sealer) -> None:
        self.tenant = make_tenant_loader(db, scope)
        self.user = make_user_loader(db, scope)
        self.role_by_name = make_role_by_name_loader(db, scope)
        self.held_role = make_held_role_loader(db, scope)
        self.cluster = make_cluster_loader(db, scope)
        self.kube_items = make_kube_items_loader(gateway, sealer, self.cluster)
        self.operation = make_operation_loader(db, scope)
        self.topology_snapshot = make_snapshot_loader(db, scope)
