"""Access tokens (JWT, HS256 pinned) and opaque secrets stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from app.db.types import utcnow
from app.errors import Unauthenticated

ALGORITHM = "HS256"
ACCESS_TYP = "at+jwt"
ISSUER = "fleetgraph"
AUDIENCE = "fleetgraph-api"


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_secret(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    tenant_id: str | None
    session_id: str
    impersonator_id: str | None
    expires_at: datetime


class TokenService:
    def __init__(self, secret: str, access_minutes: int) -> None:
        self._key = OctKey.import_key(secret)
        self.access_lifetime = timedelta(minutes=access_minutes)
        self._registry = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": ISSUER},
            aud={"essential": True, "value": AUDIENCE},
            exp={"essential": True},
            sub={"essential": True},
            sid={"essential": True},
        )

    def issue_access(
        self,
        user_id: str,
        tenant_id: str | None,
        session_id: str,
        *,
        impersonator_id: str | None = None,
        lifetime: timedelta | None = None,
    ) -> tuple[str, datetime]:
        now = utcnow()
        expires = now + (lifetime or self.access_lifetime)
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": user_id,
            "tid": tenant_id,
            "sid": session_id,
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": secrets.token_hex(8),
        }
        if impersonator_id:
            claims["act"] = {"sub": impersonator_id}
        token = jwt.encode({"alg": ALGORITHM, "typ": ACCESS_TYP}, claims, self._key, algorithms=[ALGORITHM])
        return token, expires

    def decode_access(self, token: str) -> AccessClaims:
        try:
            decoded = jwt.decode(token, self._key, algorithms=[ALGORITHM])
            if decoded.header.get("typ") != ACCESS_TYP:
                raise Unauthenticated("not an access token")
            self._registry.validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise Unauthenticated("invalid or expired access token") from exc
        claims = decoded.claims
        act = claims.get("act") or {}
        return AccessClaims(
            user_id=str(claims["sub"]),
            tenant_id=claims.get("tid"),
            session_id=str(claims["sid"]),
            impersonator_id=act.get("sub") if isinstance(act, dict) else None,
            expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=utcnow().tzinfo),
        )
