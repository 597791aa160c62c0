"""Kubilitics samples (seed 002): user management and per-cluster permissions, the tenant admin's."""

from __future__ import annotations

import uuid

from tests.rest.samples import Request, Sample, sample
from tests.rest.samples.kubilitics.accounts import CONFIRM, new_user
from tests.rest.world import World


async def _with_permission(world: World) -> str:
    """A fresh user holding `operator` on the world's cluster."""
    user_id, _ = await new_user(world)
    await world.gql(
        'mutation($t:ID!,$u:ID!,$c:ID!){ setClusterRole(tenantId:$t, userId:$u, clusterId:$c, role:"operator"){ id } }',
        {"t": world.tenant.id, "u": user_id, "c": world.cluster_id},
    )
    return user_id


@sample(weak="operator", foreign=False)
async def list_users(world: World) -> Request:
    return Request(query={"limit": 100, "offset": 0})


@sample(weak="operator", foreign=False, writes=True)
async def create_user(world: World) -> Request:
    username = f"new-{uuid.uuid4().hex[:10]}@{world.tenant.slug}.test"
    return Request(body={"username": username, "password": "secure-password-min-12-chars-9", "role": "viewer"})


@sample(weak="operator")
async def get_user(world: World) -> Request:
    return Request(path={"userId": world.tenant.user_ids["viewer"]})


@sample(weak="operator", writes=True)
async def update_user(world: World) -> Request:
    user_id, _ = await new_user(world)
    return Request(path={"userId": user_id}, body={"role": "operator"})


@sample(weak="operator", writes=True)
async def delete_user(world: World) -> Request:
    user_id, _ = await new_user(world)
    return Request(path={"userId": user_id}, headers=CONFIRM)


@sample(weak="operator", writes=True)
async def unlock_user(world: World) -> Request:
    user_id, _ = await new_user(world)
    return Request(path={"userId": user_id})


@sample(weak="operator")
async def list_permissions(world: World) -> Request:
    return Request(path={"userId": await _with_permission(world)})


@sample(weak="operator", writes=True)
async def set_permission(world: World) -> Request:
    user_id, _ = await new_user(world)
    return Request(path={"userId": user_id}, body={"cluster_id": world.cluster_id, "role": "operator"})


@sample(weak="operator", writes=True)
async def remove_permission(world: World) -> Request:
    user_id = await _with_permission(world)
    return Request(path={"userId": user_id, "clusterId": world.cluster_id}, headers=CONFIRM)


PERMISSIONS = "/api/v1/users/{userId}/cluster-permissions"
SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", "/api/v1/users"): list_users,
    ("POST", "/api/v1/users"): create_user,
    ("GET", "/api/v1/users/{userId}"): get_user,
    ("PATCH", "/api/v1/users/{userId}"): update_user,
    ("DELETE", "/api/v1/users/{userId}"): delete_user,
    ("POST", "/api/v1/users/{userId}/unlock"): unlock_user,
    ("GET", PERMISSIONS): list_permissions,
    ("POST", PERMISSIONS): set_permission,
    ("DELETE", f"{PERMISSIONS}/{{clusterId}}"): remove_permission,
}
