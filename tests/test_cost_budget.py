"""The cost budget counters: all of a request's budgets charged or none, per window, in this
process's memory or in a Redis that replicas share."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from app import ratelimit
from app.ratelimit import Charge, MemoryCostBudget, RedisCostBudget, cost_budget
from app.settings import load_settings
from tests.conftest import require_redis


@pytest.fixture
async def shared() -> AsyncIterator[tuple[RedisCostBudget, RedisCostBudget]]:
    url = require_redis()
    first, second = RedisCostBudget(url, 60), RedisCostBudget(url, 60)
    yield first, second
    await first.close()
    await second.close()


def keys() -> tuple[str, str]:
    run = uuid.uuid4().hex[:10]
    return f"user:{run}", f"tenant:{run}"


async def test_memory_charges_every_budget_or_none() -> None:
    now = [1000.0]
    budget = MemoryCostBudget(60, clock=lambda: now[0])
    user, tenant = keys()
    other = "user:other"
    assert await budget.charge([(user, 100), (tenant, 150)], 60) == Charge(40)
    assert await budget.charge([(other, 100), (tenant, 150)], 60) == Charge(30)
    refused = await budget.charge([(user, 100), (tenant, 150)], 35)
    assert (refused.remaining, refused.refused, refused.retry_after) == (None, tenant, 60.0)
    assert await budget.charge([(user, 100), (tenant, 150)], 30) == Charge(0)  # the refusal charged nothing
    now[0] += 60  # a new window for both
    assert await budget.charge([(user, 100), (tenant, 150)], 10) == Charge(90)


@pytest.mark.redis
async def test_redis_is_one_count_for_every_replica(shared: tuple[RedisCostBudget, RedisCostBudget]) -> None:
    first, second = shared
    user, tenant = keys()
    assert await first.charge([(user, 100), (tenant, 150)], 60) == Charge(40)
    refused = await second.charge([(user, 100), (tenant, 150)], 50)
    assert refused.refused == user and 59 < refused.retry_after <= 60
    assert await second.charge([(user, 100), (tenant, 150)], 40) == Charge(0)
    assert await first.charge([(user + "-other", 100), (tenant, 150)], 40) == Charge(10)  # the tenant's 150 - 140
    ttl = await first.redis.pttl(ratelimit.PREFIX + tenant)
    assert 59_000 < ttl <= 60_000  # the window started with the first charge and is not moved by later ones


async def test_an_unreachable_redis_lets_requests_through() -> None:
    budget = RedisCostBudget("redis://127.0.0.1:1/0", 60)
    try:
        assert await budget.charge([("user:x", 10)], 5) == Charge(None)
    finally:
        await budget.close()


def test_the_backend_follows_the_settings() -> None:
    secret = "s" * 40
    assert isinstance(cost_budget(load_settings(secret_key=secret)), MemoryCostBudget)
    assert isinstance(cost_budget(load_settings(secret_key=secret, broadcast_url="redis://r:6379/0")), RedisCostBudget)
    chosen = load_settings(secret_key=secret, broadcast_url="redis://r:6379/0", rate_limit_url="memory://")
    assert isinstance(cost_budget(chosen), MemoryCostBudget)
    assert isinstance(cost_budget(load_settings(secret_key=secret, rate_limit_url="redis://r/1")), RedisCostBudget)
