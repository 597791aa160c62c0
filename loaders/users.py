from __future__ import annotations

from strawberry.dataloader import DataLoader

from app.db.models import User
from app.db.session import Database
from loaders.batch import by_id


def make_user_loader(db: Database, scope: str | None) -> DataLoader[str, User | None]:
    return DataLoader(load_fn=by_id(db, scope, User))
