"""The demo's clusters: a kubesim fleet in the demo process, registered to the demo tenants.

The simulated clusters listen on new ports at each start, so their stored connections are
refreshed every time; the cluster rows (and their IDs) stay the same across restarts. They
serve HTTPS with a CA made at each start and carried in their kubeconfigs: kubectl sends a
bearer token only over TLS, so a kubeconfig downloaded from the demo works with it as it is.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select

from app.db.models import Cluster, Tenant
from app.db.types import utcnow
from app.ids import new_id
from app.k8s.kubeconfig import parse_kubeconfig
from app.services import Services

DEMO_CLUSTERS = (("acme", "prod-eu"), ("acme", "staging"), ("globex", "prod-us"))


@contextlib.asynccontextmanager
async def demo_fleet(services: Services, seed: int = 42) -> AsyncIterator[list[str]]:
    from kubesim.fleet import start_fleet

    async with start_fleet(len(DEMO_CLUSTERS), profile="small", seed=seed, control=True, tls=True) as fleet:
        if not services.settings.simulator_url:  # clusters created in the demo are made in this fleet
            services.settings.simulator_url = f"http://127.0.0.1:{fleet.control_port}"
        lines = []
        for index, (slug, name) in enumerate(DEMO_CLUSTERS):
            kubeconfig = fleet.kubeconfigs[f"cluster-{index}"].read_text()
            await _upsert(services, slug, name, kubeconfig)
            lines.append(f"  {slug:<10} cluster {name:<9} {fleet.server_url(f'cluster-{index}')}")
        yield lines


async def _upsert(services: Services, slug: str, name: str, kubeconfig: str) -> None:
    connection = parse_kubeconfig(kubeconfig).connection(None)
    sealed: dict[str, Any] = {
        "server_url": connection.server,
        "connection_sealed": services.sealer.seal(connection.to_json()),
        "kubeconfig_sealed": services.sealer.seal(kubeconfig),
        "status": "connected",
        "last_connected_at": utcnow(),
    }
    async with services.db.transaction() as session:
        tenant = (await session.execute(select(Tenant).where(Tenant.slug == slug))).scalar_one()
        query = select(Cluster).where(Cluster.tenant_id == tenant.id, Cluster.name == name)
        cluster = (await session.execute(query)).scalar_one_or_none()
        if cluster is None:
            session.add(
                Cluster(
                    id=new_id("cluster"),
                    tenant_id=tenant.id,
                    name=name,
                    provider="kubesim",
                    version="v1.37.0-kubesim",
                    region="sim-1",
                    context="cluster",
                    **sealed,
                )
            )
        else:
            for field, value in sealed.items():
                setattr(cluster, field, value)
