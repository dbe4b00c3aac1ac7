"""SIP trunks (RFC 3261 section 22 digest credentials): managers add them, managers and
supervisors read them; the password is never shown."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import IdPath, ManagerUser, NowDep, ReaderUser, SessionDep
from api.schemas import TrunkIn
from api.services import trunks as service
from callbot.store.models import TrunkPublic

router = APIRouter(prefix="/trunks", tags=["trunks"])


@router.get("", response_model=list[TrunkPublic])
def list_trunks(session: SessionDep, _: ReaderUser) -> list[TrunkPublic]:
    return [TrunkPublic.model_validate(t) for t in service.list_trunks(session)]


@router.post("", response_model=TrunkPublic, status_code=status.HTTP_201_CREATED)
def create_trunk(session: SessionDep, actor: ManagerUser, now: NowDep,
                 data: TrunkIn) -> TrunkPublic:
    return TrunkPublic.model_validate(service.create_trunk(session, actor, data, now=now))


@router.get("/{trunk_id}", response_model=TrunkPublic)
def read_trunk(session: SessionDep, _: ReaderUser, trunk_id: IdPath) -> TrunkPublic:
    return TrunkPublic.model_validate(service.get_trunk(session, trunk_id))
