"""Operational routes mounted at the root (no ``/api/v1`` prefix), e.g. ``GET /metrics``.

Filled by the reports/exports/webhooks/metrics work (collectors live in :mod:`api.metrics`).
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
