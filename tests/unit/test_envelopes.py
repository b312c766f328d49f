"""Signed envelopes: what a receiver accepts, and each reason it rejects one."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.bus.signing import (
    AgencyKey,
    Algorithm,
    KeyRegistry,
    Reason,
    Rejected,
    Signer,
    routes_of,
)
from workflow.catalogue import Catalogue
from workflow.messages import Envelope, Service, canonical, message_id

WARD, POLICE, INSURANCE = "000.00.71.H26", "000.09.71.H26", "000.08.71.H26"
NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


PAIRS = {agency: Signer.generate(agency) for agency in (WARD, POLICE, INSURANCE)}


@pytest.fixture(scope="module")
def keys() -> dict[str, Signer]:
    return {agency: signer for agency, (signer, _) in PAIRS.items()}


@pytest.fixture(scope="module")
def registry(catalogue: Catalogue) -> KeyRegistry:
    public = [key for _, key in PAIRS.values()]
    hmac_key = AgencyKey("hmac-ins", INSURANCE, Algorithm.HMAC_SHA256, b"s" * 32)
    return KeyRegistry([*public, hmac_key], routes_of(catalogue.versions("2.000986")))


def handover(signer: Signer, **changes: object) -> Envelope:
    draft = Envelope.draft(
        from_agency=WARD,
        to_agency=POLICE,
        service=Service.HANDOVER,
        dossier_code="000.00.71.H26-260302-0001",
        created=NOW,
        ttl=dt.timedelta(days=2),
        key_id="-",
        body={"state": "residence_registration", "note": "Hồ sơ đủ"},
        step="residence_registration",
    )
    return signer.sign(draft.model_copy(update=changes) if changes else draft)


def test_a_signed_handover_is_admitted(keys: dict[str, Signer], registry: KeyRegistry) -> None:
    envelope = handover(keys[WARD])
    admitted = registry.admit(envelope.to_json(), NOW + dt.timedelta(minutes=1))
    assert admitted == envelope
    assert json.loads(envelope.to_json())["body"]["note"] == "Hồ sơ đủ"  # UTF-8, not escaped


def test_canonical_form_is_stable() -> None:
    assert canonical({"b": 1, "a": [NOW]}) == b'{"a":["2026-03-02T02:00:00.000000+00:00"],"b":1}'
    with pytest.raises(ValueError, match="timezone-aware"):
        canonical({"at": dt.datetime(2026, 3, 2)})


def test_hmac_keys_work_where_configured(registry: KeyRegistry) -> None:
    signer = Signer(INSURANCE, "hmac-ins", Algorithm.HMAC_SHA256, b"s" * 32)
    draft = Envelope.draft(
        from_agency=INSURANCE,
        to_agency=WARD,
        service=Service.RESULT,
        dossier_code="D",
        created=NOW,
        ttl=dt.timedelta(hours=1),
        key_id="-",
    )
    registry.admit(signer.sign(draft).to_json(), NOW)


def _rejected(registry: KeyRegistry, raw: bytes, now: dt.datetime = NOW) -> Rejected:
    with pytest.raises(Rejected) as caught:
        registry.admit(raw, now)
    return caught.value


def test_tampered_body_fails_its_signature(keys: dict[str, Signer], registry: KeyRegistry) -> None:
    data = json.loads(handover(keys[WARD]).to_json())
    data["body"]["state"] = "returned"
    assert _rejected(registry, json.dumps(data).encode()).reason is Reason.BAD_SIGNATURE


def test_resigned_with_another_agencys_key(keys: dict[str, Signer], registry: KeyRegistry) -> None:
    forged = handover(keys[WARD]).model_copy(update={"key_id": keys[POLICE].key_id})
    assert _rejected(registry, forged.to_json()).reason is Reason.UNKNOWN_KEY
    unknown = handover(keys[WARD]).model_copy(update={"key_id": "stolen#1"})
    assert _rejected(registry, unknown.to_json()).reason is Reason.UNKNOWN_KEY


def test_garbage_signature(keys: dict[str, Signer], registry: KeyRegistry) -> None:
    bad = handover(keys[WARD]).model_copy(update={"signature": "%%%"})
    assert _rejected(registry, bad.to_json()).reason is Reason.BAD_SIGNATURE
    zero = base64.b64encode(bytes(64)).decode()
    assert _rejected(registry, bad.model_copy(update={"signature": zero}).to_json()).reason is (
        Reason.BAD_SIGNATURE
    )


def test_expired_and_future(keys: dict[str, Signer], registry: KeyRegistry) -> None:
    envelope = handover(keys[WARD])
    late = _rejected(registry, envelope.to_json(), NOW + dt.timedelta(days=3))
    assert late.reason is Reason.EXPIRED
    early = _rejected(registry, envelope.to_json(), NOW - dt.timedelta(hours=1))
    assert early.reason is Reason.NOT_YET_VALID


def test_wrong_sender_for_the_service(keys: dict[str, Signer], registry: KeyRegistry) -> None:
    sideways = handover(keys[WARD], to_agency=INSURANCE)  # the ward hands over to the police only
    rejected = _rejected(registry, sideways.to_json())
    assert rejected.reason is Reason.NOT_ALLOWED
    assert f"may not call 'handover' of agency {INSURANCE}" in str(rejected)


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b"not json", "(message)"),
        (b"{}", "message_id"),
        (b'{"message_id": "x"}', "message_id"),
    ],
)
def test_malformed(registry: KeyRegistry, raw: bytes, where: str) -> None:
    rejected = _rejected(registry, raw)
    assert rejected.reason is Reason.MALFORMED
    assert rejected.detail.startswith(where)


def test_routes_follow_the_linked_procedure(catalogue: Catalogue) -> None:
    routes = routes_of(catalogue.versions("2.000986"))
    assert POLICE in routes[(WARD, Service.HANDOVER)]
    assert INSURANCE in routes[(POLICE, Service.HANDOVER)]
    assert WARD in routes[(INSURANCE, Service.RESULT)]
    assert INSURANCE not in routes[(WARD, Service.HANDOVER)]


@given(st.text(), st.integers(min_value=0, max_value=2**63))
def test_a_rows_message_id_is_its_uuid5(code: str, seq: int) -> None:
    """The id a control-sheet row's message carries is uuid5 of the row's name, as before."""
    assert message_id(code, seq) == uuid.uuid5(uuid.NAMESPACE_URL, f"{code}/{seq}").hex
