"""The audit log: who changed what, when, with before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import IdQuery, Offset, ReaderUser, SessionDep
from api.schemas import Page
from api.services import auditlog as service
from callbot.store.models_api import AuditLogPublic

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=Page[AuditLogPublic])
def list_audit(session: SessionDep, user: ReaderUser,
               entity: Annotated[str | None, Query(max_length=64)] = None,
               entity_id: Annotated[str | None, Query(max_length=64)] = None,
               user_id: IdQuery = None, since: datetime | None = None,
               offset: Offset = 0,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Page[AuditLogPublic]:
    items, total = service.list_entries(session, user, entity=entity, entity_id=entity_id,
                                        user_id=user_id, since=since, offset=offset,
                                        limit=limit)
    return Page(items=items, total=total, offset=offset, limit=limit)
