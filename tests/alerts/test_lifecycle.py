"""pending → firing → resolved, with Prometheus' semantics, and when the next pending alert is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.alerts import RULES, AlertState, advance, due, rule_set
from app.alerts.lifecycle import DROPPED, FIRING, PENDING, RESOLVED

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FP, RULE = "a1b2c3d4e5f60718", "PodNotReady"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def pending(since: float = 0) -> AlertState:
    return AlertState(FP, RULE, PENDING, at(since))


def firing(since: float = 0, fired: float = 60) -> AlertState:
    return AlertState(FP, RULE, FIRING, at(since), fired_at=at(fired))


def resolved(since: float = 0, fired: float = 60, ended: float = 120) -> AlertState:
    return AlertState(FP, RULE, RESOLVED, at(since), fired_at=at(fired), resolved_at=at(ended))


# (current, holding, now, for, expected kind, expected state, new alert)
TABLE = [
    (None, False, 0, 60, None, None, False),
    (None, True, 0, 60, PENDING, pending(0), True),
    (None, True, 5, 0, FIRING, AlertState(FP, RULE, FIRING, at(5), fired_at=at(5)), True),
    (pending(0), True, 59, 60, None, None, False),
    (pending(0), True, 60, 60, FIRING, firing(0, 60), False),
    (pending(0), True, 300, 60, FIRING, firing(0, 300), False),
    (pending(0), False, 30, 60, DROPPED, None, False),
    (firing(0, 60), True, 500, 60, None, None, False),
    (firing(0, 60), False, 120, 60, RESOLVED, resolved(0, 60, 120), False),
    (resolved(0, 60, 120), False, 200, 60, None, None, False),
    (resolved(0, 60, 120), True, 200, 60, PENDING, pending(200), True),
    (resolved(0, 60, 120), True, 200, 0, FIRING, AlertState(FP, RULE, FIRING, at(200), fired_at=at(200)), True),
]


@pytest.mark.parametrize(("current", "holding", "now", "for_seconds", "kind", "state", "new_alert"), TABLE)
def test_transitions(current: AlertState | None, holding: bool, now: float, for_seconds: int, kind: str | None,
                     state: AlertState | None, new_alert: bool) -> None:
    transition = advance(current, holding, at(now), for_seconds, fingerprint=FP, rule=RULE)
    if kind is None:
        assert transition is None
        return
    assert transition is not None
    assert (transition.kind, transition.state, transition.previous, transition.new_alert) == (
        kind, state, current, new_alert)


def test_a_resolved_alert_that_comes_back_names_itself() -> None:
    transition = advance(resolved(), True, at(500), 60)
    assert transition is not None and transition.state == pending(500) and transition.new_alert


def test_a_new_alert_needs_its_identity() -> None:
    with pytest.raises(ValueError):
        advance(None, True, T0, 60)
    assert advance(None, False, T0, 60) is None, "nothing to name when nothing holds"
    with pytest.raises(ValueError):
        advance(pending(), True, T0, -1)


def test_a_flapping_condition_never_fires_and_a_steady_one_fires_once() -> None:
    rules = rule_set({RULE: 60})
    state: AlertState | None = None
    kinds = []
    for second, holding in [(0, True), (30, False), (40, True), (90, True), (100, True), (130, False), (140, False)]:
        transition = advance(state, holding, at(second), rules[RULE].for_seconds, fingerprint=FP, rule=RULE)
        if transition is not None:
            kinds.append((second, transition.kind))
            state = transition.state
    assert kinds == [(0, PENDING), (30, DROPPED), (40, PENDING), (100, FIRING), (130, RESOLVED)]
    assert state == AlertState(FP, RULE, RESOLVED, at(40), fired_at=at(100), resolved_at=at(130))


def test_due_names_the_next_pending_alert_to_fire() -> None:
    rules = rule_set({"PodNotReady": 600, "NodeNotReady": 60})
    states = [
        AlertState("p", "PodNotReady", PENDING, at(0)),          # due at 600
        AlertState("n", "NodeNotReady", PENDING, at(100)),       # due at 160
        AlertState("f", "NodeNotReady", FIRING, at(0), fired_at=at(60)),
        AlertState("r", "NodeNotReady", RESOLVED, at(0), fired_at=at(60), resolved_at=at(90)),
        AlertState("x", "RemovedRule", PENDING, at(0)),
    ]
    assert due(states, at(120), rules) == at(160)
    assert due(states, at(200), rules) == at(200), "an overdue alert is due now"
    assert due(states[2:], at(0), rules) is None
    assert due([], at(0), RULES) is None


def test_firing_at_the_due_moment() -> None:
    rules = rule_set({RULE: 90})
    start = advance(None, True, at(10), 90, fingerprint=FP, rule=RULE)
    assert start is not None and start.state is not None
    moment = due([start.state], at(11), rules)
    assert moment == at(100)
    fired = advance(start.state, True, moment, rules[RULE].for_seconds)
    assert fired is not None and fired.kind == FIRING and fired.state is not None
    assert fired.state.fired_at == at(100)
