"""Dossiers and control-sheet rows to table rows and back; the hash chain of the control sheet.

Each event row carries the hash of the previous row of the same dossier (the first: a genesis
hash of the dossier code), and its own hash over its content and that link; the dossier row
carries the hash of its last event (``head_hash``). Changing, inserting or deleting a row breaks
the chain at that point, which ``lienthong audit verify`` reports.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from adapters.store.pii import Keyring
from adapters.store.tables import CLOSED, PAUSED, RUNNING, utc_text
from workflow.definition import Channel, NationalStatus
from workflow.dossier import ControlEvent, Dossier
from workflow.sla import pause_spans


def genesis(code: str) -> str:
    """The link before a dossier's first event."""
    return hashlib.sha256(f"lienthong:{code}".encode()).hexdigest()


def _utc(instant: dt.datetime) -> str:
    """``instant.astimezone(UTC).isoformat(timespec="microseconds")``, from the text the store
    writes for it (:func:`~adapters.store.tables.utc_text`: converted once per action)."""
    text = utc_text(instant)
    return f"{text[:10]}T{text[11:]}+00:00"


#: canonical JSON of the hashed content; built once (``json.dumps`` with options builds an encoder
#: per call, which took half of a hash)
_CANONICAL = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _canonical_encoder() -> Callable[[list[Any]], str]:
    """``_CANONICAL.encode`` for the hashed content (a flat list of text, integers and nulls),
    on CPython through json's C encoder built once: ``JSONEncoder.encode`` builds one per call,
    which took 2.5 of its 4 µs. The same text (tests compare the two)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # not CPython's json
        return _CANONICAL.encode
    encoder = make(
        None,  # no circular-reference markers: the content is flat
        _CANONICAL.default,
        json.encoder.encode_basestring,  # ensure_ascii=False
        None,  # no indent
        ":",
        ",",
        False,  # sort_keys
        False,  # skipkeys
        True,  # allow_nan
    )
    return lambda content: "".join(encoder(content, 0))


_encode = _canonical_encoder()
#: a SHA-256 state to copy: constructing one looks the digest up by name every time
_SHA256 = hashlib.sha256()


def event_hash(code: str, event: ControlEvent, previous: str) -> str:
    """SHA-256 over the event's content, its dossier and the previous link (canonical JSON)."""
    content = [
        code,
        event.seq,
        _utc(event.at),
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
    digest = _SHA256.copy()
    digest.update(_encode(content).encode())
    return digest.hexdigest()


def event_rows(
    code: str, new: Iterable[ControlEvent], previous: str
) -> tuple[list[dict[str, Any]], str]:
    """Rows for ``new`` events chained after ``previous``; and the new head."""
    rows = []
    for event in new:
        digest = event_hash(code, event, previous)
        rows.append(
            {
                "dossier_code": code,
                "seq": event.seq,
                "at": event.at,
                "trigger": event.trigger,
                "from_state": event.from_state,
                "to_state": event.to_state,
                "status": int(event.status),
                "actor": event.actor,
                "actor_agency": event.actor_agency,
                "agency": event.agency,
                "step": event.step,
                "to_agency": event.to_agency,
                "to_step": event.to_step,
                "note": event.note,
                "prev_hash": previous,
                "hash": digest,
            }
        )
        previous = digest
    return rows, previous


def to_event(row: Mapping[Any, Any]) -> ControlEvent:
    """A control-sheet row from its table row."""
    return ControlEvent(
        row["seq"],
        row["at"],
        row["trigger"],
        row["from_state"],
        row["to_state"],
        NationalStatus(row["status"]),
        row["actor"],
        row["actor_agency"],
        row["agency"],
        row["step"],
        row["to_agency"],
        row["to_step"],
        row["note"],
    )


def pauses_of(history: list[ControlEvent]) -> list[list[str | None]]:
    """Pauses (supplement or fee awaited) after acceptance, as ``[start, end or null]`` in UTC."""
    accepted = next((e for e in history if e.status is NationalStatus.ACCEPTED), None)
    if accepted is None:
        return []
    return [
        [_utc(start), _utc(end) if end else None]
        for start, end in pause_spans(history, accepted.at)
    ]


def lane(status: NationalStatus | int, *, closed: bool) -> int:
    """The dossier's lane (``tables.RUNNING``, ``PAUSED`` or ``CLOSED``)."""
    if closed:
        return CLOSED
    return PAUSED if status in _PAUSING else RUNNING


_PAUSING = frozenset({NationalStatus.SUPPLEMENT_REQUESTED, NationalStatus.FEE_REQUESTED})


def dossier_row(
    dossier: Dossier, head: str, applicant: tuple[str | None, str | None]
) -> dict[str, Any]:
    """The dossier's table row (without ``version``); ``applicant`` is (pseudonym, token)."""
    return {
        "code": dossier.code,
        "procedure_code": dossier.procedure_code,
        "procedure_version": dossier.procedure_version,
        "state": dossier.state,
        "status": int(dossier.status),
        "closed": dossier.closed,
        "lane": lane(dossier.status, closed=dossier.closed),
        "agency": dossier.agency,
        "step": dossier.step,
        "channel": dossier.channel.value,
        "applicant_ref": dossier.applicant_ref,
        "applicant_key": applicant[0],
        "applicant_secret": applicant[1],
        "received_at": dossier.received_at,
        "clock_started_at": dossier.clock_started_at,
        "due_at": dossier.due_at,
        "finished_at": dossier.finished_at,
        "verdict": dossier.verdict,
        "pauses": pauses_of(dossier.history),
        "due_resets": dossier.due_resets,
        "reset_at": dossier.reset_at,
        "reset_due_at": dossier.reset_due_at,
        "supplement_requests": dossier.supplement_requests,
        "fee_due": dossier.fee_due,
        "fee_paid": dossier.fee_paid,
        "result_ref": dossier.result_ref,
        "result_electronic": dossier.result_electronic,
        "step_started_at": dossier.step_started_at,
        "step_due_at": dossier.step_due_at,
        "assignee": dossier.assignee,
        "documents": list(dossier.documents),
        "head_hash": head,
    }


def to_dossier(row: Mapping[Any, Any], history: list[ControlEvent], keyring: Keyring) -> Dossier:
    """The dossier from its table row and its control sheet."""
    secret = row["applicant_secret"]
    return Dossier(
        code=row["code"],
        procedure_code=row["procedure_code"],
        procedure_version=row["procedure_version"],
        channel=Channel(row["channel"]),
        applicant_ref=row["applicant_ref"],
        received_at=row["received_at"],
        state=row["state"],
        status=NationalStatus(row["status"]),
        agency=row["agency"],
        step=row["step"],
        documents=tuple(row["documents"]),
        supplement_requests=row["supplement_requests"],
        fee_due=row["fee_due"],
        fee_paid=row["fee_paid"],
        result_ref=row["result_ref"],
        result_electronic=row["result_electronic"],
        clock_started_at=row["clock_started_at"],
        due_at=row["due_at"],
        finished_at=row["finished_at"],
        verdict=row["verdict"],
        due_resets=row["due_resets"],
        reset_at=row["reset_at"],
        reset_due_at=row["reset_due_at"],
        step_started_at=row["step_started_at"],
        step_due_at=row["step_due_at"],
        assignee=row["assignee"],
        applicant_id=keyring.decrypt(secret) if secret else None,
        version=row["version"],
        history=history,
    )
