"""Every row of the REST table, called as its document says, answers with the documented status
and a body the transcribed JSON Schema accepts, and runs exactly the operations its row names."""

from __future__ import annotations

import pytest

from tests.rest.contract import Served, check_shape, send, served
from tests.rest.world import World

ROWS = served()


@pytest.mark.parametrize("one", ROWS, ids=[one.id for one in ROWS])
async def test_documented_answer(world: World, one: Served, executed: list[str]) -> None:
    contract = one.documented
    request = await one.sample.build(world)
    executed.clear()
    response = await send(world, one, request)
    assert response.status_code == contract["status"], response.text[:2000]
    assert executed == list(one.row.operations)
    media = contract.get("content_type") or "application/json"
    if response.status_code != 204:
        assert response.headers["content-type"].startswith(media), response.headers["content-type"]
    if contract.get("response") is not None:
        problems = check_shape(contract["response"], response.json())
        assert not problems, (problems[:10], response.text[:2000])
