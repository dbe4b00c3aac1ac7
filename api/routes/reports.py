"""Routes of the reports resource, mounted under ``/api/v1`` by :func:`api.app.create_app`.

``GET /campaigns/{campaign_id}/report``: customers per status with the manual's cumulative
totals, attempts per outcome, answer rate, average talk time, answers per script block and
calls per hour (:func:`api.services.reports.campaign_report`). Readable by the campaign's
manager and by supervisors.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ReadableCampaign, SessionDep
from api.services.reports import CampaignReportPublic, campaign_report

router = APIRouter(tags=["reports"])


@router.get("/campaigns/{campaign_id}/report", response_model=CampaignReportPublic,
            summary="A campaign's report")
def get_report(campaign: ReadableCampaign, session: SessionDep) -> CampaignReportPublic:
    """Customers per status (and cumulative totals), call outcomes, answer rate, average
    talk time, keys and intents per script block, calls per UTC hour."""
    assert campaign.id is not None
    return campaign_report(session, campaign.id)
