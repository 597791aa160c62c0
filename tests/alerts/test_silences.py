"""Matchers, silences and inhibition, with Alertmanager's semantics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.alerts import (
    INHIBIT_RULES,
    InhibitRule,
    Matcher,
    Silence,
    cluster_condition,
    conditions,
    inhibited,
    next_silence_change,
    silenced_by,
    validate_matchers,
    validate_silence,
)
from app.errors import BadUserInput

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POD = {"alertname": "PodNotReady", "severity": "warning", "kind": "Pod", "namespace": "shop", "name": "api-7f9",
       "cluster_id": "cls_a"}


@pytest.mark.parametrize(("matcher", "expected"), [
    (Matcher("namespace", "shop"), True),
    (Matcher("namespace", "sho"), False),
    (Matcher("namespace", "shop", is_equal=False), False),
    (Matcher("namespace", "web", is_equal=False), True),
    (Matcher("name", "api-.*", is_regex=True), True),
    (Matcher("name", "api", is_regex=True), False),           # anchored: no partial match
    (Matcher("name", "7f9", is_regex=True), False),
    (Matcher("name", ".*7f9", is_regex=True), True),
    (Matcher("name", "web|api-7f9", is_regex=True), True),    # the alternation is anchored as a whole
    (Matcher("name", "api-7f9|x", is_regex=True), True),
    (Matcher("name", "x|api", is_regex=True), False),
    (Matcher("name", "api-.*", is_regex=True, is_equal=False), False),
    (Matcher("container", ""), True),                         # a missing label is the empty string
    (Matcher("container", "", is_equal=False), False),
    (Matcher("container", ".*", is_regex=True), True),
    (Matcher("container", ".+", is_regex=True), False),
    (Matcher("name", "(", is_regex=True), False),             # an invalid pattern never matches
])
def test_matchers(matcher: Matcher, expected: bool) -> None:
    assert matcher.matches(POD) is expected


def test_matchers_print_as_alertmanager_writes_them() -> None:
    assert [str(m) for m in (Matcher("a", "1"), Matcher("a", "1", is_equal=False), Matcher("a", "1.*", True),
                             Matcher("a", "1.*", True, False))] == ['a="1"', 'a!="1"', 'a=~"1.*"', 'a!~"1.*"']


def silence(id_: str, *matchers: Matcher, start: float = 0, hours: float = 2) -> Silence:
    return Silence(id_, matchers, T0 + timedelta(hours=start), T0 + timedelta(hours=start + hours), "ops@example.com",
                   "maintenance")


def test_a_silence_mutes_from_its_start_until_its_end() -> None:
    shop = silence("sil_shop", Matcher("namespace", "shop"), Matcher("cluster_id", "cls_a"), start=1)
    assert silenced_by(POD, [shop], T0) == [] and shop.state(T0) == "pending"
    assert silenced_by(POD, [shop], T0 + timedelta(hours=1)) == ["sil_shop"]
    assert shop.state(T0 + timedelta(hours=2)) == "active"
    ends = T0 + timedelta(hours=3)
    assert silenced_by(POD, [shop], ends - timedelta(microseconds=1)) == ["sil_shop"]
    assert silenced_by(POD, [shop], ends) == [], "a silence ends on time, at ends_at exactly"
    assert shop.state(ends) == "expired"


def test_every_matcher_of_a_silence_must_match() -> None:
    silences = [
        silence("sil_ns", Matcher("namespace", "shop")),
        silence("sil_other_cluster", Matcher("namespace", "shop"), Matcher("cluster_id", "cls_b")),
        silence("sil_regex", Matcher("alertname", "Pod.*", is_regex=True),
                Matcher("severity", "critical", is_equal=False)),
        silence("sil_node", Matcher("alertname", "NodeNotReady")),
    ]
    assert silenced_by(POD, silences, T0 + timedelta(minutes=1)) == ["sil_ns", "sil_regex"]


def test_the_runtime_knows_when_silences_change() -> None:
    silences = [silence("a", Matcher("a", "1"), start=1), silence("b", Matcher("a", "1"), start=0, hours=5)]
    assert next_silence_change(silences, T0) == T0 + timedelta(hours=1)
    assert next_silence_change(silences, T0 + timedelta(hours=1)) == T0 + timedelta(hours=3)
    assert next_silence_change(silences, T0 + timedelta(hours=5)) is None


def fields(error: pytest.ExceptionInfo[BadUserInput]) -> list[str]:
    return [d["field"] for d in error.value.details]


def test_validation_refuses_what_alertmanager_refuses() -> None:
    validate_matchers([Matcher("namespace", "shop"), Matcher("container", "")])
    with pytest.raises(BadUserInput) as empty:
        validate_matchers([])
    assert fields(empty) == ["matchers"]
    with pytest.raises(BadUserInput) as bad:
        validate_matchers([Matcher("name", "api-(", is_regex=True), Matcher("2bad", "x")])
    assert fields(bad) == ["matchers[0].value", "matchers[1].name"]
    for everything in ([Matcher("namespace", ".*", is_regex=True)], [Matcher("team", "")],
                       [Matcher("namespace", "shop", is_equal=False), Matcher("a", "x*", is_regex=True)]):
        with pytest.raises(BadUserInput) as caught:
            validate_matchers(everything)
        assert fields(caught) == ["matchers"] and "empty string" in caught.value.message


def test_a_silence_must_end_after_it_starts_and_not_in_the_past() -> None:
    matchers = [Matcher("namespace", "shop")]
    validate_silence(matchers, T0, T0 + timedelta(hours=1), now=T0)
    with pytest.raises(BadUserInput) as backwards:
        validate_silence(matchers, T0, T0, now=T0)
    assert fields(backwards) == ["endsAt"]
    with pytest.raises(BadUserInput) as past:
        validate_silence(matchers, T0 - timedelta(hours=2), T0 - timedelta(hours=1), now=T0)
    assert fields(past) == ["endsAt"]
    with pytest.raises(BadUserInput) as both:
        validate_silence([], T0, T0 - timedelta(seconds=1))
    assert fields(both) == ["matchers", "endsAt"]


# -- inhibition --------------------------------------------------------------------------------------

def labels(cluster: str, alertname: str = "ClusterDisconnected") -> dict[str, str]:
    condition = cluster_condition("disconnected")
    assert condition is not None
    found = condition.labels_in(cluster)
    return found if alertname == "ClusterDisconnected" else {**POD, "alertname": alertname, "cluster_id": cluster}


def test_a_disconnected_cluster_holds_back_its_other_alerts_only() -> None:
    disconnected = labels("cls_a")
    assert inhibited(POD, [disconnected])
    assert inhibited({**POD, "alertname": "NodeNotReady"}, [disconnected, POD])
    assert not inhibited({**POD, "cluster_id": "cls_b"}, [disconnected]), "another cluster is not affected"
    assert not inhibited(disconnected, [disconnected]), "it never inhibits itself"
    assert not inhibited(POD, []), "a resolved source is no longer firing"
    assert not inhibited(POD, [POD, labels("cls_b")])


def test_inhibition_rules_generalise_with_equal_labels() -> None:
    node_down = InhibitRule(source=(Matcher("alertname", "NodeNotReady"),),
                            target=(Matcher("alertname", "PodNotReady"),), equal=("cluster_id", "node"))
    pod = {**POD, "node": "node-1"}
    source = {"alertname": "NodeNotReady", "cluster_id": "cls_a", "node": "node-1"}
    assert inhibited(pod, [source], [node_down])
    assert not inhibited(pod, [{**source, "node": "node-2"}], [node_down])
    assert inhibited({k: v for k, v in pod.items() if k != "node"},
                     [{k: v for k, v in source.items() if k != "node"}], [node_down]), "missing on both: equal"
    assert not inhibited(pod, [source], INHIBIT_RULES)


def test_two_sided_matches_do_not_inhibit_each_other() -> None:
    critical_over_warning = InhibitRule(source=(Matcher("severity", "critical|warning", is_regex=True),),
                                        target=(Matcher("severity", "warning|info", is_regex=True),),
                                        equal=("namespace",))
    warning = {"alertname": "A", "severity": "warning", "namespace": "shop"}
    other_warning = {"alertname": "B", "severity": "warning", "namespace": "shop"}
    critical = {"alertname": "C", "severity": "critical", "namespace": "shop"}
    assert not inhibited(warning, [other_warning], [critical_over_warning])
    assert inhibited(warning, [other_warning, critical], [critical_over_warning])


def test_alert_labels_from_rules_match_silences() -> None:
    pod = {"metadata": {"name": "api-7f9", "namespace": "shop"}, "status": {"phase": "Pending"}}
    [condition] = conditions("Pod", pod, T0)
    quiet = silence("sil", Matcher("alertname", "PodNotReady"), Matcher("cluster_id", "cls_a"))
    assert silenced_by(condition.labels_in("cls_a"), [quiet], T0) == ["sil"]
    assert silenced_by(condition.labels_in("cls_b"), [quiet], T0) == []
