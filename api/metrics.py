"""Prometheus metrics of the process, and structured (JSON) logs.

The dialer and the API update the collectors through the small functions below; ``GET
/metrics`` (:mod:`api.routes.metrics`) renders them in the Prometheus text format with
:func:`render`. The collectors live in one registry of their own, :data:`REGISTRY` (with the
process and platform collectors), so tests and several apps in one process read the same
numbers without clashing with other libraries' metrics.

Metrics:

- ``callbot_active_calls{campaign}``: calls in progress (dialing, ringing or talking);
- ``callbot_call_attempts_total{campaign,outcome}``: finished attempts per outcome;
- ``callbot_dialer_lag_seconds{campaign}``: how late the dialer is, at its last claim, on
  the customers that are due (now minus the earliest due time still waiting);
- ``callbot_webhook_deliveries_total{result}``: webhook POSTs, ``delivered`` or ``failed``.

:class:`JsonFormatter` writes one JSON object per log line (``callbot serve --log-json``):
time, level, logger, message, any ``extra={...}`` fields, and the exception when there is one.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

__all__ = [
    "REGISTRY", "CONTENT_TYPE", "ACTIVE_CALLS", "CALL_ATTEMPTS", "DIALER_LAG",
    "WEBHOOK_DELIVERIES",
    "call_started", "call_finished", "attempt_finished", "set_active_calls", "set_dialer_lag", "webhook_delivered",
    "render", "JsonFormatter", "configure_logging",
]

REGISTRY: Final = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
"""Media type of :func:`render`'s output (Prometheus text exposition format 0.0.4)."""

ACTIVE_CALLS: Final = Gauge(
    "callbot_active_calls", "Calls in progress (dialing, ringing or talking).",
    ["campaign"], registry=REGISTRY)
CALL_ATTEMPTS: Final = Counter(
    "callbot_call_attempts", "Finished call attempts per outcome.",
    ["campaign", "outcome"], registry=REGISTRY)
DIALER_LAG: Final = Gauge(
    "callbot_dialer_lag_seconds",
    "How late the dialer is on due customers at its last claim (0 when on time).",
    ["campaign"], registry=REGISTRY)
WEBHOOK_DELIVERIES: Final = Counter(
    "callbot_webhook_deliveries", "Webhook POST attempts, delivered or failed.",
    ["result"], registry=REGISTRY)


def call_started(campaign_id: int) -> None:
    """A call of the campaign started dialing."""
    ACTIVE_CALLS.labels(campaign=str(campaign_id)).inc()


def call_finished(campaign_id: int, outcome: str) -> None:
    """A call of the campaign ended with ``outcome`` (a :class:`dialer.outcome.CallOutcome`
    value); it no longer counts as active. Pair it with :func:`call_started`."""
    ACTIVE_CALLS.labels(campaign=str(campaign_id)).dec()
    attempt_finished(campaign_id, outcome)


def attempt_finished(campaign_id: int, outcome: str) -> None:
    """Count a finished attempt without touching the active calls (for a worker that sets
    them with :func:`set_active_calls`)."""
    CALL_ATTEMPTS.labels(campaign=str(campaign_id), outcome=str(outcome)).inc()


def set_active_calls(campaign_id: int, count: int) -> None:
    """Set the campaign's number of calls in progress (for a worker that counts them)."""
    ACTIVE_CALLS.labels(campaign=str(campaign_id)).set(max(0, count))


def set_dialer_lag(campaign_id: int, seconds: float) -> None:
    """Record how many seconds past their due time the campaign's waiting customers are."""
    DIALER_LAG.labels(campaign=str(campaign_id)).set(max(0.0, seconds))


def webhook_delivered(ok: bool) -> None:
    """Count one webhook POST."""
    WEBHOOK_DELIVERIES.labels(result="delivered" if ok else "failed").inc()


def render() -> bytes:
    """Every metric in the Prometheus text format."""
    return generate_latest(REGISTRY)


# --- structured logs ----------------------------------------------------------------------

_STANDARD: Final = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (UTC, ISO 8601), ``level``, ``logger``,
    ``message``, the fields passed with ``extra=``, and ``exception`` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(*, json_format: bool, level: int | str = logging.INFO) -> None:
    """Send the root logger's records to stderr, as JSON lines or as plain text."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if json_format else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
