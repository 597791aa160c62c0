"""Encryption at rest (kubeconfigs, SSH credentials) with Fernet from `cryptography`.

The key is derived from the service's secret key with HKDF, under a purpose label, so one
secret gives independent keys per use and the raw secret never encrypts data itself.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class DecryptionError(Exception):
    """Stored data cannot be decrypted with the current secret key."""


def _derive(secret: str, purpose: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"fleetgraph", info=purpose.encode())
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode()))


class Sealer:
    def __init__(self, secret: str, purpose: str) -> None:
        self._fernet = Fernet(_derive(secret, purpose))

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise DecryptionError("stored secret cannot be decrypted; was FLEETGRAPH_SECRET_KEY changed?") from exc
