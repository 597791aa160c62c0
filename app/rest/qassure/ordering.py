"""QAssure's sorting: `orderBy[]=field&orderBy[]=asc` (repeated for more keys) becomes GraphQL's
`orderBy` list, each documented field name becoming the GraphQL field it is. Which fields a list
sorts by is GraphQL's to say: a name it does not know is refused there, field by field."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.rest.rows import Call, Data

DIRECTIONS = ("asc", "desc")
MAX_KEYS = 10


class Sorted(BaseModel):
    """A list's query parameters, with `orderBy[]`: field, direction, field, direction..."""

    model_config = ConfigDict(populate_by_name=True)
    orderBy: list[str] = Field(
        default_factory=list,
        alias="orderBy[]",
        max_length=2 * MAX_KEYS,
        description='field and direction pairs: ["name", "asc"], or ["status", "desc", "name", "asc"]',
    )

    @field_validator("orderBy")
    @classmethod
    def _pairs(cls, value: list[str]) -> list[str]:
        if len(value) % 2:
            raise ValueError("give each field with its direction: orderBy[]=field&orderBy[]=asc")
        for direction in value[1::2]:
            if direction.lower() not in DIRECTIONS:
                raise ValueError(f"{direction!r} is not a direction: asc or desc")
        return value


def order_by(call: Call, fields: Mapping[str, str]) -> Data:
    """The `orderBy` variable of the call's `orderBy[]`, by `fields` (documented name → GraphQL
    name; a name not in it is passed as it is); nothing when the call gives no order."""
    assert isinstance(call.query, Sorted)
    given = call.query.orderBy
    if not given:
        return {}
    keys = zip(given[::2], given[1::2], strict=True)
    return {"orderBy": [{"field": fields.get(name, name), "direction": way.upper()} for name, way in keys]}
