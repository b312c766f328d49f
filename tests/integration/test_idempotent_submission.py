"""Submissions under an idempotency key, on every store (memory, SQLite, PostgreSQL): a retry
finds the first dossier, a reused key with another request is refused, and of two racing
submissions with one key exactly one commits (and leaves no gap in the dossier codes)."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Backend
from workflow.dossier import Actor
from workflow.engine import Engine
from workflow.errors import ConcurrentUpdate, IdempotencyConflict
from workflow.services import Submit, retrying, submit, submit_once

PAPERS = ("birth_declaration", "birth_certificate", "residence_declaration")


def _command(officer: Actor, ref: str = "R-1", channel: str = "online") -> Submit:
    return Submit("2.000986", channel, ref, officer, documents=PAPERS)


def test_a_retry_with_the_same_key_finds_the_first_dossier(
    backend: Backend, engine: Engine, officer: Actor
) -> None:
    first, made = submit_once(_command(officer), "key-1", "fp-a", backend.uow(), engine)
    again, made_again = submit_once(_command(officer), "key-1", "fp-a", backend.uow(), engine)
    assert made and not made_again
    assert again.code == first.code and again.version == 1
    other, _ = submit_once(_command(officer, "R-2"), "key-2", "fp-b", backend.uow(), engine)
    assert other.code != first.code  # another key: another dossier


def test_a_key_reused_for_another_request_is_refused(
    backend: Backend, engine: Engine, officer: Actor
) -> None:
    first, _ = submit_once(_command(officer), "key-1", "fp-a", backend.uow(), engine)
    with pytest.raises(IdempotencyConflict, match=f"key-1.*{first.code}"):
        submit_once(_command(officer, channel="counter"), "key-1", "fp-b", backend.uow(), engine)


def test_keys_belong_to_their_caller(backend: Backend, engine: Engine, officer: Actor) -> None:
    colleague = Actor("officer-2", officer.agency)
    mine, _ = submit_once(_command(officer), "key-1", "fp-a", backend.uow(), engine)
    theirs, made = submit_once(_command(colleague), "key-1", "fp-a", backend.uow(), engine)
    assert made and theirs.code != mine.code


def test_of_two_racing_submissions_with_one_key_one_commits(
    backend: Backend, engine: Engine, officer: Actor
) -> None:
    """Both found no key (they raced); the second commit is refused whole, and the retry finds
    the first one's dossier. The refused one took no dossier code."""
    first = submit(_command(officer), backend.uow(), engine, remember=("key-1", "fp-a"))
    with pytest.raises(ConcurrentUpdate):
        submit(_command(officer), backend.uow(), engine, remember=("key-1", "fp-a"))
    found, made = retrying(
        lambda: submit_once(_command(officer), "key-1", "fp-a", backend.uow(), engine)
    )
    assert found.code == first.code and not made
    following = submit(_command(officer, "R-3"), backend.uow(), engine)
    assert following.code.endswith("-0002")  # no gap left by the refused submission
