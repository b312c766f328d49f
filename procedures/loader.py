"""Load procedure files and the agency directory, reporting every problem with file and field.

Loading is all or nothing: :func:`load_catalogue` either returns a complete, checked
:class:`~workflow.catalogue.Catalogue` or raises :class:`~workflow.errors.DefinitionError` listing
every problem of every file. Problems name the file, the field (``steps[2].agency``) and why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from workflow.agencies import Agency, AgencyDirectory
from workflow.catalogue import Catalogue
from workflow.checks import check_definition
from workflow.definition import ProcedureDefinition
from workflow.errors import DefinitionError, Problem
from workflow.registry import DEFAULT_REGISTRY, Registry

HERE = Path(__file__).resolve().parent
CATALOGUE_DIR = HERE / "catalogue"
DEFAULT_AGENCIES = HERE / "agencies.yaml"

M = TypeVar("M", bound=BaseModel)


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys instead of silently keeping the last one."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}'", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


def _timestamp(loader: _StrictLoader, node: yaml.ScalarNode) -> Any:
    # an impossible date (2026-02-30) stays text, so that validation names the field
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return loader.construct_scalar(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


def read_yaml(path: Path) -> tuple[Any, list[Problem]]:
    """The YAML document in ``path``, or the problems met reading it (strict: no duplicate keys)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        return None, [Problem("(file)", f"cannot be read: {err}", str(path))]
    try:
        return yaml.load(text, Loader=_StrictLoader), []
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        problem = getattr(err, "problem", None) or str(err)
        return None, [Problem(where, f"malformed YAML: {problem}", str(path))]


def _field(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def validate_model(
    model: type[M], data: Any, path: Path, prefix: str = ""
) -> tuple[M | None, list[Problem]]:
    try:
        return model.model_validate(data), []
    except ValidationError as err:
        problems = [
            Problem(
                prefix + _field(e["loc"]) if e["loc"] else prefix.rstrip(".") or "(document)",
                e["msg"],
                str(path),
            )
            for e in err.errors()
        ]
        return None, problems


def load_agencies(path: Path = DEFAULT_AGENCIES) -> AgencyDirectory:
    """The agency directory from a YAML file with a top-level ``agencies:`` list."""
    data, problems = read_yaml(path)
    if problems:
        raise DefinitionError(problems, "agency directory")
    if not isinstance(data, dict) or not isinstance(data.get("agencies"), list):
        raise DefinitionError(
            [Problem("agencies", "the file must hold a list under the key 'agencies'", str(path))],
            "agency directory",
        )
    agencies = []
    for index, item in enumerate(data["agencies"]):
        agency, found = validate_model(Agency, item, path, f"agencies[{index}].")
        problems += found
        if agency is not None:
            agencies.append(agency)
    if problems:
        raise DefinitionError(problems, "agency directory")
    try:
        return AgencyDirectory(agencies)
    except DefinitionError as err:
        raise DefinitionError(
            [Problem(p.field, p.reason, str(path)) for p in err.problems], "agency directory"
        ) from None


def read_definition(path: Path) -> tuple[ProcedureDefinition | None, list[Problem]]:
    """Parse and validate one procedure file's fields (no cross-checks)."""
    data, problems = read_yaml(path)
    if problems:
        return None, problems
    if not isinstance(data, dict):
        return None, [Problem("(document)", "a procedure file must hold a mapping", str(path))]
    return validate_model(ProcedureDefinition, data, path)


def validate_files(
    paths: Iterable[Path], agencies: AgencyDirectory, registry: Registry = DEFAULT_REGISTRY
) -> tuple[list[ProcedureDefinition], list[Problem]]:
    """Every definition in ``paths`` and every problem found in them, with file and field.

    Besides each file's own problems, a ``(code, version)`` pair defined by two files is a
    problem of the second.
    """
    definitions: list[ProcedureDefinition] = []
    problems: list[Problem] = []
    owners: dict[tuple[str, str], Path] = {}
    for path in paths:
        definition, found = read_definition(path)
        if definition is not None:
            found = [
                Problem(p.field, p.reason, str(path))
                for p in check_definition(definition, agencies, registry)
            ]
            if definition.key in owners:
                found.append(
                    Problem(
                        "version",
                        f"duplicate code and version {definition.code}@{definition.version}: "
                        f"already defined in {owners[definition.key]}",
                        str(path),
                    )
                )
            else:
                owners[definition.key] = path
            if not found:
                definitions.append(definition)
        problems += found
    return definitions, problems


def catalogue_files(directory: Path = CATALOGUE_DIR) -> list[Path]:
    """The procedure files of a catalogue directory, sorted by name."""
    return sorted(directory.glob("*.yaml"))


def load_catalogue(
    directory: Path = CATALOGUE_DIR,
    agencies: AgencyDirectory | None = None,
    registry: Registry = DEFAULT_REGISTRY,
) -> Catalogue:
    """The catalogue of every ``*.yaml`` in ``directory``; all of it, or an error and nothing."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DefinitionError(
            [Problem("(directory)", "is not a directory of procedure files", str(directory))],
            "procedure catalogue",
        )
    agencies = agencies if agencies is not None else load_agencies()
    paths = catalogue_files(directory)
    if not paths:
        raise DefinitionError(
            [Problem("(directory)", "holds no *.yaml procedure file", str(directory))],
            "procedure catalogue",
        )
    definitions, problems = validate_files(paths, agencies, registry)
    if problems:
        raise DefinitionError(problems, "procedure catalogue")
    return Catalogue(definitions, agencies, registry)
