"""The schema of a procedure file: the JSON Schema of :class:`ProcedureDefinition`."""

from __future__ import annotations

from typing import Any

from workflow.definition import ProcedureDefinition


def json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) that a procedure YAML file must satisfy field by field."""
    schema = ProcedureDefinition.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "lienthong procedure version"
    return schema
