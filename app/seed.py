"""Creating the provider admin and the demo tenants (idempotent)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update

from app import audit
from app.audit import Actor
from app.auth.passwords import hash_password
from app.db.models import AuthSession, Tenant, User
from app.db.session import Database
from app.db.types import utcnow
from app.ids import new_id

DEMO_PASSWORD = "fleetgraph-demo-1"
DEMO_TENANTS = (("Acme Corp", "acme"), ("Globex", "globex"))
DEMO_ROLES = ("tenant_admin", "operator", "viewer")


@dataclass
class Credential:
    tenant: str
    email: str
    password: str
    role: str


async def ensure_provider_admin(db: Database, email: str, password: str) -> bool:
    """Creates the provider admin if no provider user has this email; True when it was created."""
    async with db.transaction() as session:
        same = func.lower(User.email) == email.lower()
        found = await session.execute(select(User.id).where(same, User.tenant_id.is_(None)))
        if found.first():
            return False
        session.add(
            User(
                id=new_id("user"),
                tenant_id=None,
                email=email.lower(),
                name="Provider administrator",
                role="super_admin",
                password_hash=await hash_password(password),
            )
        )
        return True


async def ensure_demo_tenants(db: Database) -> list[Credential]:
    credentials = []
    async with db.transaction() as session:
        for name, slug in DEMO_TENANTS:
            tenant = (await session.execute(select(Tenant).where(Tenant.slug == slug))).scalar_one_or_none()
            if tenant is None:
                tenant = Tenant(
                    id=new_id("tenant"),
                    name=name,
                    slug=slug,
                    admin_email=f"admin@{slug}.example",
                    subscription_tier="professional",
                )
                session.add(tenant)
            for role in DEMO_ROLES:
                email = f"{role.split('_')[-1]}@{slug}.example"
                exists = await session.execute(select(User.id).where(User.email == email, User.tenant_id == tenant.id))
                if not exists.first():
                    session.add(
                        User(
                            id=new_id("user"),
                            tenant_id=tenant.id,
                            email=email,
                            name=f"{name} {role.replace('_', ' ')}",
                            role=role,
                            password_hash=await hash_password(DEMO_PASSWORD),
                        )
                    )
                credentials.append(Credential(tenant=name, email=email, password=DEMO_PASSWORD, role=role))
    return credentials


async def reset_password(db: Database, email: str, password: str, tenant_slug: str | None = None) -> bool:
    """Set a user's password from the command line (the provider's when no tenant is named),
    lifting a lockout and ending their sessions; audited as done at the console. False if no
    such user."""
    async with db.transaction() as session:
        query = select(User).where(func.lower(User.email) == email.lower())
        if tenant_slug is None:
            query = query.where(User.tenant_id.is_(None))
        else:
            query = query.join(Tenant, Tenant.id == User.tenant_id).where(Tenant.slug == tenant_slug.lower())
        user = (await session.execute(query)).scalars().first()
        if user is None:
            return False
        user.password_hash = await hash_password(password)
        user.failed_logins, user.first_failed_at, user.locked_until = 0, None, None
        await session.execute(
            update(AuthSession)
            .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_reason="password reset at the console")
        )
        console = Actor(user_id=None, email="console", tenant_id=None, impersonator_id=None, ip="", user_agent="",
                        request_id="")  # fmt: skip
        audit.record(session, console, "user.password_reset", tenant_id=user.tenant_id, target_type="user",
                     target_id=user.id, changes={"by": "fleetgraph reset-password"})  # fmt: skip
    return True
