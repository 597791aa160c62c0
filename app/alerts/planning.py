"""What a cluster's alerts become after a change of what holds, with no I/O.

``plan`` takes the fingerprints a batch touched, moves each alert through its lifecycle, then decides
who is muted and what is written and delivered: a firing ClusterDisconnected inhibits the cluster's
other alerts, and the tenant's silences mute what they match; a muted alert is stored as it is but
not delivered. An alert that fired while muted is delivered once it is no longer muted; a resolution
is delivered to whoever was told the alert fired.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from app.alerts.lifecycle import FIRING, RESOLVED, AlertState, Transition, advance, fires_at
from app.alerts.rules import Condition, Rule
from app.alerts.silences import INHIBIT_RULES, Silence, inhibited, matches_all
from app.alerts.silences import silenced_by as silences_muting
from app.alerts.state import Change, ClusterState
from app.alerts.store import ClusterRef, RuleFacts, Update
from app.alerts.tenant_rules import TenantRule, describe

DISCONNECTED = "ClusterDisconnected"
GONE_FOR = 10**9  # the `for` of a tenant rule no longer known: it never fires from here, its next sample ends it


@dataclass(frozen=True)
class OpenAlert:
    """An unresolved alert as the evaluator follows it; ``notified``: its firing was delivered."""

    state: AlertState
    condition: Condition
    facts: RuleFacts
    summary: str
    inhibited: bool
    notified: bool


@dataclass(frozen=True)
class RuleSpec:
    facts: RuleFacts
    for_seconds: int
    describe: Callable[[Condition], str]


@dataclass(frozen=True)
class Rulebook:
    """The rules an alert of one cluster can come from: the built-in ones and its tenant's."""

    builtin: Mapping[str, Rule]
    tenant: Sequence[TenantRule]

    def spec(self, condition: Condition, current: OpenAlert | None) -> RuleSpec:
        rule = self.builtin.get(condition.rule)
        if rule is not None:
            return RuleSpec(RuleFacts(rule.code, rule.name, rule.severity, rule.runbook), rule.for_seconds,
                            rule.describe)
        for tenant_rule in self.tenant:
            if tenant_rule.id == condition.rule:
                facts = RuleFacts(tenant_rule.id, tenant_rule.name, tenant_rule.severity, tenant_rule.runbook)
                return RuleSpec(facts, tenant_rule.for_seconds, lambda c, r=tenant_rule: describe(r, c))  # type: ignore[misc]
        if current is not None:  # a rule deleted or disabled
            return RuleSpec(current.facts, GONE_FOR, lambda _: current.summary)
        return RuleSpec(RuleFacts(condition.rule, condition.rule, "warning", ""), GONE_FOR, lambda _: "")


@dataclass
class ClusterAlerts:
    """What the evaluator remembers of one cluster's alerts."""

    ref: ClusterRef
    state: ClusterState = field(default_factory=ClusterState)
    holding: dict[str, Condition] = field(default_factory=dict)  # every condition holding now
    alerts: dict[str, OpenAlert] = field(default_factory=dict)  # pending and firing, by fingerprint
    primed: set[str] = field(default_factory=set)  # kinds whose full list has been evaluated
    sampled: set[str] = field(default_factory=set)  # tenant rules evaluated since this replica took it
    status: str | None = None
    dirty: bool = False  # a batch failed to be stored: the next review looks at everything


def mirror(cluster: ClusterAlerts, change: Change, touched: set[str]) -> None:
    """Keep ``holding`` as the cluster state's change says, noting what it touched."""
    for condition in change.disappeared:
        cluster.holding.pop(condition.fingerprint, None)
        touched.add(condition.fingerprint)
    for condition in (*change.appeared, *change.updated):
        cluster.holding[condition.fingerprint] = condition
        touched.add(condition.fingerprint)


def take_samples(cluster: ClusterAlerts, builtin: Mapping[str, Rule], rules: frozenset[str],
                 evaluated: frozenset[str], holding: Mapping[str, Condition], touched: set[str]) -> None:
    """What the tenant rules that apply to the cluster (``rules``) found, those that answered being
    ``evaluated``: their conditions replace those they had; alerts of rules gone are looked at again."""
    cluster.sampled.update(evaluated)
    stale = {fp for fp, a in cluster.alerts.items() if a.state.rule not in builtin and a.state.rule not in rules}
    cluster.sampled.update(cluster.alerts[fp].state.rule for fp in stale)
    gone = {fp for fp, c in cluster.holding.items() if c.rule in evaluated or fp in stale}
    for fp in gone:
        del cluster.holding[fp]
    cluster.holding.update(holding)
    touched.update(gone | set(holding) | stale)


def due_now(cluster: ClusterAlerts, book: Rulebook, now: datetime) -> set[str]:
    """The pending alerts whose `for` has passed."""
    return {fp for fp, alert in cluster.alerts.items()
            if (due := fires_at(alert.state, book.spec(alert.condition, alert).for_seconds)) is not None
            and due <= now}


def next_moments(cluster: ClusterAlerts, book: Rulebook) -> list[datetime]:
    """When the cluster must be looked at again: a time-dependent rule, or a settled alert coming due."""
    moments = []
    check = cluster.state.next_check()
    if check is not None:
        moments.append(check)
    for alert in cluster.alerts.values():
        if not settled(cluster, alert, book.builtin):
            continue
        spec = book.spec(alert.condition, alert)
        due = fires_at(alert.state, spec.for_seconds)
        if due is not None:
            moments.append(due)
    return moments


def settled(cluster: ClusterAlerts, alert: OpenAlert, builtin: Mapping[str, Rule]) -> bool:
    """Whether what the alert's rule reads has been looked at in this replica since it took over."""
    rule = builtin.get(alert.state.rule)
    if rule is None:
        return alert.state.rule in cluster.sampled
    if rule.code == DISCONNECTED:
        return cluster.status is not None
    return cluster.primed.issuperset(rule.kinds)


def plan(cluster: ClusterAlerts, touched: set[str], now: datetime, book: Rulebook,
         silences: Sequence[Silence]) -> tuple[dict[str, OpenAlert | None], list[Update]]:
    """The lifecycle step of every touched alert, then who is muted, then what to write and deliver."""
    transitions = _transitions(cluster, touched, now, book)
    after = {fp: a.state for fp, a in cluster.alerts.items()}
    for fp, (step, _) in transitions.items():
        after[fp] = step.state  # type: ignore[assignment]
    sources_before = _sources(cluster, {fp: a.state for fp, a in cluster.alerts.items()})
    sources = _sources(cluster, after)
    review = set(transitions) | (touched & set(cluster.alerts))
    if sources.keys() != sources_before.keys():
        review |= set(cluster.alerts)
    planned: dict[str, OpenAlert | None] = {}
    updates: list[Update] = []
    for fp in sorted(review):
        update, alert = _decide(cluster, fp, transitions.get(fp), sources, silences, now, book)
        if update is not None:
            updates.append(update)
        if fp in transitions or update is not None or alert != cluster.alerts.get(fp):
            planned[fp] = alert
    return planned, updates


def _transitions(cluster: ClusterAlerts, touched: set[str], now: datetime,
                 book: Rulebook) -> dict[str, tuple[Transition, Condition]]:
    transitions: dict[str, tuple[Transition, Condition]] = {}
    for fp in sorted(touched):
        holding, current = cluster.holding.get(fp), cluster.alerts.get(fp)
        if current is None and holding is None:
            continue
        if holding is None and current is not None and not settled(cluster, current, book.builtin):
            continue  # its kinds are not listed yet here: no evidence that it stopped
        basis = holding or current.condition  # type: ignore[union-attr]
        spec = book.spec(basis, current)
        step = advance(current.state if current else None, holding is not None, now, spec.for_seconds,
                       fingerprint=fp, rule=basis.rule)
        if step is not None:
            transitions[fp] = (step, basis)
    return transitions


def _decide(cluster: ClusterAlerts, fp: str, transition: tuple[Transition, Condition] | None,
            sources: Mapping[str, Mapping[str, str]], silences: Sequence[Silence], now: datetime,
            book: Rulebook) -> tuple[Update | None, OpenAlert | None]:
    current, holding = cluster.alerts.get(fp), cluster.holding.get(fp)
    condition = holding or (transition[1] if transition else current.condition)  # type: ignore[union-attr]
    spec = book.spec(condition, current)
    state = transition[0].state if transition else current.state  # type: ignore[union-attr]
    labels = condition.labels_in(cluster.ref.id)
    muted_by = tuple(silences_muting(labels, silences, now))
    held_back = inhibited(labels, [s for f, s in sources.items() if f != fp])
    notified = current.notified if current is not None else False
    # an alert that stopped holding keeps the words it last had (a condition read back from its row
    # lacks the annotations its summary is made of)
    summary = spec.describe(condition) if holding is not None or current is None else current.summary
    if transition is not None:
        step = transition[0]
        event, deliver = step.kind.upper(), False
        if step.kind == FIRING:
            deliver = notified = not (held_back or muted_by)
        elif step.kind == RESOLVED:
            deliver = notified
    elif state is not None and state.state == FIRING and not notified and not (held_back or muted_by):
        event, deliver, notified = "FIRING", True, True  # fired while muted; delivered now
    elif current is not None and (held_back != current.inhibited or summary != current.summary
                                  or condition.value != current.condition.value):
        event, deliver = "UPDATED", False
    else:
        return None, current
    update = Update(event, condition, spec.facts, summary, transition[0] if transition else None, held_back,
                    muted_by, deliver)
    if state is None or state.state == RESOLVED:
        return update, None
    return update, OpenAlert(state, condition, spec.facts, summary, held_back, notified)


def _sources(cluster: ClusterAlerts, states: Mapping[str, AlertState | None]) -> dict[str, dict[str, str]]:
    """The labels of the firing alerts an inhibition rule names as a source."""
    found = {}
    for fp, state in states.items():
        if state is None or state.state != FIRING:
            continue
        condition = cluster.holding.get(fp) or (cluster.alerts[fp].condition if fp in cluster.alerts else None)
        if condition is None:
            continue
        labels = condition.labels_in(cluster.ref.id)
        if any(matches_all(rule.source, labels) for rule in INHIBIT_RULES):
            found[fp] = labels
    return found
