"""Personal data at rest: citizen identity numbers, encrypted and pseudonymised.

Decree 13/2023/NĐ-CP makes identity numbers basic personal data. The store never keeps one in
the clear: it keeps a Fernet token (AES-128-CBC with HMAC-SHA256, from ``cryptography``) to
recover it when the law allows, and a keyed pseudonym (HMAC-SHA256) to find a dossier by it. Both
keys are derived with HKDF from one deployment secret, ``LIENTHONG_SECRET_KEY``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from workflow.errors import StoreError


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


class Keyring:
    """Encrypts and pseudonymises identity numbers with keys derived from one secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise StoreError(
                "the secret key must be at least 32 bytes; generate one with "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`"
            )
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(secret, b"lienthong/pii/encrypt")))
        self._lookup = _derive(secret, b"lienthong/pii/lookup")

    def pseudonym(self, identity: str) -> str:
        """A stable keyed pseudonym: equal numbers give equal pseudonyms, and nothing else."""
        return hmac.new(self._lookup, identity.encode(), hashlib.sha256).hexdigest()

    def encrypt(self, identity: str) -> str:
        """The number, encrypted (a Fernet token)."""
        return self._fernet.encrypt(identity.encode()).decode()

    def decrypt(self, token: str) -> str:
        """The number back from its token; ``StoreError`` if the key does not match."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise StoreError(
                "an encrypted identity number cannot be read with this secret key; is "
                "LIENTHONG_SECRET_KEY the one the data was written with?"
            ) from None


def load_secret(value: str | None, fallback_file: Path) -> bytes:
    """The secret from ``value`` (hex), else from ``fallback_file``, created on first use (0600)."""
    if value:
        try:
            return bytes.fromhex(value)
        except ValueError:
            raise StoreError("LIENTHONG_SECRET_KEY must be hexadecimal (64 hex digits)") from None
    if fallback_file.exists():
        return bytes.fromhex(fallback_file.read_text(encoding="ascii").strip())
    fallback_file.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_bytes(32)
    descriptor = os.open(fallback_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(secret.hex())
    return secret
