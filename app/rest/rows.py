"""A row of the REST table: one documented method and path, the GraphQL operations it runs, how
the request becomes their variables, and how their result becomes the documented answer.

Rows hold no rule of their own: what a caller may do, and what a value may be, is decided by the
GraphQL operation the row names. A row only says where things are and what they are called."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

Data = dict[str, Any]


@dataclass(frozen=True)
class Call:
    """What one request brought, validated: its path parameters, query and body."""

    method: str
    path: Mapping[str, str]
    query: BaseModel | None
    body: BaseModel | None
    headers: Mapping[str, str]
    app_state: Any = None  # the application's state, for answers about the API itself

    def fields(self) -> Data:
        """Path parameters, then query and body fields under their GraphQL names (unset ones left out)."""
        merged: Data = dict(self.path)
        for model in (self.query, self.body):
            if model is not None:
                merged.update(model.model_dump(exclude_unset=True, exclude_none=True))
        return merged


Variables = Callable[[Call, Data], Data]
"""The variables of an operation, from the call and the data of the operations before it."""
Shape = Callable[[Any, Call], Any]
"""The documented answer made from the picked value, where renaming by alias is not enough."""


@dataclass(frozen=True)
class Listing:
    """A paged list: the picked value is a connection (`nodes`, `totalCount`, `pageInfo`) or a
    plain list, and `items` names the list in envelopes that name it (CKS's `{clusters, total}`)."""

    items: str = "items"


Chosen = Callable[[str, Call], tuple[str, bytes | str]]
"""A file whose format the request chooses: its media type and content, from the picked text."""


@dataclass(frozen=True)
class Attachment:
    """An answer that is a file, not JSON: the picked value is its text, unless `chosen` makes the
    file from it (a format the request names, a picture GraphQL gives as base64)."""

    media_type: str
    filename: Callable[[Call, Data], str]
    inline: bool = False
    chosen: Chosen | None = None
    media_types: tuple[str, ...] = ()  # the other types `chosen` may answer, for the OpenAPI document
    when: Callable[[Call], bool] | None = None  # only calls that ask for the file get it; the others answer JSON
    pick: str | None = None  # where the file's text is, when not at the row's `pick`

    def serves(self, call: Call) -> bool:
        return self.when is None or self.when(call)


@dataclass(frozen=True)
class Stream:
    """An answer that streams while a subscription runs, for the calls `when` picks (the others run
    the row's `operations`): `operation` names a subscription of the row's document, run with the
    call's variables; each event's data becomes `chunk(data)` of the body. The body ends when the
    subscription ends or the client goes; an error before the first event is answered as usual."""

    operation: str
    media_type: str
    chunk: Callable[[Data], str]
    when: Callable[[Call], bool]

    def serves(self, call: Call) -> bool:
        return self.when(call)


@dataclass(frozen=True, eq=False)  # rows are told apart by identity
class Row:
    method: str
    path: str
    document: str  # the `.graphql` file beside the dialect's table
    operations: tuple[str, ...]  # run in order; a row that needs two says so here
    summary: str
    tag: str
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    form: bool = False  # the body may also come as application/x-www-form-urlencoded
    yaml: bool = False  # the body may also come as YAML (several documents: a `List` of them)
    variables: Variables | None = None  # default: the call's fields
    pick: str = ""  # a dotted path into the data of all the operations
    epochs: tuple[str, ...] = ()  # dotted paths in the answer whose timestamps the document gives as epoch numbers
    shape: Shape | None = None
    listing: Listing | None = None
    attachment: Attachment | None = None
    stream: Stream | None = None
    status: int = 200
    statuses: Mapping[str, int] = field(default_factory=dict)  # an error code's status, where it differs
    public: bool = False  # answered without a credential (sign-in, refresh, health)
    response: type[BaseModel] | None = None  # the documented answer's model, when the GraphQL shape is not it

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path

    def variables_for(self, call: Call, data: Data) -> Data:
        return self.variables(call, data) if self.variables else call.fields()


def pick(data: Any, dotted: str) -> Any:
    """The value at `a.b.c` in the data; None where a step is missing."""
    value = data
    for step in filter(None, dotted.split(".")):
        if not isinstance(value, Mapping):
            return None
        value = value.get(step)
    return value
