"""Keep the agencies and procedure-version tables in step with the catalogue files.

A procedure version, once stored, is frozen: the stored definition is what dossiers received
under it are judged by. Loading a file whose ``(code, version)`` is stored with different content
is refused with :class:`~workflow.errors.CatalogueMismatch`: publish a new version instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import Engine, select

from adapters.store import tables as t
from adapters.store.database import translated
from workflow.catalogue import Catalogue
from workflow.definition import ProcedureDefinition
from workflow.errors import CatalogueMismatch


def fingerprint(definition: ProcedureDefinition) -> tuple[str, dict[str, object]]:
    """(SHA-256 of the canonical JSON, the JSON) of a definition."""
    data = definition.model_dump(mode="json")
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest(), data


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What a sync wrote."""

    agencies: int
    new_versions: int
    known_versions: int


def sync_catalogue(engine: Engine, catalogue: Catalogue, now: dt.datetime) -> SyncReport:
    """Upsert the agency directory; insert new procedure versions; refuse changed ones."""
    with translated(str(engine.url)), engine.begin() as connection:
        stored = {
            (row.code, row.version): row.sha256
            for row in connection.execute(
                select(
                    t.procedure_versions.c.code,
                    t.procedure_versions.c.version,
                    t.procedure_versions.c.sha256,
                )
            )
        }
        new = []
        for code in catalogue.codes():
            for definition in catalogue.versions(code):
                digest, data = fingerprint(definition)
                known = stored.get(definition.key)
                if known is None:
                    new.append(
                        {
                            "code": definition.code,
                            "version": definition.version,
                            "effective_from": definition.effective_from,
                            "sha256": digest,
                            "definition": data,
                            "loaded_at": now,
                        }
                    )
                elif known != digest:
                    raise CatalogueMismatch(
                        f"procedure {definition.code}@{definition.version} in the catalogue "
                        "differs from the version stored when dossiers were received under it; "
                        "stored versions are frozen: give the changed file a new version"
                    )
        if new:
            connection.execute(t.procedure_versions.insert(), new)
        connection.execute(t.agencies.delete())
        rows = [
            {
                "code": a.code,
                "name_vi": a.name.vi,
                "name_en": a.name.en,
                "level": a.level.value,
                "kind": a.kind,
                "parent": a.parent,
                "effective_from": a.effective_from,
                "effective_to": a.effective_to,
                "successor": a.successor,
            }
            for a in catalogue.agencies
        ]
        connection.execute(t.agencies.insert(), rows)
    return SyncReport(len(rows), len(new), len(stored))
