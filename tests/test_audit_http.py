"""Audit rows of actions made through the REST layer carry its method, path and answered status."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from sqlalchemy import select
from starlette.requests import Request

from app import audit
from app.audit import Actor, HttpFacts
from app.context import RequestContext
from app.db.models import AuditLog
from app.db.session import Database

CREATE_USER = HttpFacts(
    method="POST",
    path="/api/v1/users",
    ok_status=201,
    statuses={"BAD_USER_INPUT": 422, "CONFLICT": 409, "FORBIDDEN": 403},
)


def _actor(http: HttpFacts | None) -> Actor:
    return Actor(
        user_id=None,
        email="admin@rest.test",
        tenant_id=None,
        impersonator_id=None,
        ip="10.0.0.7",
        user_agent="qassure-frontend",
        request_id=f"req-{uuid.uuid4().hex[:8]}",
        http=http,
    )


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


async def _recorded(db: Database, actor: Actor, **outcome: Any) -> AuditLog:
    async with db.transaction() as session:
        row = audit.record(session, actor, "user.created", tenant_id=None, target_type="user", **outcome)
    async with db.session() as session:
        return (await session.execute(select(AuditLog).where(AuditLog.id == row.id))).scalar_one()


def test_the_status_is_the_success_status_or_the_one_the_error_code_maps_to() -> None:
    assert CREATE_USER.status(True, None) == 201
    assert CREATE_USER.status(False, "CONFLICT") == 409
    assert CREATE_USER.status(False, "RATE_LIMITED") == 400  # a code the call does not name
    assert CREATE_USER.status(False, None) == 500


async def test_a_success_through_rest_stores_its_method_path_and_status(db: Database) -> None:
    row = await _recorded(db, _actor(CREATE_USER), target_id="usr_x")
    assert (row.http_method, row.http_path, row.http_status) == ("POST", "/api/v1/users", 201)
    assert row.success is True


async def test_a_failure_through_rest_stores_the_status_its_code_answers(db: Database) -> None:
    row = await _recorded(db, _actor(CREATE_USER), success=False, error_code="BAD_USER_INPUT")
    assert (row.http_method, row.http_path, row.http_status) == ("POST", "/api/v1/users", 422)
    assert row.success is False


async def test_an_action_not_made_through_rest_stores_no_http_facts(db: Database) -> None:
    row = await _recorded(db, _actor(None), success=False, error_code="CONFLICT")
    assert (row.http_method, row.http_path, row.http_status) == (None, None, None)


def test_the_request_context_hands_its_http_facts_to_the_actor() -> None:
    scope = {"type": "http", "headers": [(b"user-agent", b"qassure-frontend")], "client": ("10.0.0.7", 4000)}
    ctx = RequestContext(
        request=Request(scope),
        response=None,
        services=cast(Any, None),
        principal=None,
        auth_error=None,
        request_id="req-1",
        loaders=cast(Any, None),
    )
    assert ctx.actor().http is None
    ctx.http = CREATE_USER
    actor = ctx.actor()
    assert actor.http is CREATE_USER and actor.ip == "10.0.0.7" and actor.user_agent == "qassure-frontend"
    assert actor.as_user("usr_1", "a@b.test", None).http is CREATE_USER
