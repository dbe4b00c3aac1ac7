"""Customer lists: import an XLSX or CSV file into a campaign; download the template."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Response, UploadFile

from api.deps import CurrentUser, IdPath, ManagerUser, NowDep, SessionDep
from api.schemas import ImportResult
from api.services import imports as service
from api.services.access import campaign_to_work

router = APIRouter(prefix="/campaigns/{campaign_id}/customers", tags=["customer lists"])

_TYPES = {"csv": "text/csv; charset=utf-8",
          "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@router.post("/import", response_model=ImportResult,
             responses={422: {"description": "the file cannot be read (nothing imported), or "
                                             "the mapping is invalid"}})
def import_customers(
    session: SessionDep, user: ManagerUser, now: NowDep, campaign_id: IdPath,
    file: Annotated[UploadFile, File(description="XLSX or CSV customer list")],
    mapping: Annotated[str | None, Form(
        description='JSON: column header -> field, e.g. {"SĐT": "phone", "Ghi chú": null}',
        examples=['{"Số ĐT": "phone", "Tên": "name"}'])] = None,
    sheet: Annotated[str | None, Form(description="XLSX sheet name (default: the first)")]
    = None,
) -> ImportResult:
    """Import a customer list: rows read / imported / skipped with each skipped row's reason.
    A file that cannot be read imports nothing."""
    return service.import_file(session, user, campaign_id, file.file,
                               file.filename or "upload", mapping=service.parse_mapping(mapping),
                               sheet=sheet or None, now=now)


@router.get("/import-template", response_class=Response,
            responses={200: {"content": {t: {} for t in _TYPES.values()},
                             "description": "the template"}})
def template(session: SessionDep, user: CurrentUser, campaign_id: IdPath,
             format: Literal["xlsx", "csv"] = "xlsx") -> Response:
    """The customer list template, with the campaign's own fields."""
    campaign_to_work(session, user, campaign_id)
    body = service.template(session, campaign_id, format)
    return Response(body, media_type=_TYPES[format], headers={
        "Content-Disposition": f'attachment; filename="customers-template.{format}"'})
