"""A tenant's own alert rules: a metric threshold over its clusters (one, or all of them).

A rule is a PromQL query giving one value per series, a comparison and a threshold, held for
`forSeconds` before it fires; each sample of a cluster evaluates it (app/alerts/evaluator.py),
scoped to that cluster as every tenant query is. Rules are tenant-admin work (`alerts:admin`),
audited; reading them takes `clusters:read`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select

from app import audit
from app.alerts.channels import silences_channel
from app.context import RequestContext
from app.db.alerts import AlertRule
from app.ids import new_id
from app.metrics.promql import parse
from app.validation import validated
from resolvers.clusters import get_cluster
from resolvers.common import get_or_404

ADMIN = "alerts:admin"


class RuleInput(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    query: str = Field(min_length=1, max_length=4000)
    comparison: Literal[">", ">=", "<", "<="]
    threshold: float = Field(allow_inf_nan=False)
    for_seconds: int = Field(default=0, ge=0, le=86_400)
    severity: Literal["critical", "warning", "info"] = "warning"
    summary: str = Field(default="", max_length=1000)
    runbook: str = Field(default="", max_length=10_000)
    cluster_id: str | None = None
    enabled: bool = True


async def list_rules(ctx: RequestContext, tenant_id: str) -> list[AlertRule]:
    async with ctx.db.session(ctx.scope) as session:
        query = select(AlertRule).where(AlertRule.tenant_id == tenant_id).order_by(AlertRule.name, AlertRule.id)
        return list((await session.execute(query)).scalars())


async def _checked(ctx: RequestContext, data: dict[str, object]) -> RuleInput:
    rule = validated(RuleInput, data)
    parse(rule.query)  # BAD_USER_INPUT on `query`, with the parser's message
    if rule.cluster_id is not None:
        await get_cluster(ctx, rule.cluster_id)  # another tenant's cluster is NOT_FOUND
    return rule


async def create_rule(ctx: RequestContext, tenant_id: str, data: dict[str, object]) -> AlertRule:
    rule = await _checked(ctx, data)
    row = AlertRule(id=new_id("alert_rule"), tenant_id=tenant_id, created_by=ctx.require_principal().user_id,
                    **rule.model_dump())
    async with ctx.db.transaction(ctx.scope) as session:
        session.add(row)
        audit.record(session, ctx.actor(), "alert_rule.created", tenant_id=tenant_id, target_type="alert_rule",
                     target_id=row.id, changes=rule.model_dump())
    await _changed(ctx, tenant_id, row.id)
    return row


async def update_rule(ctx: RequestContext, rule_id: str, data: dict[str, object]) -> AlertRule:
    async with ctx.db.transaction(ctx.scope) as session:
        row = await get_or_404(session, AlertRule, rule_id, "alert rule")
        current = RuleInput.model_validate({c: getattr(row, c) for c in RuleInput.model_fields})
        rule = await _checked(ctx, {**current.model_dump(), **{k: v for k, v in data.items() if v is not None}})
        for name, value in rule.model_dump().items():
            setattr(row, name, value)
        audit.record(session, ctx.actor(), "alert_rule.updated", tenant_id=row.tenant_id, target_type="alert_rule",
                     target_id=row.id, changes={k: v for k, v in data.items() if v is not None})
    await _changed(ctx, row.tenant_id or "", row.id)
    return row


async def delete_rule(ctx: RequestContext, rule_id: str) -> None:
    async with ctx.db.transaction(ctx.scope) as session:
        row = await get_or_404(session, AlertRule, rule_id, "alert rule")
        tenant_id = row.tenant_id or ""
        await session.delete(row)
        audit.record(session, ctx.actor(), "alert_rule.deleted", tenant_id=tenant_id, target_type="alert_rule",
                     target_id=rule_id)
    await _changed(ctx, tenant_id, rule_id)


async def _changed(ctx: RequestContext, tenant_id: str, rule_id: str) -> None:
    """The evaluators reload a tenant's rules and silences when either changes."""
    await ctx.services.bus.publish(silences_channel(tenant_id), {"type": "RULES", "id": rule_id})
