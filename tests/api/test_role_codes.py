"""A role's name is what people call it, any text; its code is the machine name users hold it by,
made from the name when not given, unique among the roles a tenant sees, and changed only while
no one holds the role. A role may be made from a system role, whose permissions it then starts
with, and it never gains a permission the person giving it lacks. QAssure's role rows (seed 003)
give 003's code as the system role a role is made from."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from alembic import command
from sqlalchemy import MetaData, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth.rbac import SYSTEM_ROLES
from app.db.migrate import alembic_config, upgrade
from app.db.session import make_engine
from tests.conftest import require_postgres
from tests.support.api import CREATE_USER, PASSWORD, Api, TenantUsers, make_tenant
from tests.support.databases import scratch_postgres

FIELDS = "id name code basedOn permissions scope"
CREATE_ROLE = f"mutation($in:CreateRoleInput!){{ createRole(input:$in){{ {FIELDS} }} }}"
UPDATE_ROLE = f"mutation($i:ID!,$in:UpdateRoleInput!){{ updateRole(id:$i,input:$in){{ {FIELDS} }} }}"
ROLE = f"query($i:ID!){{ node(id:$i){{ ... on Role {{ {FIELDS} }} }} }}"
DELETE_USER = "mutation($t:ID!,$u:ID!){ deleteUser(tenantId:$t,id:$u){ ok } }"
QASSURE = "/compat/qassure/api/v1"


def _permissions(system_role: str) -> list[str]:
    return sorted(SYSTEM_ROLES[system_role].permissions)


def _tag() -> str:
    return uuid.uuid4().hex[:8]


@pytest_asyncio.fixture(loop_scope="session")
async def tenant(api: Api, provider_token: str) -> TenantUsers:
    """A tenant of its own for each test: role names and codes are the tenant's."""
    return await make_tenant(api, provider_token, roles=())


async def _create(api: Api, token: str, **fields: Any) -> dict[str, Any]:
    return dict((await api.ok(CREATE_ROLE, {"in": fields}, token))["createRole"])


async def _update(api: Api, token: str, role_id: str, **fields: Any) -> dict[str, Any]:
    return dict((await api.ok(UPDATE_ROLE, {"i": role_id, "in": fields}, token))["updateRole"])


async def _member(api: Api, tenant: TenantUsers, role: str) -> tuple[str, str]:
    """A user of the tenant holding `role` (a code): their ID and token."""
    email = f"{_tag()}@{tenant.slug}.test"
    person = {"email": email, "name": "Role Holder", "role": role, "password": PASSWORD}
    made = await api.ok(CREATE_USER, {"t": tenant.id, "input": person}, tenant.tokens["tenant_admin"])
    return made["createUser"]["id"], (await api.login(email, PASSWORD))["accessToken"]


def _fields(error: dict[str, Any]) -> list[str]:
    return [d["field"] for d in error["extensions"].get("details", [])]


async def test_a_name_is_any_text_and_the_code_is_made_from_it(api: Api, tenant: TenantUsers) -> None:
    admin = tenant.tokens["tenant_admin"]
    quality = await _create(api, admin, name="Quality Manager", basedOn="quality_manager")
    assert (quality["name"], quality["code"], quality["basedOn"]) == (
        "Quality Manager", "quality_manager_2", "quality_manager"
    )  # fmt: skip
    assert quality["permissions"] == _permissions("quality_manager")
    assert (await _create(api, admin, name="Qualité  Manager", permissions=[]))["code"] == "qualite_manager"
    assert (await _create(api, admin, name="12 Monkeys", permissions=[]))["code"] == "role_12_monkeys"
    assert (await _create(api, admin, name="Quality-Manager", permissions=[]))["code"] == "quality-manager"
    for taken in ("Quality Manager", "QUALITY MANAGER"):
        again = await api.error(CREATE_ROLE, {"in": {"name": taken}}, admin)
        assert again["extensions"]["code"] == "CONFLICT" and taken in again["message"], taken
    for bad in ("Viewer", "x", "   ", "Line\nbreak", "Nul\x00"):
        refused = await api.error(CREATE_ROLE, {"in": {"name": bad}}, admin)
        assert _fields(refused) == ["name"], bad

    user_id, token = await _member(api, tenant, quality["code"])
    holder = "query($t:ID!,$u:ID!){ user(tenantId:$t,id:$u){ role roleId } }"
    held = (await api.ok(holder, {"t": tenant.id, "u": user_id}, admin))["user"]
    assert held == {"role": "quality_manager_2", "roleId": quality["id"]}
    assert (await api.ok("{ auditLogs(first:1){ totalCount } }", token=token))["auditLogs"]["totalCount"] > 0
    users = "query($t:ID!){ users(tenantId:$t){ totalCount } }"
    assert await api.code(users, {"t": tenant.id}, token) == "FORBIDDEN"


async def test_permissions_are_the_bases_or_none_unless_given(api: Api, tenant: TenantUsers) -> None:
    admin = tenant.tokens["tenant_admin"]
    assert (await _create(api, admin, name="Nothing Yet"))["permissions"] == []
    developer = await _create(api, admin, name="Deployer", basedOn="developer")
    assert developer["permissions"] == _permissions("developer")
    narrowed = await _create(api, admin, name="Reader", basedOn="developer", permissions=["workloads:read"])
    assert (narrowed["basedOn"], narrowed["permissions"]) == ("developer", ["workloads:read"])
    for base in ("super_admin", "pilot"):
        refused = await api.error(CREATE_ROLE, {"in": {"name": f"From {base}", "basedOn": base}}, admin)
        assert _fields(refused) == ["basedOn"], base


async def test_a_role_never_gains_a_permission_its_giver_lacks(api: Api, tenant: TenantUsers) -> None:
    admin = tenant.tokens["tenant_admin"]
    powers = ["roles:read", "roles:write", "users:read"]
    delegate = await _create(api, admin, name="Delegate", permissions=powers)
    _, token = await _member(api, tenant, delegate["code"])
    for fields in ({"permissions": ["secrets:read"]}, {"basedOn": "operator"}, {"basedOn": "tenant_admin"}):
        refused = await api.error(CREATE_ROLE, {"in": {"name": f"Escalation {_tag()}", **fields}}, token)
        assert refused["extensions"]["code"] == "FORBIDDEN", fields
    beyond = await api.error(CREATE_ROLE, {"in": {"name": "Secret Keeper", "permissions": ["secrets:read"]}}, token)
    assert beyond["message"].endswith("you do not hold: secrets:read")
    assert (await _create(api, token, name="Helper", permissions=["users:read"]))["permissions"] == ["users:read"]

    keeper = await _create(api, admin, name="Keeper", permissions=["secrets:read"])
    assert (await _update(api, token, keeper["id"], description="keeps secrets"))["permissions"] == ["secrets:read"]
    kept = await _update(api, token, keeper["id"], permissions=["secrets:read", "users:read"])
    assert kept["permissions"] == ["secrets:read", "users:read"]  # secrets:read stays; nothing was gained
    for fields in ({"permissions": ["clusters:write"]}, {"basedOn": "viewer"}):
        refused = await api.error(UPDATE_ROLE, {"i": keeper["id"], "in": fields}, token)
        assert refused["extensions"]["code"] == "FORBIDDEN", fields
    after = (await api.ok(ROLE, {"i": keeper["id"]}, admin))["node"]
    assert (after["permissions"], after["basedOn"]) == (["secrets:read", "users:read"], None)
    assert (await _update(api, token, keeper["id"], permissions=[]))["permissions"] == []


async def test_names_change_freely_and_codes_only_while_no_one_holds_the_role(api: Api, tenant: TenantUsers) -> None:
    admin = tenant.tokens["tenant_admin"]
    role = await _create(api, admin, name="Release Captain", permissions=["audit:read"])
    other = await _create(api, admin, name="Other", permissions=[])
    assert role["code"] == "release_captain"
    renamed = await _update(api, admin, role["id"], name="Release Lead", code="release_lead")
    assert (renamed["name"], renamed["code"]) == ("Release Lead", "release_lead")
    user_id, _ = await _member(api, tenant, "release_lead")
    assert (await _update(api, admin, role["id"], name="Release Chief"))["name"] == "Release Chief"
    held = await api.error(UPDATE_ROLE, {"i": role["id"], "in": {"code": "release_chief"}}, admin)
    assert held["extensions"]["code"] == "CONFLICT" and "held by 1 user" in held["message"]
    for code, problem in (("viewer", "BAD_USER_INPUT"), ("Not A Code", "BAD_USER_INPUT"), (other["code"], "CONFLICT")):
        refused = await api.error(UPDATE_ROLE, {"i": role["id"], "in": {"code": code}}, admin)
        assert refused["extensions"]["code"] == problem, code
    clash = await api.error(UPDATE_ROLE, {"i": other["id"], "in": {"name": "release chief"}}, admin)
    assert clash["extensions"]["code"] == "CONFLICT"
    assert (await api.ok(ROLE, {"i": role["id"]}, admin))["node"]["code"] == "release_lead"

    await api.ok(DELETE_USER, {"t": tenant.id, "u": user_id}, admin)
    assert (await _update(api, admin, role["id"], code="release_chief"))["code"] == "release_chief"
    trail = await api.ok(
        '{ auditLogs(filter:{action:"role.updated"}, first:1){ nodes { targetId changes } } }', token=admin
    )
    latest = trail["auditLogs"]["nodes"][0]
    assert latest == {"targetId": role["id"], "changes": {"code": ["release_lead", "release_chief"]}}
    first_rename = await api.ok(
        '{ auditLogs(filter:{action:"role.updated"}, first:10){ nodes { changes } } }', token=admin
    )
    assert {"name": ["Release Captain", "Release Lead"], "code": ["release_captain", "release_lead"]} in [
        n["changes"] for n in first_rename["auditLogs"]["nodes"]
    ]


async def test_a_new_base_brings_its_permissions_and_none_keeps_them(api: Api, tenant: TenantUsers) -> None:
    admin = tenant.tokens["tenant_admin"]
    role = await _create(api, admin, name="Shifting", basedOn="viewer")
    assert role["permissions"] == _permissions("viewer")
    rebased = await _update(api, admin, role["id"], basedOn="developer")
    assert (rebased["basedOn"], rebased["permissions"]) == ("developer", _permissions("developer"))
    await _update(api, admin, role["id"], permissions=["audit:read"])
    same_base = await _update(api, admin, role["id"], basedOn="developer", description="still a developer")
    assert same_base["permissions"] == ["audit:read"]
    unbased = await _update(api, admin, role["id"], basedOn=None)
    assert (unbased["basedOn"], unbased["permissions"]) == (None, ["audit:read"])
    given = await _update(api, admin, role["id"], basedOn="quality_manager", permissions=["quality:read"])
    assert (given["basedOn"], given["permissions"]) == ("quality_manager", ["quality:read"])


async def test_codes_are_unique_among_the_roles_a_tenant_sees(
    api: Api, provider_token: str, tenant: TenantUsers
) -> None:
    """The provider's own roles are seen by every tenant: no tenant's role shares their code, and
    none of theirs shares a tenant's."""
    admin = tenant.tokens["tenant_admin"]
    shared = f"staff_{_tag()}"
    await _create(api, provider_token, name=f"Staff {shared}", code=shared, scope="platform", permissions=[])
    taken = await api.error(CREATE_ROLE, {"in": {"name": "Mine", "code": shared}}, admin)
    assert taken["extensions"]["code"] == "CONFLICT"
    own = (await _create(api, admin, name="Ours", code=f"ours_{_tag()}"))["code"]
    theirs = await api.error(
        CREATE_ROLE, {"in": {"name": "Staff copy", "code": own, "scope": "platform"}}, provider_token
    )
    assert theirs["extensions"]["code"] == "CONFLICT"
    made = await _create(api, admin, name=f"Staff {shared}")  # names are the tenant's own
    assert made["code"] == f"staff_{shared}"


# QAssure's rows


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_qassure_roles_are_made_from_the_system_role_their_code_names(api: Api, tenant: TenantUsers) -> None:
    admin, http = tenant.tokens["tenant_admin"], api.http
    body = {"name": "QA Lead", "code": "quality_manager", "description": "Signs off releases", "scope": "tenant"}
    created = await http.post(f"{QASSURE}/roles", json=body, headers=_bearer(admin))
    assert created.status_code == 200, created.text
    made = created.json()["data"]
    assert {k: made[k] for k in body} == body and made["created_at"]
    stored = (await api.ok(ROLE, {"i": made["id"]}, admin))["node"]
    assert (stored["code"], stored["basedOn"]) == ("qa_lead", "quality_manager")
    assert stored["permissions"] == _permissions("quality_manager")
    read = (await http.get(f"{QASSURE}/roles/{made['id']}", headers=_bearer(admin))).json()["data"]
    assert (read["name"], read["code"]) == ("QA Lead", "quality_manager")

    change = {**body, "name": "Release Developer", "code": "developer"}
    updated = await http.put(f"{QASSURE}/roles/{made['id']}", json=change, headers=_bearer(admin))
    assert updated.status_code == 200, updated.text
    assert (updated.json()["data"]["name"], updated.json()["data"]["code"]) == ("Release Developer", "developer")
    stored = (await api.ok(ROLE, {"i": made["id"]}, admin))["node"]
    assert (stored["code"], stored["permissions"]) == ("qa_lead", _permissions("developer"))

    narrowed = {**body, "name": "Auditor", "permissions": ["audit:read"]}
    audited = (await http.post(f"{QASSURE}/roles", json=narrowed, headers=_bearer(admin))).json()["data"]
    assert (await api.ok(ROLE, {"i": audited["id"]}, admin))["node"]["permissions"] == ["audit:read"]
    provider_role = await http.post(f"{QASSURE}/roles", json={**body, "code": "super_admin"}, headers=_bearer(admin))
    assert provider_role.status_code == 400 and provider_role.json()["success"] is False
    unknown = await http.post(f"{QASSURE}/roles", json={**body, "code": "pilot"}, headers=_bearer(admin))
    assert unknown.status_code == 400 and unknown.json()["error"] == "Validation failed"

    deleted = await http.delete(f"{QASSURE}/roles/{made['id']}", headers=_bearer(admin))
    assert deleted.status_code == 200 and deleted.json() == {"success": True, "message": "Role deleted"}
    gone = await http.get(f"{QASSURE}/roles/{made['id']}", headers=_bearer(admin))
    assert gone.status_code == 404


# Roles made when users held them by name


@pytest.fixture(params=["sqlite", "postgres"])
async def at_0005(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'roles.db'}")
        await upgrade(engine, "0005")
        yield engine
        await engine.dispose()
        return
    async with scratch_postgres(require_postgres()) as url:
        engine = make_engine(url)
        await upgrade(engine, "0005")
        yield engine
        await engine.dispose()


def _filler(column: Any) -> Any:
    """A value for a required column the test does not care about."""
    python = column.type.python_type
    if python is bool:
        return False
    if python is int:
        return 0
    if python is datetime:
        return datetime(2026, 1, 1, tzinfo=UTC)
    if python in (dict, list):
        return python()
    return f"{column.table.name}-{column.name}"


def _add(connection: Connection, tables: MetaData, table_name: str, **values: Any) -> None:
    table = tables.tables[table_name]
    required = {c.name: _filler(c) for c in table.columns if not c.nullable and c.server_default is None}
    connection.execute(insert(table).values(**(required | values)))


# Two roles whose codes are not their names, one named as the other's code; one whose code is its name.
OLD_ROLES = {"rol_x": ("alpha", "beta"), "rol_y": ("beta", "gamma"), "rol_z": ("zeta", "zeta")}
OLD_HOLDERS = {"usr_1": "alpha", "usr_2": "beta", "usr_3": "zeta", "usr_4": "viewer"}


def _stored_before(connection: Connection) -> None:
    tables = MetaData()
    tables.reflect(connection)
    _add(connection, tables, "tenants", id="ten_1", slug="one")
    _add(connection, tables, "tenants", id="ten_2", slug="two")
    _add(connection, tables, "clusters", id="cls_1", tenant_id="ten_1")
    for role_id, (name, code) in OLD_ROLES.items():
        _add(connection, tables, "roles", id=role_id, tenant_id="ten_1", name=name, code=code, permissions=[])
    for user_id, role in OLD_HOLDERS.items():
        _add(connection, tables, "users", id=user_id, tenant_id="ten_1", email=f"{user_id}@t.test", role=role)
    _add(connection, tables, "users", id="usr_9", tenant_id="ten_2", email="other@t.test", role="alpha")
    _add(connection, tables, "cluster_role_overrides", id="ovr_1", tenant_id="ten_1", user_id="usr_4",
         cluster_id="cls_1", role="alpha")  # fmt: skip


def _held(connection: Connection) -> dict[str, Any]:
    tables = MetaData()
    tables.reflect(connection)
    users, overrides, roles = (tables.tables[n] for n in ("users", "cluster_role_overrides", "roles"))
    return {
        "users": dict(connection.execute(select(users.c.id, users.c.role)).all()),
        "overrides": dict(connection.execute(select(overrides.c.id, overrides.c.role)).all()),
        "roles": {r.id: (r.name, r.code) for r in connection.execute(select(roles.c.id, roles.c.name, roles.c.code))},
    }


async def test_holders_of_a_role_come_to_hold_its_code(at_0005: AsyncEngine) -> None:
    async with at_0005.begin() as connection:
        await connection.run_sync(_stored_before)
    await upgrade(at_0005)
    async with at_0005.connect() as connection:
        after = await connection.run_sync(_held)
    holding = {"usr_1": "beta", "usr_2": "gamma", "usr_3": "zeta", "usr_4": "viewer", "usr_9": "alpha"}
    assert after == {"users": holding, "overrides": {"ovr_1": "beta"}, "roles": OLD_ROLES}

    def back(connection: Connection) -> None:
        config = alembic_config(str(at_0005.url))
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")

    async with at_0005.begin() as connection:
        await connection.run_sync(back)
        before = await connection.run_sync(_held)
    names_are_codes = {role_id: (code, code) for role_id, (_, code) in OLD_ROLES.items()}
    assert before == {"users": holding, "overrides": {"ovr_1": "beta"}, "roles": names_are_codes}
