"""Operational routes mounted at the root (no ``/api/v1`` prefix): ``GET /metrics``, the
Prometheus metrics of the process (:mod:`api.metrics`) in the text exposition format.

Unauthenticated, as Prometheus scrapes expect: publish the API behind a proxy that keeps
``/metrics`` on the internal network.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from api import metrics

router = APIRouter(tags=["operations"])


@router.get("/metrics", response_class=Response, summary="Prometheus metrics",
            responses={200: {"content": {"text/plain": {"example":
                "# TYPE callbot_active_calls gauge\ncallbot_active_calls{campaign=\"1\"} 3.0\n"}},
                "description": "metrics in the Prometheus text format"}})
def get_metrics() -> Response:
    """Active calls, attempts by outcome, dialer lag, webhook deliveries, process stats."""
    return Response(content=metrics.render(), media_type=metrics.CONTENT_TYPE)
