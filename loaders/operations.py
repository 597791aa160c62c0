from __future__ import annotations

from strawberry.dataloader import DataLoader

from app.db.models import Operation
from app.db.session import Database
from loaders.batch import by_id


def make_operation_loader(db: Database, scope: str | None) -> DataLoader[str, Operation | None]:
    """Operations as the request first saw them; live streams read them afresh instead."""
    return DataLoader(load_fn=by_id(db, scope, Operation))
