"""The supervisors' dashboard at ``/dashboard``: one HTML page, one script and one style sheet,
served from the package (no build step, nothing from another host). The page holds no data: it
asks for a bearer token and reads the SLA board, the metrics and the scorecard from the API
(``/api/v1/sla``, ``/api/v1/metrics/procedures``, ``/api/v1/scorecard``) in the browser."""

from __future__ import annotations

from adapters.dashboard.routes import router

__all__ = ["router"]
