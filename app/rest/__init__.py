"""The REST compatibility layer: the four source documents' paths, each a row that runs a
GraphQL operation against the one schema and answers in its document's shape.

Errors raised while the table loads:

    DocumentError   a row's document is missing, or the schema refuses it
"""

from app.rest.documents import DocumentError
from app.rest.rows import Attachment, Call, Listing, Row
from app.rest.table import RestLayer, Table

__all__ = ["Attachment", "Call", "DocumentError", "Listing", "Row", "RestLayer", "Table"]
