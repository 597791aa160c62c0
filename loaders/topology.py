from __future__ import annotations

from strawberry.dataloader import DataLoader

from app.db.models import TopologySnapshot
from app.db.session import Database
from loaders.batch import by_id


def make_snapshot_loader(db: Database, scope: str | None) -> DataLoader[str, TopologySnapshot | None]:
    return DataLoader(load_fn=by_id(db, scope, TopologySnapshot))
