"""What the service tells its operators: logs (``logs``), one access line per request
(``access``), Prometheus metrics (``metrics``) and optional OpenTelemetry traces (``tracing``)."""

from app.telemetry.access import AccessFacts, AccessLogMiddleware, access_facts
from app.telemetry.logs import configure_logging
from app.telemetry.metrics import Metrics

__all__ = ["AccessFacts", "AccessLogMiddleware", "Metrics", "access_facts", "configure_logging"]
