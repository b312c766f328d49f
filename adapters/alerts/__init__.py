"""SLA alerts: a signed webhook per change of a dossier or step to at risk or overdue.

``config`` reads the hooks (per agency) from the alerts file; ``outbox`` records each change
once in ``sla_alerts``; ``delivery`` sends the pending rows with retries; ``scheduler`` runs
both on an interval (inside ``lienthong serve``, or ``lienthong sla watch``).
"""

from __future__ import annotations

from adapters.alerts.config import AlertConfigError, Hook, load_alerts
from adapters.alerts.delivery import DeliveryReport, deliver, signature
from adapters.alerts.outbox import evaluate
from adapters.alerts.scheduler import AlertReport, Scheduler, open_alerts
from adapters.bus.relay import Backoff
from workflow.messages import canonical

__all__ = [
    "AlertConfigError",
    "AlertReport",
    "Backoff",
    "DeliveryReport",
    "Hook",
    "Scheduler",
    "canonical",
    "deliver",
    "evaluate",
    "load_alerts",
    "open_alerts",
    "signature",
]
