"""GraphQL subscriptions for tests: the first events of a stream, or the error it was refused with."""

from __future__ import annotations

import asyncio
from typing import Any

from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport


def _transport(url: str, token: str) -> WebsocketsTransport:
    return WebsocketsTransport(
        url=url.replace("http://", "ws://") + "/graphql", init_payload={"Authorization": f"Bearer {token}"}
    )


async def refusal(url: str, token: str, query: str, variables: dict[str, Any]) -> str:
    """The error code a subscription is refused with (fails if it streams instead)."""
    async with Client(transport=_transport(url, token)) as session:
        try:
            async with asyncio.timeout(10):
                async for result in session.subscribe(gql(query), variable_values=variables):
                    raise AssertionError(f"the subscription streamed: {result}")
        except TransportQueryError as exc:
            return str((exc.errors or [{}])[0].get("extensions", {}).get("code"))
    raise AssertionError("the subscription ended without an error")
