"""A firing alert in an incident, written straight to the database, for tests of the paths that
read or acknowledge one: raising alerts from a cluster's state is tested in tests/alerts/."""

from __future__ import annotations

from app.db.alerts import Alert, Incident
from app.db.session import Database
from app.ids import new_id


async def stored_alert(db: Database, tenant_id: str, cluster_id: str, namespace: str = "shop") -> tuple[str, str]:
    """(alert ID, incident ID) of a new firing PodCrashLooping alert and the incident holding it."""
    incident = Incident(id=new_id("incident"), tenant_id=tenant_id, cluster_id=cluster_id, namespace=namespace,
                        title="web is crash-looping", severity="critical")  # fmt: skip
    alert = Alert(
        id=new_id("alert"), tenant_id=tenant_id, cluster_id=cluster_id, rule="PodCrashLooping",
        name="pod crash-looping", fingerprint=new_id("alert")[-16:], severity="critical", state="firing",
        summary=f"{namespace}/web-0 is restarting", object_kind="Pod", object_namespace=namespace,
        object_name="web-0", topology_node_id=f"Pod/{namespace}/web-0", incident_id=incident.id,
    )  # fmt: skip
    async with db.transaction() as session:
        session.add(incident)
        await session.flush()
        session.add(alert)
    return alert.id, incident.id
