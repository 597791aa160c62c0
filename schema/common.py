from __future__ import annotations

import strawberry


@strawberry.type(description="Confirms a change that returns no object (a deletion, a revocation).")
class Done:
    id: strawberry.ID | None = None
    ok: bool = True
