"""Mermaid state diagrams of procedure versions, drawn by ``transitions``' own diagram support."""

from __future__ import annotations

from transitions import State
from transitions.extensions import GraphMachine

from workflow.definition import ProcedureDefinition


class _At:
    """A stand-in model: ``transitions`` draws a diagram for a model in a state."""

    def __init__(self, state: str) -> None:
        self.state = state


def mermaid(definition: ProcedureDefinition) -> str:
    """The procedure's lifecycle as a Mermaid ``stateDiagram-v2``, guards shown on the arrows."""
    machine = GraphMachine(
        model=None,
        states=[State(s.name, final=s.final) for s in definition.states],
        transitions=[
            {
                "trigger": t.trigger,
                "source": t.source,
                "dest": t.dest,
                "conditions": list(t.guards),
            }
            for t in definition.transitions
        ],
        initial=definition.initial,
        auto_transitions=False,
        graph_engine="mermaid",
        show_conditions=True,
        title=f"{definition.code}@{definition.version} {definition.name.en}",
    )
    model = _At(definition.initial)
    machine.add_model(model)
    text: str = model.get_graph().draw(None)  # type: ignore[attr-defined]
    finals = "".join(f"  {s.name} --> [*]\n" for s in definition.states if s.final)
    return text.rstrip("\n") + "\n" + finals
