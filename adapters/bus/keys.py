"""Agency keys on disk: each agency's signing key, and the public keys every worker checks with.

A key folder (``var/keys`` embedded; ``LIENTHONG_KEYS_DIR``) holds, per agency,
``<code>.key`` (its private signing key, owner-only permissions) and ``<code>.pub`` (what others
verify with). Together the ``.pub`` files are the registry of agency keys, the part X-Road's
global configuration plays. On one machine (embedded) every agency's key is created on first
start; in a distributed deployment each agency's worker holds only its own ``.key`` and
everyone's ``.pub`` files. An HMAC-SHA256 key (``algorithm: hmac-sha256``) may be configured
instead of Ed25519 where an agency cannot run Ed25519: then its ``.pub`` holds the shared
secret too, and must be given only to the agencies it talks to.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable
from pathlib import Path

from adapters.bus.signing import AgencyKey, Algorithm, Signer
from workflow.errors import WorkflowError


class KeyFileError(WorkflowError):
    """A key file is missing, unreadable or malformed."""


def _write(path: Path, content: dict[str, str], private: bool) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    descriptor = os.open(temporary, flags, 0o600 if private else 0o644)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(content, handle, indent=2)
    os.replace(temporary, path)  # all or nothing


def _read(path: Path) -> dict[str, str]:
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise KeyFileError(f"cannot read key file {path.name}: {error}") from None
    if not isinstance(content, dict) or not {"agency", "key_id", "algorithm"} <= content.keys():
        raise KeyFileError(
            f"key file {path.name} must be a JSON object with agency, key_id and algorithm"
        )
    return content


def ensure_keys(directory: Path, agencies: Iterable[str]) -> None:
    """Create an Ed25519 key pair for each agency that has none yet."""
    directory.mkdir(parents=True, exist_ok=True)
    for agency in agencies:
        if (directory / f"{agency}.key").exists():
            continue
        signer, public = Signer.generate(agency)
        common = {"agency": agency, "key_id": signer.key_id, "algorithm": signer.algorithm.value}
        _write(directory / f"{agency}.pub", {**common, "key": _b64(public.material)}, False)
        _write(directory / f"{agency}.key", {**common, "secret": _b64(signer.secret)}, True)


def load_signers(directory: Path, agencies: Iterable[str] | None = None) -> dict[str, Signer]:
    """The signing keys in ``directory`` (of ``agencies`` only, if given), by agency."""
    wanted = None if agencies is None else set(agencies)
    signers = {}
    for path in sorted(directory.glob("*.key")):
        content = _read(path)
        if wanted is not None and content["agency"] not in wanted:
            continue
        signers[content["agency"]] = Signer(
            content["agency"],
            content["key_id"],
            _algorithm(content, path),
            _unb64(content, "secret", path),
        )
    if wanted is not None and (missing := wanted - signers.keys()):
        raise KeyFileError(
            f"no signing key for agency {', '.join(sorted(missing))} in the key folder; put "
            "its .key file there (or start embedded once to create them)"
        )
    return signers


def load_public_keys(directory: Path) -> list[AgencyKey]:
    """Every agency's verification key in ``directory``."""
    keys = []
    for path in sorted(directory.glob("*.pub")):
        content = _read(path)
        keys.append(
            AgencyKey(
                content["key_id"],
                content["agency"],
                _algorithm(content, path),
                _unb64(content, "key", path),
            )
        )
    return keys


def _algorithm(content: dict[str, str], path: Path) -> Algorithm:
    try:
        return Algorithm(content["algorithm"])
    except ValueError:
        raise KeyFileError(
            f"key file {path.name}: algorithm must be one of "
            f"{', '.join(a.value for a in Algorithm)}"
        ) from None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(content: dict[str, str], field: str, path: Path) -> bytes:
    try:
        return base64.b64decode(content[field], validate=True)
    except (KeyError, ValueError):
        raise KeyFileError(f"key file {path.name}: '{field}' must be base64") from None
