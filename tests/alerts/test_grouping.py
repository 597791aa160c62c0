"""Incidents: firing alerts of one cluster and namespace close in time, and the incident's status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.alerts import GroupInput, IncidentKey, group, incident_status

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ALERT = GroupInput("cls_a", "shop", "a1b2c3d4e5f60718")


def incident(id_: str, minutes_ago: float, cluster: str = "cls_a", namespace: str | None = "shop",
             status: str = "open") -> IncidentKey:
    return IncidentKey(id_, cluster, namespace, T0 - timedelta(minutes=minutes_ago), status)


def test_an_alert_joins_an_incident_of_its_namespace_within_the_window() -> None:
    assert group(ALERT, [incident("inc_1", 3)], T0) == "inc_1"
    assert group(ALERT, [incident("inc_1", 10)], T0) == "inc_1", "the window's end is inside it"
    assert group(ALERT, [incident("inc_1", 10.01)], T0) is None
    assert group(ALERT, [], T0) is None


def test_other_namespaces_clusters_and_resolved_incidents_are_not_joined() -> None:
    others = [incident("inc_ns", 1, namespace="web"), incident("inc_cluster", 1, cluster="cls_b"),
              incident("inc_scoped", 1, namespace=None), incident("inc_done", 1, status="resolved")]
    assert group(ALERT, others, T0) is None
    assert group(GroupInput("cls_a", None), others, T0) == "inc_scoped", "cluster-scoped alerts group together"


def test_the_most_recent_incident_wins_and_acknowledged_ones_still_group() -> None:
    candidates = [incident("inc_old", 8), incident("inc_new", 2, status="acknowledged"), incident("inc_mid", 5)]
    assert group(ALERT, candidates, T0) == "inc_new"


def test_the_window_is_a_parameter() -> None:
    assert group(ALERT, [incident("inc_1", 20)], T0, window=timedelta(minutes=30)) == "inc_1"
    assert group(ALERT, [incident("inc_1", 2)], T0, window=timedelta(minutes=1)) is None


@pytest.mark.parametrize(("states", "acknowledged", "expected"), [
    (["firing", "resolved"], False, "open"),
    (["firing", "resolved"], True, "acknowledged"),
    (["pending"], False, "open"),
    (["resolved", "resolved"], False, "resolved"),
    (["resolved", "resolved"], True, "resolved"),
    ([], True, "resolved"),
])
def test_incident_status(states: list[str], acknowledged: bool, expected: str) -> None:
    assert incident_status(states, acknowledged) == expected
