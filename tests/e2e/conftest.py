"""Every end-to-end test runs on its own embedded store under a temporary ``var/``."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def own_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    var = tmp_path / "var"
    monkeypatch.setenv("LIENTHONG_VAR_DIR", str(var))
    monkeypatch.delenv("LIENTHONG_DATABASE_URL", raising=False)
    monkeypatch.delenv("LIENTHONG_SECRET_KEY", raising=False)
    return var


from tests.e2e.api_server import api_server  # noqa: E402, F401 (a real API server)
from tests.integration.conftest import pg_database  # noqa: E402, F401 (the run's PostgreSQL)
