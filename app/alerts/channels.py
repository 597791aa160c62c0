"""Bus channels of alerting: what resolvers and the evaluator tell each other across replicas.

``alerts_channel(tenant)`` carries a tenant's alert changes as they happen: the evaluator's
(PENDING, FIRING, RESOLVED, DROPPED, UPDATED; ``app.alerts.delivery.message`` gives their shape)
and the resolvers' (ACKNOWLEDGED); every message has ``type``, ``id`` (the alert) and ``clusterId``.
``silences_channel(tenant)`` carries ``{"type": "CREATED"|"EXPIRED"|"RULES", "id": ...}`` whenever a
silence or an alert rule of the tenant changes; whatever the message, the replica evaluating the
tenant's clusters reloads the tenant's silences and rules at once.
Provider-owned rows (no tenant) use the ``provider`` suffix, as ``status_channel`` does.
"""

from __future__ import annotations

PROVIDER = "provider"


def alerts_channel(tenant_id: str | None) -> str:
    return f"alerts.{tenant_id or PROVIDER}"


def silences_channel(tenant_id: str | None) -> str:
    return f"silences.{tenant_id or PROVIDER}"
