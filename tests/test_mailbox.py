"""A subscriber's mailbox: bounded, coalescing per object, and a RESYNC when it cannot coalesce."""

from __future__ import annotations

import asyncio
from typing import Any

from app.realtime.mailbox import RESYNC, Mailbox


def event(type_: str, name: str, rv: int, kind: str = "ConfigMap", cluster: str = "c1") -> dict[str, Any]:
    return {
        "type": type_,
        "clusterId": cluster,
        "kind": kind,
        "namespace": "ns",
        "name": name,
        "resourceVersion": str(rv),
        "object": {"metadata": {"name": name, "resourceVersion": str(rv)}},
    }


async def drain(box: Mailbox) -> list[dict[str, Any]]:
    out = []
    while len(box):
        out.append(await box.get())
    return out


async def test_events_come_out_in_order_when_the_reader_keeps_up() -> None:
    box = Mailbox(capacity=10)
    for i in range(5):
        box.put(event("ADDED", f"o{i}", i))
    assert [e["name"] for e in await drain(box)] == [f"o{i}" for i in range(5)]
    assert box.coalesced == 0 and box.resyncs == 0


async def test_the_latest_state_of_an_object_wins() -> None:
    box = Mailbox(capacity=10)
    box.put(event("ADDED", "a", 1))
    await box.get()
    for rv in range(2, 500):
        box.put(event("MODIFIED", "a", rv))
    box.put(event("MODIFIED", "b", 600))
    assert len(box) == 2
    first, second = await drain(box)
    assert (
        first["type"] == "MODIFIED"
        and first["resourceVersion"] == "499"
        and first["object"]["metadata"]["resourceVersion"] == "499"
    )
    assert second["name"] == "b"
    assert box.coalesced == 497


async def test_added_then_modified_stays_added_and_delete_replaces() -> None:
    box = Mailbox(capacity=10)
    box.put(event("ADDED", "a", 1))
    box.put(event("MODIFIED", "a", 2))
    box.put(event("ADDED", "b", 3))
    box.put(event("MODIFIED", "b", 4))
    box.put(event("DELETED", "b", 5))
    a, b = await drain(box)
    assert (a["type"], a["resourceVersion"]) == ("ADDED", "2")
    assert (b["type"], b["resourceVersion"]) == ("DELETED", "5")


async def test_objects_are_told_apart_by_cluster_kind_namespace_and_name() -> None:
    box = Mailbox(capacity=10)
    box.put(event("MODIFIED", "a", 1))
    box.put(event("MODIFIED", "a", 2, kind="Secret"))
    box.put(event("MODIFIED", "a", 3, cluster="c2"))
    box.put({**event("MODIFIED", "a", 4), "namespace": "other"})
    assert len(box) == 4 and box.coalesced == 0


async def test_full_of_distinct_objects_it_sends_one_resync_and_never_grows() -> None:
    capacity = 20
    box = Mailbox(capacity=capacity)
    high_water = 0
    for i in range(1000):
        box.put(event("ADDED", f"o{i}", i))
        high_water = max(high_water, len(box))
    assert high_water <= capacity
    events = await drain(box)
    assert events[0]["type"] == RESYNC and events[0]["clusterId"] == "c1" and events[0]["kind"] == "ConfigMap"
    assert sum(e["type"] == RESYNC for e in events) == 1, "one RESYNC, not one per overflow"
    assert box.resyncs >= 1
    # what follows the RESYNC is newer than anything dropped
    assert all(int(e["resourceVersion"]) > 900 for e in events[1:])
    assert len(box) == 0


async def test_a_waiting_reader_wakes_on_put() -> None:
    box = Mailbox(capacity=5)
    reader = asyncio.create_task(box.get())
    await asyncio.sleep(0.01)
    assert not reader.done()
    box.put(event("ADDED", "a", 1))
    got = await asyncio.wait_for(reader, timeout=1)
    assert got["name"] == "a"
