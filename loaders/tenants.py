from __future__ import annotations

from strawberry.dataloader import DataLoader

from app.db.models import Tenant
from app.db.session import Database
from loaders.batch import by_id


def make_tenant_loader(db: Database, scope: str | None) -> DataLoader[str, Tenant | None]:
    return DataLoader(load_fn=by_id(db, scope, Tenant))
