"""The allow-list of guards and actions that procedure files may name.

A procedure file refers to guards and actions by name only; a name not in the registry is rejected
when the file is loaded. Nothing is ever imported from a dotted path found in data.

A guard takes the :class:`~workflow.firing.Firing` and returns ``None`` when it lets the
transition pass, or a sentence saying why not. An action takes the firing and records its effect
in ``firing.changes``; it raises :class:`~workflow.errors.InvalidPayload` (via
``firing.invalid``) when the payload does not carry what it needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from workflow.firing import Firing

Guard = Callable[[Firing], str | None]
Action = Callable[[Firing], None]


def documents_complete(firing: Firing) -> str | None:
    """Every required paper of the procedure is in the dossier (or arrives with the payload)."""
    have = set(firing.dossier.documents) | set(_documents(firing))
    missing = [d.kind for d in firing.definition.documents if d.required and d.kind not in have]
    if missing:
        return "required documents missing: " + ", ".join(missing)
    return None


def reason_given(firing: Firing) -> str | None:
    """A note states the reason (refusal, stop, supplement request must say why)."""
    if firing.note is None or not firing.note.strip():
        return "a note stating the reason is required"
    return None


def fee_paid(firing: Firing) -> str | None:
    """The payment receipt covers the fee requested."""
    receipt = firing.payload.get("receipt")
    amount = firing.payload.get("amount")
    if not isinstance(receipt, str) or not receipt.strip():
        return "payload 'receipt' (the payment receipt number) is required"
    due = firing.dossier.fee_due or 0
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < due:
        return f"payload 'amount' must be a whole number of VND of at least the fee due ({due})"
    return None


def result_attached(firing: Firing) -> str | None:
    """The payload carries a reference to the result paper (giấy tờ kết quả)."""
    result = firing.payload.get("result")
    if not isinstance(result, str) or not result.strip():
        return "payload 'result' (the reference of the result paper) is required"
    return None


def _documents(firing: Firing) -> list[str]:
    documents = firing.payload.get("documents", [])
    if not isinstance(documents, list) or not all(isinstance(d, str) for d in documents):
        raise firing.invalid("documents", "must be a list of document kinds")
    return documents


def attach_documents(firing: Firing) -> None:
    """Add the papers listed in payload ``documents`` to the dossier."""
    added = _documents(firing)
    firing.changes["documents"] = tuple(dict.fromkeys((*firing.dossier.documents, *added)))


def count_supplement_request(firing: Firing) -> None:
    """Count a supplement request (a second one makes the dossier late, Decision 766)."""
    firing.changes["supplement_requests"] = firing.dossier.supplement_requests + 1


def set_fee_due(firing: Firing) -> None:
    """Record the fee or financial obligation asked for (payload ``amount``, VND)."""
    amount = firing.payload.get("amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise firing.invalid("amount", "must be a positive whole number of VND")
    firing.changes["fee_due"] = amount
    firing.changes["fee_paid"] = False


def record_payment(firing: Firing) -> None:
    """Mark the fee as paid."""
    firing.changes["fee_paid"] = True


def record_result(firing: Firing) -> None:
    """Store the result reference and whether the result is electronic (Decree 45/2020)."""
    result = firing.payload.get("result")
    if not isinstance(result, str) or not result.strip():
        raise firing.invalid("result", "must be the reference of the result paper")
    electronic = firing.payload.get("electronic", False)
    if not isinstance(electronic, bool):
        raise firing.invalid("electronic", "must be true or false")
    firing.changes["result_ref"] = result.strip()
    firing.changes["result_electronic"] = electronic


@dataclass(frozen=True)
class Registry:
    """Named guards and actions. Build a new one to extend the allow-list in code."""

    guards: Mapping[str, Guard] = field(default_factory=dict)
    actions: Mapping[str, Action] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "guards", MappingProxyType(dict(self.guards)))
        object.__setattr__(self, "actions", MappingProxyType(dict(self.actions)))


DEFAULT_REGISTRY = Registry(
    guards={
        "documents_complete": documents_complete,
        "reason_given": reason_given,
        "fee_paid": fee_paid,
        "result_attached": result_attached,
    },
    actions={
        "attach_documents": attach_documents,
        "count_supplement_request": count_supplement_request,
        "set_fee_due": set_fee_due,
        "record_payment": record_payment,
        "record_result": record_result,
    },
)
