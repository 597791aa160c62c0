"""Alerts: rules evaluated from the live state, their lifecycle, silences, inhibition and incidents.

Pure functions and frozen dataclasses, no I/O: `rules` holds the built-in rule set and evaluates one
object, `state` keeps a cluster's active conditions current from its watch events, `lifecycle` moves
an alert through pending, firing and resolved, `silences` mutes and inhibits, `grouping` gathers
firing alerts into incidents.
"""

from __future__ import annotations

from app.alerts.grouping import GroupInput, IncidentKey, group, incident_status
from app.alerts.lifecycle import AlertState, Transition, advance, due
from app.alerts.rules import (
    RULES,
    Condition,
    Evaluation,
    ObjectRef,
    Rule,
    cluster_condition,
    conditions,
    evaluate,
    quantity,
    rule_set,
)
from app.alerts.silences import (
    INHIBIT_RULES,
    InhibitRule,
    Matcher,
    Silence,
    inhibited,
    next_silence_change,
    silenced_by,
    validate_matchers,
    validate_silence,
)
from app.alerts.state import Change, ClusterState

__all__ = [
    "INHIBIT_RULES", "RULES", "AlertState", "Change", "ClusterState", "Condition", "Evaluation", "GroupInput",
    "IncidentKey", "InhibitRule", "Matcher", "ObjectRef", "Rule", "Silence", "Transition", "advance",
    "cluster_condition", "conditions", "due", "evaluate", "group", "incident_status", "inhibited",
    "next_silence_change", "quantity", "rule_set", "silenced_by", "validate_matchers", "validate_silence",
]
