"""The control sheet's hash chain: each row's hash is SHA-256 over the canonical JSON of its
content, whichever encoder builds that JSON (stored chains must keep verifying)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from hypothesis import given
from hypothesis import strategies as st

from adapters.store import records
from workflow.definition import NationalStatus
from workflow.dossier import ControlEvent

texts = st.text()  # any Unicode: Vietnamese letters, quotes, backslashes, control characters
maybe = st.none() | texts
events = st.builds(
    ControlEvent,
    seq=st.integers(min_value=0, max_value=2**40),
    at=st.datetimes(
        min_value=dt.datetime(1900, 1, 1),
        max_value=dt.datetime(2200, 1, 1),
        timezones=st.timezones(),
    ),
    trigger=texts,
    from_state=maybe,
    to_state=texts,
    status=st.sampled_from(NationalStatus),
    actor=texts,
    actor_agency=texts,
    agency=texts,
    step=maybe,
    to_agency=texts,
    to_step=maybe,
    note=maybe,
)


def _by_definition(code: str, event: ControlEvent, previous: str) -> str:
    """The hash as the chain defines it: ``json.dumps`` of the content, compact, not escaped
    to ASCII."""
    content = [
        code,
        event.seq,
        event.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        event.trigger,
        event.from_state,
        event.to_state,
        int(event.status),
        event.actor,
        event.actor_agency,
        event.agency,
        event.step,
        event.to_agency,
        event.to_step,
        event.note,
        previous,
    ]
    text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@given(texts, events, texts)
def test_a_rows_hash_is_sha256_of_its_canonical_json(
    code: str, event: ControlEvent, previous: str
) -> None:
    assert records.event_hash(code, event, previous) == _by_definition(code, event, previous)


@given(st.lists(st.none() | st.integers() | texts, max_size=20))
def test_the_prebuilt_encoder_writes_what_json_writes(content: list[object]) -> None:
    assert records._encode(content) == records._CANONICAL.encode(content)


def test_a_known_row_keeps_its_known_hash() -> None:
    """A stored chain verifies only if the same row always hashes the same."""
    event = ControlEvent(
        3,
        dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=7))),
        "hand_over",
        "at_ward",
        "at_district",
        NationalStatus.ACCEPTED,
        'cán bộ "A"',
        "000.00.71.H26",
        "000.00.71.H26",
        "ward",
        "000.09.71.H26",
        "district",
        None,
    )
    assert records.event_hash("H26-1", event, "0" * 64) == _by_definition("H26-1", event, "0" * 64)
    stored = (
        '["H26-1",3,"2026-03-02T02:00:00.000000+00:00","hand_over","at_ward","at_district",'
        '2,"cán bộ \\"A\\"","000.00.71.H26","000.00.71.H26","ward","000.09.71.H26",'
        '"district",null,"' + "0" * 64 + '"]'
    )
    assert (
        records.event_hash("H26-1", event, "0" * 64) == hashlib.sha256(stored.encode()).hexdigest()
    )
