from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from kubesim import profiles
from kubesim.clock import Clock
from kubesim.controllers import cron
from kubesim.quantity import format_bytes, format_cpu, parse_quantity
from kubesim.store import ClusterState
from tests.kubesim_controllers.conftest import START, rt

minute_field = st.sampled_from(["*", "*/5", "0", "15,45", "10-20", "7"])
hour_field = st.sampled_from(["*", "*/6", "3", "9-17", "0,12"])
day_field = st.sampled_from(["*", "1", "15", "1-7", "*/10"])
month_field = st.sampled_from(["*", "1", "2", "*/3", "jun-aug"])
weekday_field = st.sampled_from(["*", "0", "mon-fri", "sat,sun", "3"])
moments = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC))


@settings(max_examples=60, deadline=None)
@given(minute_field, hour_field, day_field, month_field, weekday_field, moments)
def test_next_run_is_the_first_matching_minute(minute, hour, day, month, weekday, after) -> None:
    schedule = cron.parse(f"{minute} {hour} {day} {month} {weekday}")
    found = schedule.next_after(after)
    assert found > after and found.second == 0 and schedule.matches(found)
    probe = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    steps = 0
    while probe < found and steps < 3000:  # no earlier match in (a bounded prefix of) the gap
        assert not schedule.matches(probe)
        probe += timedelta(minutes=1)
        steps += 1


@given(st.integers(min_value=1, max_value=10**6))
def test_cpu_and_memory_round_trip(units: int) -> None:
    assert parse_quantity(format_cpu(Decimal(units) / 1000)) == Decimal(units) / 1000
    assert parse_quantity(format_bytes(Decimal(units * 1024))) == units * 1024


def test_large_profile_settles_five_thousand_running_pods() -> None:
    state = ClusterState("big", Clock(start=START))
    profiles.load_profile(state, "large", 1, 0)
    pods = state.list(rt(state, "", "pods"))
    assert 5000 <= len(pods) <= 5200
    assert all(p["status"]["phase"] == "Running" for p in pods)
    per_node: dict[str, int] = {}
    for pod in pods:
        per_node[pod["spec"]["nodeName"]] = per_node.get(pod["spec"]["nodeName"], 0) + 1
    assert max(per_node.values()) <= 110
    endpoints = state.get(rt(state, "", "endpoints"), "team-03", "svc-2")
    assert len(endpoints["subsets"][0]["addresses"]) == profiles.LARGE_REPLICAS
