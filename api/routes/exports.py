"""Routes of the exports resource, mounted under ``/api/v1`` by :func:`api.app.create_app`.

Filled by the reports/exports/webhooks/metrics work; use the dependency aliases of
:mod:`api.deps` (``ReadableCampaign``, ``ManagedCampaign``, ``ReaderUser`` ...).
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
