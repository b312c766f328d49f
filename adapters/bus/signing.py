"""Signing and checking envelopes, with a registry of agency keys (X-Road's global configuration).

Each agency signs with its own key: Ed25519 (``cryptography``) by default, or HMAC-SHA256 where a
deployment configures a shared secret. A receiver checks, in this order, and rejects with the
first reason that applies: the envelope is well-formed; its key is known and belongs to the
sending agency; the signature holds; the body matches its hash; it has not expired (and was not
created in the future); and the sender may call that service of the receiver.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import ValidationError

from workflow.messages import Envelope, Service, body_hash

CLOCK_SKEW = dt.timedelta(minutes=5)


class Reason(StrEnum):
    """Why a message was rejected (recorded with it in the dead-letter queue)."""

    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    BODY_MISMATCH = "body_mismatch"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    NOT_ALLOWED = "not_allowed"
    REPLAY = "replay"
    UNKNOWN_DOSSIER = "unknown_dossier"
    UNKNOWN_MESSAGE = "unknown_message"


class Rejected(Exception):
    """A message that must go to the dead-letter queue, with no state changed."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


class Algorithm(StrEnum):
    ED25519 = "ed25519"
    HMAC_SHA256 = "hmac-sha256"


@dataclass(frozen=True, slots=True)
class AgencyKey:
    """A verification key: an Ed25519 public key, or an HMAC secret shared with the agency."""

    key_id: str
    agency: str
    algorithm: Algorithm
    material: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Signer:
    """One agency's signing key."""

    agency: str
    key_id: str
    algorithm: Algorithm
    secret: bytes = field(repr=False)

    @classmethod
    def generate(cls, agency: str, key_id: str | None = None) -> tuple[Signer, AgencyKey]:
        """A new Ed25519 key pair: the signer, and the public key for the registry."""
        private = Ed25519PrivateKey.generate()
        raw = private.private_bytes_raw()
        public = private.public_key().public_bytes_raw()
        key = key_id or f"{agency}#{hashlib.sha256(public).hexdigest()[:12]}"
        return cls(agency, key, Algorithm.ED25519, raw), AgencyKey(
            key, agency, Algorithm.ED25519, public
        )

    def sign(self, envelope: Envelope) -> Envelope:
        """The envelope with ``key_id`` set to this key and its signature."""
        if envelope.from_agency != self.agency:
            raise ValueError(
                f"agency {self.agency} cannot sign a message from {envelope.from_agency}"
            )
        unsigned = envelope.model_copy(update={"key_id": self.key_id, "signature": ""})
        data = unsigned.signing_bytes()
        if self.algorithm is Algorithm.ED25519:
            raw = _private_key(self.secret).sign(data)
        else:
            raw = hmac.new(self.secret, data, hashlib.sha256).digest()
        return unsigned.model_copy(update={"signature": base64.b64encode(raw).decode()})


class KeyRegistry:
    """Known agency keys, and which agency may call which service of which other agency."""

    def __init__(
        self,
        keys: Iterable[AgencyKey],
        allowed: Mapping[tuple[str, Service], Iterable[str]],
    ) -> None:
        self._keys = {key.key_id: key for key in keys}
        self._allowed = {route: frozenset(targets) for route, targets in allowed.items()}

    def parse(self, raw: bytes) -> Envelope:
        """The envelope in ``raw`` JSON, or :class:`Rejected` (malformed)."""
        try:
            return Envelope.model_validate_json(raw)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "(message)"
            raise Rejected(Reason.MALFORMED, f"{where}: {first['msg']}") from None

    def check(self, envelope: Envelope, now: dt.datetime) -> None:
        """Raise :class:`Rejected` with the first reason the envelope fails, else return."""
        key = self._keys.get(envelope.key_id)
        if key is None or key.agency != envelope.from_agency:
            raise Rejected(
                Reason.UNKNOWN_KEY,
                f"key '{envelope.key_id}' is not a key of agency {envelope.from_agency}",
            )
        if not _valid(key, envelope):
            raise Rejected(Reason.BAD_SIGNATURE, f"message {envelope.message_id}: signature fails")
        if body_hash(envelope.body) != envelope.body_hash:
            raise Rejected(Reason.BODY_MISMATCH, f"message {envelope.message_id}: body changed")
        if now >= envelope.expires:
            raise Rejected(
                Reason.EXPIRED,
                f"message {envelope.message_id} expired {envelope.expires.isoformat()}",
            )
        if envelope.created > now + CLOCK_SKEW:
            raise Rejected(
                Reason.NOT_YET_VALID,
                f"message {envelope.message_id} is dated "
                f"{envelope.created.isoformat()}, in the future",
            )
        targets = self._allowed.get((envelope.from_agency, envelope.service), frozenset())
        if envelope.to_agency not in targets:
            raise Rejected(
                Reason.NOT_ALLOWED,
                f"agency {envelope.from_agency} may not call '{envelope.service.value}' of "
                f"agency {envelope.to_agency}",
            )

    def admit(self, raw: bytes, now: dt.datetime) -> Envelope:
        """Parse and check ``raw``: the envelope, or :class:`Rejected`."""
        envelope = self.parse(raw)
        self.check(envelope, now)
        return envelope


@functools.lru_cache(maxsize=256)
def _private_key(secret: bytes) -> Ed25519PrivateKey:
    """The key object of a raw private key, built once (it is the costly part of signing)."""
    return Ed25519PrivateKey.from_private_bytes(secret)


@functools.lru_cache(maxsize=1024)
def _public_key(material: bytes) -> Ed25519PublicKey:
    """The key object of a raw public key, built once."""
    return Ed25519PublicKey.from_public_bytes(material)


def _valid(key: AgencyKey, envelope: Envelope) -> bool:
    try:
        signature = base64.b64decode(envelope.signature, validate=True)
    except ValueError:
        return False
    data = envelope.signing_bytes()
    if key.algorithm is Algorithm.HMAC_SHA256:
        return hmac.compare_digest(signature, hmac.new(key.material, data, hashlib.sha256).digest())
    try:
        _public_key(key.material).verify(signature, data)
    except InvalidSignature:
        return False
    return True


def routes_of(definitions: Iterable[Any]) -> dict[tuple[str, Service], set[str]]:
    """The allow-list implied by procedure definitions: each step's agency may hand over to the
    next step's, ask the reception agency for a supplement, and send the result to the return
    agency; every agency may send a receipt to every agency it hears from."""
    allowed: dict[tuple[str, Service], set[str]] = {}
    for definition in definitions:
        agencies = [step.agency for step in definition.steps]
        for here, there in itertools.pairwise(agencies):
            if here != there:
                allowed.setdefault((here, Service.HANDOVER), set()).add(there)
                allowed.setdefault((there, Service.RECEIPT), set()).add(here)
        for agency in set(agencies):
            for target, service in (
                (agencies[0], Service.SUPPLEMENT_REQUEST),
                (agencies[-1], Service.RESULT),
            ):
                if agency != target:
                    allowed.setdefault((agency, service), set()).add(target)
                    allowed.setdefault((target, Service.RECEIPT), set()).add(agency)
    return allowed


def with_successors(
    allowed: dict[tuple[str, Service], set[str]], successors: Mapping[str, str]
) -> dict[tuple[str, Service], set[str]]:
    """The allow-list extended for reorganisations: a successor may do whatever its
    predecessor could, receive what was addressed to it, and the predecessor may hand its open
    dossiers over to the successor. ``successors`` maps a replaced agency to its successor."""

    def heir(agency: str) -> str:
        seen = {agency}
        while agency in successors and successors[agency] not in seen:
            agency = successors[agency]
            seen.add(agency)
        return agency

    extended = {route: set(targets) for route, targets in allowed.items()}
    for (sender, service), targets in allowed.items():
        for target in targets:
            for a, b in (
                (heir(sender), target),
                (sender, heir(target)),
                (heir(sender), heir(target)),
            ):
                if a != b:
                    extended.setdefault((a, service), set()).add(b)
    for old in successors:
        new = heir(old)
        extended.setdefault((old, Service.HANDOVER), set()).add(new)
        extended.setdefault((new, Service.RECEIPT), set()).add(old)
    return extended
