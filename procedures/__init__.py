"""The procedure catalogue as data: one YAML file per procedure version, its loader and schema.

The files live in ``procedures/catalogue/``; the agency directory in ``procedures/agencies.yaml``.
"""

from procedures.loader import (
    CATALOGUE_DIR,
    DEFAULT_AGENCIES,
    load_agencies,
    load_catalogue,
    validate_files,
)

__all__ = [
    "CATALOGUE_DIR",
    "DEFAULT_AGENCIES",
    "load_agencies",
    "load_catalogue",
    "validate_files",
]
