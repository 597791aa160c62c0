"""broadcaster backends for Redis and PostgreSQL that hold up under our traffic.

- Redis: broadcaster 0.3.1 wakes its listener before the pub/sub connection is subscribed, so
  the first subscription of a bus could hear nothing; here the listener wakes after subscribing.
- PostgreSQL: LISTEN keeps a connection of its own and publishing uses a small pool (one
  shared connection fails with "another operation is in progress"); messages over NOTIFY's
  8,000-byte limit travel in chunks sent in one transaction, which PostgreSQL delivers together
  and in order; channel names over 63 bytes are replaced by a digest.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from typing import Any

import asyncpg
from broadcaster import Event
from broadcaster._backends.base import BroadcastBackend
from broadcaster._backends.redis import RedisBackend

CHUNK_CHARS = 1900  # at most 4 bytes a character: always under NOTIFY's 8,000 bytes
_CHUNK = "\x1echunk:"


class SubscribedRedisBackend(RedisBackend):
    async def subscribe(self, channel: str) -> None:
        await self._pubsub.subscribe(channel)
        self._ready.set()


def notify_channel(channel: str) -> str:
    if len(channel.encode()) <= 63:
        return channel
    return "bus_" + hashlib.sha256(channel.encode()).hexdigest()[:40]


class ChunkedPostgresBackend(BroadcastBackend):
    def __init__(self, url: str) -> None:
        self._url = url
        self._names: dict[str, str] = {}
        self._partial: dict[str, list[str]] = {}
        self._queue: asyncio.Queue[Event] = asyncio.Queue()

    async def connect(self) -> None:
        self._listen = await asyncpg.connect(self._url)
        self._pool = await asyncpg.create_pool(self._url, min_size=1, max_size=4)
        # LISTEN and UNLISTEN run on the one listening connection, which takes one command at a time
        self._listening = asyncio.Lock()

    async def disconnect(self) -> None:
        await self._listen.close()
        await self._pool.close()

    async def subscribe(self, channel: str) -> None:
        name = notify_channel(channel)
        self._names[name] = channel
        async with self._listening:
            await self._listen.add_listener(name, self._listener)

    async def unsubscribe(self, channel: str) -> None:
        async with self._listening:
            await self._listen.remove_listener(notify_channel(channel), self._listener)

    async def publish(self, channel: str, message: Any) -> None:
        name, text = notify_channel(channel), str(message)
        async with self._pool.acquire() as conn, conn.transaction():
            if len(text) <= CHUNK_CHARS:
                await conn.execute("SELECT pg_notify($1, $2)", name, text)
                return
            parts = [text[i : i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)]
            key = uuid.uuid4().hex
            for index, part in enumerate(parts):
                await conn.execute("SELECT pg_notify($1, $2)", name, f"{_CHUNK}{key}:{index}:{len(parts)}:{part}")

    def _listener(self, _conn: Any, _pid: int, name: str, payload: str) -> None:
        channel = self._names.get(name, name)
        if not payload.startswith(_CHUNK):
            self._queue.put_nowait(Event(channel=channel, message=payload))
            return
        key, index, count, part = payload[len(_CHUNK) :].split(":", 3)
        parts = self._partial.setdefault(key, [])
        parts.append(part)
        if int(index) + 1 == int(count):
            del self._partial[key]
            self._queue.put_nowait(Event(channel=channel, message="".join(parts)))

    async def next_published(self) -> Event:
        return await self._queue.get()


def backend_for(url: str) -> BroadcastBackend | None:
    """Our backend for the URL's scheme, or None to let broadcaster pick its own."""
    scheme = url.split("://", 1)[0]
    if scheme in ("redis", "rediss"):
        return SubscribedRedisBackend(url)
    if scheme in ("postgres", "postgresql"):
        return ChunkedPostgresBackend(url)
    return None
