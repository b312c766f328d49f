"""The alert hooks, per agency, from a YAML file (``LIENTHONG_ALERTS_FILE``).

The file::

    hooks:
      - name: ward-supervisors              # letters, digits, '.', '_', '-'; at most 64
        url: https://alerts.example.vn/sla  # http or https; receives a signed JSON POST
        agencies: ["000.00.71.H26"]         # agency codes, or ["*"] for every agency
        secret_env: LIENTHONG_HOOK_WARD     # or `secret: ...` (at least 16 characters)
        standings: [at_risk, overdue]       # the default
        kinds: [dossier, step]              # the default
        cooldown: 60                        # minutes; the default
        max_attempts: 8                     # the default
        timeout: 10                         # seconds per request; the default

A file that does not fit raises :class:`AlertConfigError`, listing every problem as
``file: hooks[i] (name).field: reason``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from workflow.agencies import AgencyDirectory
from workflow.errors import DefinitionError, Problem
from workflow.sla import Standing

EVERY_AGENCY = "*"
MIN_SECRET = 16
_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class AlertConfigError(DefinitionError):
    """The alerts file cannot be used; ``problems`` names the file, hook and field of each."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(problems, what="alerts file")


class _HookFile(BaseModel):
    """One hook as written in the file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_NAME)
    url: str
    agencies: list[str] = Field(min_length=1)
    secret: SecretStr | None = None
    secret_env: str | None = None
    standings: list[Literal["at_risk", "overdue"]] = Field(
        default=["at_risk", "overdue"], min_length=1
    )
    kinds: list[Literal["dossier", "step"]] = Field(default=["dossier", "step"], min_length=1)
    cooldown: float = Field(default=60, ge=0, le=7 * 24 * 60)
    max_attempts: int = Field(default=8, ge=1, le=100)
    timeout: float = Field(default=10, gt=0, le=300)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        try:
            url = httpx.URL(value)
        except httpx.InvalidURL as error:
            raise ValueError(f"not a URL ({error}); write it as https://host/path") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value


class _AlertsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    hooks: list[_HookFile] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Hook:
    """A webhook that receives the alerts of some agencies, standings and kinds.

    ``agencies`` None means every agency; ``cooldown``: no second alert about the same dossier
    and kind to this hook within it; ``timeout``: seconds per request."""

    name: str
    url: str
    secret: bytes = field(repr=False)
    agencies: frozenset[str] | None = None
    standings: frozenset[Standing] = frozenset({Standing.AT_RISK, Standing.OVERDUE})
    kinds: frozenset[str] = frozenset({"dossier", "step"})
    cooldown: dt.timedelta = dt.timedelta(minutes=60)
    max_attempts: int = 8
    timeout: float = 10.0

    def covers(self, agency: str, kind: str, standing: Standing) -> bool:
        """Whether an alert about a ``kind`` of ``agency`` turned ``standing`` goes here."""
        return (
            (self.agencies is None or agency in self.agencies)
            and kind in self.kinds
            and standing in self.standings
        )


def _where(loc: Sequence[int | str], raw: Any) -> str:
    """``hooks[1] (ward).url`` from a pydantic location, naming the hook when it has a name."""
    text = ""
    for position, part in enumerate(loc):
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
        if position == 1 and loc[0] == "hooks" and isinstance(part, int):
            name = _hook_name(raw, part)
            text += f" ({name})" if name else ""
    return text or "(file)"


def _hook_name(raw: Any, index: int) -> str | None:
    hooks = raw.get("hooks") if isinstance(raw, dict) else None
    if isinstance(hooks, list) and index < len(hooks) and isinstance(hooks[index], dict):
        name = hooks[index].get("name")
        return str(name) if name is not None else None
    return None


def _read(path: Path) -> Any:
    if not path.is_file():
        raise AlertConfigError(
            [
                Problem(
                    "(file)",
                    "does not exist; create it, or unset LIENTHONG_ALERTS_FILE for no alerts",
                    str(path),
                )
            ]
        )
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        reason = f"cannot be read as YAML ({error}); fix it and start again"
        raise AlertConfigError([Problem("(file)", reason, str(path))]) from None


def load_alerts(
    path: Path,
    agencies: AgencyDirectory | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[Hook, ...]:
    """The hooks of the alerts file at ``path``, each secret read (from ``env`` for
    ``secret_env``; the process environment by default), each agency code checked against
    ``agencies`` when given. Raises :class:`AlertConfigError` listing every problem."""
    env = os.environ if env is None else env
    raw = _read(path)
    try:
        parsed = _AlertsFile.model_validate(raw)
    except ValidationError as error:
        problems = [Problem(_where(e["loc"], raw), _reason(e), str(path)) for e in error.errors()]
        raise AlertConfigError(problems) from None
    hooks, problems = [], []
    seen: set[str] = set()
    for index, written in enumerate(parsed.hooks):
        where = f"hooks[{index}] ({written.name})"
        found = _check(written, where, str(path), agencies, env, seen)
        problems += found
        seen.add(written.name)
        if not found:
            hooks.append(_hook(written, env))
    if problems:
        raise AlertConfigError(problems)
    return tuple(hooks)


def _reason(error: Mapping[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        return "is not a known field; see the alerts file format in the README"
    if error["type"] == "missing":
        return "is required"
    if error["type"] == "value_error":
        return str(error["ctx"]["error"])
    return str(error["msg"])


def _check(
    hook: _HookFile,
    where: str,
    file: str,
    agencies: AgencyDirectory | None,
    env: Mapping[str, str],
    seen: set[str],
) -> list[Problem]:
    problems = []

    def problem(name: str, reason: str) -> None:
        problems.append(Problem(f"{where}.{name}", reason, file))

    if hook.name in seen:
        problem("name", "is used by another hook; give each hook its own name")
    if EVERY_AGENCY in hook.agencies and len(hook.agencies) > 1:
        problem("agencies", 'write ["*"] alone for every agency, or list agency codes')
    for code in hook.agencies:
        if code != EVERY_AGENCY and agencies is not None and code not in agencies:
            problem("agencies", f"unknown agency '{code}'; use a code from the agency directory")
    if (hook.secret is None) == (hook.secret_env is None):
        problem("secret", "give exactly one of `secret` and `secret_env`")
    elif hook.secret_env is not None:
        if not _ENV.match(hook.secret_env):
            problem("secret_env", "must be the name of an environment variable")
        elif not env.get(hook.secret_env):
            problem(
                "secret_env",
                f"the environment variable {hook.secret_env} is not set; set it to the secret",
            )
        elif len(env[hook.secret_env]) < MIN_SECRET:
            problem("secret_env", f"the secret in {hook.secret_env} is under {MIN_SECRET} chars")
    elif hook.secret is not None and len(hook.secret.get_secret_value()) < MIN_SECRET:
        problem("secret", f"is under {MIN_SECRET} characters; use a long random one")
    return problems


def _hook(written: _HookFile, env: Mapping[str, str]) -> Hook:
    if written.secret is not None:
        secret = written.secret.get_secret_value()
    else:
        assert written.secret_env is not None
        secret = env[written.secret_env]
    every = EVERY_AGENCY in written.agencies
    return Hook(
        name=written.name,
        url=written.url,
        secret=secret.encode("utf-8"),
        agencies=None if every else frozenset(written.agencies),
        standings=frozenset(Standing(s) for s in written.standings),
        kinds=frozenset(written.kinds),
        cooldown=dt.timedelta(minutes=written.cooldown),
        max_attempts=written.max_attempts,
        timeout=written.timeout,
    )
