"""A TLS Secret's certificate as metadata: subject, issuer, SANs, validity, and whether the key fits.

Pure functions over the Secret object; neither the key nor the certificate itself is returned.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from app.context import RequestContext
from app.errors import BadUserInput
from app.k8s.reading import Reader, name_of, namespace_of
from resolvers.insights import one
from resolvers.kube import items

Obj = dict[str, Any]


@dataclass
class Certificate:
    subject: str
    issuer: str
    common_name: str | None
    sans: list[str]
    valid_from: datetime
    valid_to: datetime
    days_remaining: int
    serial_number: str
    expired: bool
    self_signed: bool
    is_ca: bool
    signature_algorithm: str | None
    public_key_algorithm: str


@dataclass
class TlsInfo:
    namespace: str
    name: str
    type: str
    has_key: bool
    key_matches: bool | None = None
    certificate: Certificate | None = None
    chain: list[Certificate] = field(default_factory=list)
    error: str | None = None


def _sans(cert: x509.Certificate) -> list[str]:
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(n.value) for n in names]


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _key_algorithm(key: Any) -> str:
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}"
    return type(key).__name__.removeprefix("_").replace("PublicKey", "") or "unknown"


def certificate(cert: x509.Certificate, now: datetime) -> Certificate:
    cn = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    hash_algorithm = cert.signature_hash_algorithm
    remaining = cert.not_valid_after_utc - now
    return Certificate(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        common_name=str(cn[0].value) if cn else None,
        sans=_sans(cert),
        valid_from=cert.not_valid_before_utc,
        valid_to=cert.not_valid_after_utc,
        days_remaining=int(remaining.total_seconds() // 86400),
        serial_number=format(cert.serial_number, "X"),
        expired=now >= cert.not_valid_after_utc,
        self_signed=cert.subject == cert.issuer,
        is_ca=_is_ca(cert),
        signature_algorithm=hash_algorithm.name if hash_algorithm else None,
        public_key_algorithm=_key_algorithm(cert.public_key()),
    )


def _decoded(data: Obj, key: str) -> bytes | None:
    if key not in data:
        return None
    value = data[key]
    try:
        return base64.b64decode(value if isinstance(value, str) else "", validate=True)
    except (binascii.Error, ValueError):
        return b""


def _load_certificates(raw: bytes) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(raw)
    except ValueError:
        return [x509.load_der_x509_certificate(raw)]


def _key_matches(raw: bytes, cert: x509.Certificate) -> bool:
    try:
        key = serialization.load_pem_private_key(raw, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return bool(key.public_key().public_bytes(*spki) == cert.public_key().public_bytes(*spki))


def tls_info(secret: Obj, now: datetime | None = None) -> TlsInfo:
    """The certificate in `tls.crt` (the leaf first, then the rest of the chain) and whether `tls.key`
    belongs to it. Only metadata of the certificate is returned, never the key or the certificate."""
    now = now or datetime.now(UTC)
    namespace, name, r = namespace_of(secret), name_of(secret), Reader(secret, "Secret")
    data = r.mapping("data")
    crt, key = _decoded(data, "tls.crt"), _decoded(data, "tls.key")
    if crt is None:
        raise BadUserInput.field("name", f"Secret {namespace}/{name} has no tls.crt")
    info = TlsInfo(namespace, name, r.text("type") or "Opaque", key is not None)
    try:
        certs = _load_certificates(crt)
    except ValueError:
        info.error = "tls.crt holds no readable PEM or DER certificate"
        return info
    info.certificate, info.chain = certificate(certs[0], now), [certificate(c, now) for c in certs[1:]]
    if key is not None:
        info.key_matches = _key_matches(key, certs[0])
    return info




async def read_tls_info(ctx: RequestContext, cluster_id: str, namespace: str, name: str) -> TlsInfo:
    secrets = await items(ctx, cluster_id, "Secret", secret_values=True)  # facts of the certificate, never it
    return tls_info(one(secrets, "Secret", namespace, name))
