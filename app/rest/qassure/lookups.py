"""Reading one object by its ID through `node(id)`, for paths that name an object of one kind."""

from __future__ import annotations

from app.ids import kind_of
from app.rest.rows import Call, Data, Variables
from app.rest.values import UnknownId


def of_kind(kind: str, what: str) -> Variables:
    """`{id}` of the path, which must be an ID of `kind`: any other names no `what` (a 404)."""

    def variables(call: Call, _: Data) -> Data:
        identifier = call.path["id"]
        if kind_of(identifier) != kind:
            raise UnknownId(f"{what} {identifier!r} not found")
        return {"id": identifier}

    return variables
