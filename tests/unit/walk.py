"""Walk a dossier through any catalogue procedure: the happy path and the supplement path."""

from __future__ import annotations

from workflow.definition import ProcedureDefinition
from workflow.dossier import Actor, Dossier
from workflow.engine import Engine


def open_dossier(engine: Engine, definition: ProcedureDefinition, actor: Actor) -> Dossier:
    """A new dossier of ``definition``, received on its first day in force, with every paper."""
    return engine.open(
        code=f"TEST-{definition.code}-{definition.version}",
        procedure=definition.code,
        version=definition.version,
        channel=definition.channels[0],
        applicant_ref="REF-0001",
        actor=actor,
        documents=[d.kind for d in definition.documents],
    )


def walk(engine: Engine, dossier: Dossier, actor: Actor, *, supplement: bool) -> list[str]:
    """Run ``dossier`` to ``returned``; pay every fee asked; with ``supplement``, ask for and
    supply a supplement at the first step that allows it. Returns the triggers fired."""
    fired: list[str] = []

    def fire(trigger: str, **kwargs: object) -> None:
        engine.fire(dossier, trigger, actor=actor, **kwargs)  # type: ignore[arg-type]
        fired.append(trigger)

    fire("accept")
    paid_at: set[str] = set()
    while dossier.state != "finished":
        allowed = engine.allowed_triggers(dossier)
        if supplement and "request_supplement" in allowed and dossier.supplement_requests == 0:
            fire("request_supplement", note="the site plan is missing")
            fire("supply", payload={"documents": ["site_plan"]})
        elif "request_fee" in allowed and dossier.step not in paid_at:
            fire("request_fee", payload={"amount": 100_000})
            fire("pay_fee", payload={"receipt": "BL-0001", "amount": 100_000})
            paid_at.add(dossier.step or "")
        elif "hand_over" in allowed:
            fire("hand_over")
        else:
            fire("finish", payload={"result": "KQ-0001", "electronic": True})
    fire("return_result")
    return fired
