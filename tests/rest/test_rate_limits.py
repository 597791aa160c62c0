"""The REST layer's rate limits: Kubilitics' tiers, the Provisioner's minute and hour, the default
for CKS and QAssure, in memory and shared through Redis by separate processes."""

from __future__ import annotations

import asyncio
import logging
import sys
import textwrap
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from app.rest.rate_limits import POLICIES, Policy, RestRateLimiter, Tier, Verdict, storage_url
from app.settings import SettingsError, load_settings
from tests.conftest import require_redis
from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = "/api/v1/clusters/cls_1"
EXEC_PATHS = [
    ("POST", f"{CLUSTER}/shell"),
    ("GET", f"{CLUSTER}/shell/stream"),
    ("POST", f"{CLUSTER}/kcli/exec"),
    ("GET", f"{CLUSTER}/kcli/stream"),
    ("GET", f"{CLUSTER}/pods/default/web-0/exec"),
]


@pytest.fixture
async def limiter() -> AsyncIterator[RestRateLimiter]:
    limiter = RestRateLimiter()
    try:
        yield limiter
    finally:
        await limiter.close()


async def hits(limiter: RestRateLimiter, count: int, dialect: str, method: str, path: str,
               client: str = "192.0.2.1") -> list[Verdict]:  # fmt: skip
    return [await limiter.hit(dialect, method, path, client) for _ in range(count)]


def assert_counts_down(verdicts: list[Verdict], limit: int) -> None:
    now = time.time()
    assert all(v.allowed and v.limit == limit and v.retry_after == 0 for v in verdicts)
    assert [v.remaining for v in verdicts] == list(range(limit - 1, limit - 1 - len(verdicts), -1))
    assert all(now < v.reset <= now + 61 for v in verdicts)  # within the coming minute
    for v in verdicts:
        assert v.headers() == {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(v.remaining),
                               "X-RateLimit-Reset": str(v.reset)}  # fmt: skip


def assert_refused(verdict: Verdict, limit: int, within: int = 60) -> None:
    assert not verdict.allowed and verdict.limit == limit and verdict.remaining == 0
    assert 0 < verdict.retry_after <= within
    assert verdict.headers()["Retry-After"] == str(verdict.retry_after)
    assert verdict.headers()["X-RateLimit-Remaining"] == "0"
    assert verdict.message() == f"Rate limit exceeded. Please retry after {verdict.retry_after} seconds."


async def test_kubilitics_exec_and_shell_share_ten_a_minute(limiter: RestRateLimiter) -> None:
    verdicts = [await limiter.hit("kubilitics", method, path, "192.0.2.1") for method, path in EXEC_PATHS * 2]
    assert_counts_down(verdicts, 10)
    assert verdicts[-1].remaining == 0
    eleventh = await limiter.hit("kubilitics", "POST", f"{CLUSTER}/shell", "192.0.2.1")
    assert_refused(eleventh, 10)
    assert eleventh.reset >= time.time()
    other_ip = await limiter.hit("kubilitics", "POST", f"{CLUSTER}/shell", "192.0.2.2")
    assert other_ip.allowed and other_ip.remaining == 9  # counted per IP


async def test_kubilitics_gets_and_other_methods_have_their_own_budgets(limiter: RestRateLimiter) -> None:
    await hits(limiter, 11, "kubilitics", "POST", f"{CLUSTER}/kcli/exec")  # the exec tier spent
    gets = await hits(limiter, 120, "kubilitics", "GET", f"{CLUSTER}/shell/status")  # a GET like any other
    assert_counts_down(gets, 120)
    assert_refused((await hits(limiter, 1, "kubilitics", "GET", "/api/v1/clusters"))[0], 120)
    writes = await hits(limiter, 60, "kubilitics", "DELETE", f"{CLUSTER}/resources/pods/default/web-0")
    assert_counts_down(writes, 60)
    assert_refused((await hits(limiter, 1, "kubilitics", "POST", "/api/v1/projects"))[0], 60)
    assert (await limiter.hit("kubilitics", "HEAD", "/api/v1/clusters", "192.0.2.1")).limit == 120  # HEAD reads


async def test_kubilitics_burst_is_the_whole_budget_at_once(limiter: RestRateLimiter) -> None:
    async def one(path: str) -> Verdict:
        return await limiter.hit("kubilitics", "GET", path, "192.0.2.9")

    at_once = await asyncio.gather(*(one(f"{CLUSTER}/events") for _ in range(130)))
    assert sum(v.allowed for v in at_once) == 120  # the documented burst of 120, not one more
    shells = await asyncio.gather(*(limiter.hit("kubilitics", m, p, "192.0.2.9") for m, p in EXEC_PATHS * 3))
    assert sum(v.allowed for v in shells) == 10  # burst 10


async def test_health_and_metrics_are_never_limited(limiter: RestRateLimiter) -> None:
    for path in ["/health", "/metrics", "/health/", "/compat/kubilitics/health", "/metrics?name=x"]:
        verdicts = await hits(limiter, 150, "kubilitics", "GET", path)
        assert all(v.allowed and v.headers() == {} for v in verdicts), path
    assert all(v.allowed for v in await hits(limiter, 150, "provisioner", "GET", "/health"))
    cluster_metrics = await hits(limiter, 121, "kubilitics", "GET", f"{CLUSTER}/metrics")  # a documented endpoint
    assert cluster_metrics[0].limit == 120 and not cluster_metrics[-1].allowed


async def test_provisioner_refuses_the_101st_in_a_minute_though_the_hour_has_room(limiter: RestRateLimiter) -> None:
    verdicts = await hits(limiter, 100, "provisioner", "GET", "/api/v1/jobs")
    assert_counts_down(verdicts, 100)  # the minute is the tightest: 99 left of it, 999 of the hour
    refused = await limiter.hit("provisioner", "POST", "/api/v1/clusters", "192.0.2.1")
    assert_refused(refused, 100, within=60)  # the minute refused it: the hour would say ~3600 s


async def test_the_tightest_limit_is_reported_whichever_window_it_is() -> None:
    limiter = RestRateLimiter(policies={"provisioner": Policy(other=Tier("api", ("5/minute", "3/hour")))})
    try:
        verdicts = await hits(limiter, 4, "provisioner", "GET", "/api/v1/jobs")
    finally:
        await limiter.close()
    assert [(v.allowed, v.limit, v.remaining) for v in verdicts] == [(True, 3, 2), (True, 3, 1), (True, 3, 0),
                                                                      (False, 3, 0)]  # fmt: skip
    assert 60 < verdicts[-1].retry_after <= 3600  # the hour's window


async def test_documents_without_limits_get_the_default(limiter: RestRateLimiter) -> None:
    for dialect, path in [("cks", "/api/tenants/ten_1/clusters"), ("qassure", "/compat/qassure/api/v1/tenants")]:
        assert_counts_down(await hits(limiter, 300, dialect, "GET", path), 300)
        assert_refused((await hits(limiter, 1, dialect, "POST", path))[0], 300)


async def test_a_window_resets_at_the_time_it_says() -> None:
    limiter = RestRateLimiter(policies={"cks": Policy(other=Tier("api", ("2/second",)))})
    try:
        first, second, refused = await hits(limiter, 3, "cks", "GET", "/api/tenants")
        assert first.allowed and second.allowed and (first.remaining, second.remaining) == (1, 0)
        assert not refused.allowed and refused.retry_after == 1 and refused.reset >= time.time()
        await asyncio.sleep(max(0.0, refused.reset - time.time()))  # until the announced reset, no longer
        again = await limiter.hit("cks", "GET", "/api/tenants", "192.0.2.1")
        assert again.allowed and again.limit == 2
    finally:
        await limiter.close()


async def test_an_unknown_dialect_is_a_mistake(limiter: RestRateLimiter) -> None:
    with pytest.raises(ValueError, match="nope"):
        await limiter.hit("nope", "GET", "/", "192.0.2.1")
    assert set(POLICIES) == {"cks", "kubilitics", "qassure", "provisioner"}
    with pytest.raises(ValueError):
        Tier("api", ("10 per fortnight",))


async def test_counters_live_where_the_settings_say() -> None:
    def url(**given: str | None) -> str:
        return storage_url(load_settings(**({"broadcast_url": "memory://", "rate_limit_url": None, "redis_url": None}
                                            | given)))  # fmt: skip

    assert url() == "memory://"
    assert url(broadcast_url="redis://bus:6379/0") == "redis://bus:6379/0"
    assert url(broadcast_url="postgres://db/x") == "memory://"
    assert url(broadcast_url="redis://bus:6379/0", redis_url="rediss://cache:6380/1") == "rediss://cache:6380/1"
    assert url(redis_url="redis://cache:6379/1", rate_limit_url="memory://") == "memory://"
    assert url(redis_url="redis://cache:6379/1", rate_limit_url="redis://limits:6379/2") == "redis://limits:6379/2"
    settings = load_settings(rate_limit_url=None, redis_url="rediss://cache:6380/1")
    limiter = RestRateLimiter.from_settings(settings)
    assert limiter.url == "rediss://cache:6380/1"
    await limiter.close()
    with pytest.raises(SettingsError, match="FLEETGRAPH_REDIS_URL: must start with redis:// or rediss://"):
        load_settings(redis_url="http://cache:6379")


async def test_an_unreachable_redis_lets_requests_through_and_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    limiter = RestRateLimiter(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    try:
        with caplog.at_level(logging.WARNING, logger="fleetgraph.rest.rate_limits"):
            verdicts = await hits(limiter, 3, "kubilitics", "POST", f"{CLUSTER}/shell")
    finally:
        await limiter.close()
    assert all(v.allowed and v.headers() == {} for v in verdicts)
    warnings = [r for r in caplog.records if r.name == "fleetgraph.rest.rate_limits"]
    assert len(warnings) == 1 and "unreachable" in warnings[0].getMessage()


@pytest.fixture
async def redis_prefix() -> AsyncIterator[tuple[str, str]]:
    """A Redis URL and a key prefix of this test's own, whose keys are removed afterwards."""
    url = require_redis()
    prefix = f"fleetgraph:rest:test-{uuid.uuid4().hex}"
    yield url, prefix
    client = Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.mark.redis
async def test_redis_counts_each_dialect_tier_and_client_under_the_prefix(redis_prefix: tuple[str, str]) -> None:
    url, prefix = redis_prefix
    limiter = RestRateLimiter(url, key_prefix=prefix)
    try:
        verdicts = await hits(limiter, 10, "kubilitics", "POST", f"{CLUSTER}/shell", "198.51.100.7")
        refused = await limiter.hit("kubilitics", "GET", f"{CLUSTER}/kcli/stream", "198.51.100.7")
        read = await limiter.hit("kubilitics", "GET", "/api/v1/clusters", "198.51.100.7")
    finally:
        await limiter.close()
    assert_counts_down(verdicts, 10)
    assert_refused(refused, 10)
    assert read.allowed and read.limit == 120
    client = Redis.from_url(url)
    try:
        keys = sorted([key.decode() async for key in client.scan_iter(match=f"{prefix}:*")])
    finally:
        await client.aclose()
    assert keys == [f"{prefix}:kubilitics/exec/198.51.100.7/10/1/minute",
                    f"{prefix}:kubilitics/get/198.51.100.7/120/1/minute"]  # fmt: skip


HITTER = textwrap.dedent(
    """
    import asyncio, sys
    from app.rest.rate_limits import Policy, RestRateLimiter, Tier

    async def main(url: str, prefix: str, count: int) -> None:
        limiter = RestRateLimiter(url, {"provisioner": Policy(Tier("api", ("30/minute", "1000/hour")))}, prefix)
        print("ready", flush=True)
        sys.stdin.readline()
        verdicts = [await limiter.hit("provisioner", "GET", "/api/v1/jobs", "203.0.113.5") for _ in range(count)]
        await limiter.close()
        print(sum(v.allowed for v in verdicts), flush=True)

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
    """
)


@pytest.mark.redis
async def test_two_processes_share_one_budget_through_redis(redis_prefix: tuple[str, str]) -> None:
    url, prefix = redis_prefix
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            HITTER,
            url,
            prefix,
            "20",
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        for _ in range(2)
    ]
    try:
        for process in processes:  # both ready, then both go at once
            assert process.stdout is not None
            assert (await asyncio.wait_for(process.stdout.readline(), 60)).strip() == b"ready"
        for process in processes:
            assert process.stdin is not None
            process.stdin.write(b"go\n")
            await process.stdin.drain()
        outputs = [await asyncio.wait_for(process.communicate(), 60) for process in processes]
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
    allowed = [int(out.strip()) for out, _ in outputs]
    assert sum(allowed) == 30, allowed  # 40 tries, one budget of 30: neither process alone could spend it
    assert all(count >= 10 for count in allowed)
