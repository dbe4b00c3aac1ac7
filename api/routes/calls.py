"""Call attempts: outcome, timings, how the call ended, and its events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from api.deps import CurrentUser, IdPath, IdQuery, Offset, SessionDep, SettingsDep
from api.schemas import CallAttemptDetail, CallAttemptOut, Page
from api.services import calls as service
from dialer.outcome import CallOutcome

router = APIRouter(prefix="/campaigns/{campaign_id}/calls", tags=["calls"])


@router.get("", response_model=Page[CallAttemptOut])
def list_calls(session: SessionDep, user: CurrentUser, campaign_id: IdPath,
               outcome: Annotated[list[CallOutcome] | None, Query()] = None,
               since: datetime | None = None, until: datetime | None = None,
               customer_id: IdQuery = None,
               offset: Offset = 0,
               limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> Page[CallAttemptOut]:
    items, total = service.list_calls(session, user, campaign_id, outcome=outcome, since=since,
                                      until=until, customer_id=customer_id, offset=offset,
                                      limit=limit)
    return Page(items=items, total=total, offset=offset, limit=limit)


@router.get("/{attempt_id}", response_model=CallAttemptDetail)
def read_call(session: SessionDep, user: CurrentUser, campaign_id: IdPath,
              attempt_id: IdPath) -> CallAttemptDetail:
    return service.get_call(session, user, campaign_id, attempt_id)


@router.get("/{attempt_id}/recordings/{name}", response_class=FileResponse,
            responses={200: {"content": {"audio/wav": {}}}})
def read_recording(session: SessionDep, user: CurrentUser, settings: SettingsDep, campaign_id: IdPath,
                   attempt_id: IdPath, name: str) -> FileResponse:
    """A recording a record block made during this call (WAV, 8 kHz mono)."""
    path = service.recording_path(session, user, campaign_id, attempt_id, name, settings.recordings_dir)
    return FileResponse(path, media_type="audio/wav", filename=name)
