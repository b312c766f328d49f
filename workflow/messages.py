"""Inter-agency messages: the envelope every exchange between agencies travels in.

An :class:`Envelope` names its sender and receiver agencies, the service it asks for, the
dossier and step, when it was created and when it expires, the hash of its body, and the key
that signed it. :func:`canonical` is the byte form that is hashed and signed: JSON with sorted
keys, no insignificant white space, UTF-8, instants in UTC. Never pickle.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from workflow.dossier import ControlEvent, Dossier


class Service(StrEnum):
    """What a message asks of the receiving agency."""

    HANDOVER = "handover"
    SUPPLEMENT_REQUEST = "supplement_request"
    RESULT = "result"
    RECEIPT = "receipt"


def _json_default(value: object) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("instants in messages must be timezone-aware")
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    raise TypeError(f"{type(value).__name__} cannot be put in a message")


#: built once: ``json.dumps`` with options builds an encoder on every call
_CANONICAL = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    default=_json_default,
    allow_nan=False,
)


def canonical(value: Any) -> bytes:
    """The canonical bytes of a JSON-able value (sorted keys, compact, UTF-8, UTC instants)."""
    return _CANONICAL.encode(value).encode()


def body_hash(body: dict[str, Any]) -> str:
    """SHA-256 of the body's canonical bytes, hex."""
    return hashlib.sha256(canonical(body)).hexdigest()


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message the engine wants sent to another agency, stored in the outbox in the same
    transaction as the state change that caused it; the relay signs and publishes it later."""

    message_id: str
    from_agency: str
    to_agency: str
    service: Service
    dossier_code: str
    step: str | None
    created: dt.datetime
    body: dict[str, Any]


_URL_NAMESPACE = uuid.NAMESPACE_URL.bytes


def message_id(code: str, seq: int) -> str:
    """The id of the message a dossier's control-sheet row ``seq`` sends: the hex of
    ``uuid5(NAMESPACE_URL, "<code>/<seq>")``, the same for the same row, so a row never
    sends two messages. Computed from its definition (RFC 4122, section 4.3) rather than by
    ``uuid.uuid5``, whose ``UUID`` object took two thirds of the time (tests compare the two)."""
    digest = hashlib.sha1(_URL_NAMESPACE + f"{code}/{seq}".encode()).digest()
    value = int.from_bytes(digest[:16])
    value = (value & ~(0xF << 76)) | (5 << 76)  # version 5
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # variant: RFC 4122
    return f"{value:032x}"


def messages_for(dossier: Dossier, event: ControlEvent, reception: str) -> list[Outgoing]:
    """The messages a control-sheet row calls for: a hand-over (or, from the last step, the
    result) when the dossier changed agency; a supplement request to the reception agency when
    another agency asked for one. The body names the change, never the applicant."""
    if event.is_handover:
        service = Service.RESULT if event.trigger == "finish" else Service.HANDOVER
        target = event.to_agency
    elif event.trigger == "request_supplement" and event.agency != reception:
        service, target = Service.SUPPLEMENT_REQUEST, reception
    else:
        return []  # most steps: nothing to send
    body = {
        "seq": event.seq,
        "trigger": event.trigger,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "status": int(event.status),
        "note": event.note,
    }
    return [
        Outgoing(
            message_id=message_id(dossier.code, event.seq),
            from_agency=event.agency,
            to_agency=target,
            service=service,
            dossier_code=dossier.code,
            step=event.to_step,
            created=event.at,
            body=body,
        )
    ]


class Envelope(BaseModel):
    """One signed message between two agencies. Immutable; unknown fields are an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    from_agency: str = Field(min_length=1, max_length=32)
    to_agency: str = Field(min_length=1, max_length=32)
    service: Service
    dossier_code: str = Field(min_length=1, max_length=64)
    step: str | None = None
    created: dt.datetime
    expires: dt.datetime
    body: dict[str, Any] = Field(default_factory=dict)
    body_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    key_id: str = Field(min_length=1, max_length=64)
    signature: str = ""

    @field_validator("created", "expires")
    @classmethod
    def _aware(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            raise ValueError("must carry a UTC offset")
        return value

    @classmethod
    def draft(
        cls,
        *,
        from_agency: str,
        to_agency: str,
        service: Service,
        dossier_code: str,
        created: dt.datetime,
        ttl: dt.timedelta,
        key_id: str,
        body: dict[str, Any] | None = None,
        step: str | None = None,
        message_id: str | None = None,
    ) -> Envelope:
        """An unsigned envelope with its body hash computed; sign it before sending."""
        content = body or {}
        return cls(
            message_id=message_id or uuid.uuid4().hex,
            from_agency=from_agency,
            to_agency=to_agency,
            service=service,
            dossier_code=dossier_code,
            step=step,
            created=created,
            expires=created + ttl,
            body=content,
            body_hash=body_hash(content),
            key_id=key_id,
        )

    def signing_bytes(self) -> bytes:
        """What the signature covers: every field but the signature, canonically."""
        return canonical(self.model_dump(mode="python", exclude={"signature"}))

    def to_json(self) -> bytes:
        """The envelope on the wire."""
        return canonical(self.model_dump(mode="python"))
