"""The context of one trigger being fired: what guards read and where actions write.

The procedure machine runs a trigger on a :class:`Firing`, never on the dossier itself. Guards
read the dossier and the payload; actions record their effects in :attr:`Firing.changes`. Only
when the whole transition has succeeded are the new state and the changes copied onto the
dossier, so a guard or action that raises leaves the dossier untouched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from workflow.definition import ProcedureDefinition
from workflow.dossier import Actor, Dossier
from workflow.errors import InvalidPayload


class Firing:
    """One attempt to apply ``trigger`` to ``dossier``."""

    __slots__ = (
        "actor",
        "at",
        "changes",
        "definition",
        "dossier",
        "note",
        "payload",
        "rejections",
        "state",
        "trigger",
    )

    def __init__(
        self,
        dossier: Dossier,
        definition: ProcedureDefinition,
        trigger: str,
        actor: Actor,
        at: dt.datetime,
        note: str | None,
        payload: Mapping[str, Any],
    ) -> None:
        self.dossier = dossier
        self.definition = definition
        self.trigger = trigger
        self.actor = actor
        self.at = at
        self.note = note
        self.payload = payload
        #: The machine's view of the state; ``transitions`` writes the destination here.
        self.state = dossier.state
        #: Dossier attributes to set once the transition has succeeded.
        self.changes: dict[str, Any] = {}
        #: Why guards said no, in the order they were asked.
        self.rejections: list[str] = []

    def invalid(self, field: str, reason: str) -> InvalidPayload:
        """An :class:`InvalidPayload` error naming the payload ``field`` and what is wrong."""
        return InvalidPayload(
            f"dossier {self.dossier.code}: trigger '{self.trigger}': payload field "
            f"'{field}' {reason}",
            dossier=self.dossier.code,
            state=self.dossier.state,
            trigger=self.trigger,
        )
