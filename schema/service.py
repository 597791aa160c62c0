"""The service's own facts, public: nothing in them belongs to a tenant or a user."""

from __future__ import annotations

import strawberry

from resolvers import service as resolve


@strawberry.type(description="The service itself: its name, version and what its topology draws")
class ServiceInfo:
    name: str
    version: str
    topology_kinds: list[str] = strawberry.field(description="The kinds of object topology graphs draw")


@strawberry.type
class ServiceQuery:
    @strawberry.field(description="The service's name, version and topology kinds; answered without signing in")
    def service_info(self) -> ServiceInfo:
        about = resolve.about()
        return ServiceInfo(name=about.name, version=about.version, topology_kinds=list(about.topology_kinds))
