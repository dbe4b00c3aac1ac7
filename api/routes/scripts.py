"""Call scripts: upload (YAML or JSON), validate, versions, diagram."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status

from api.deps import IdPath, ManagerUser, NowDep, Offset, ReaderUser, SessionDep, SettingsDep
from api.schemas import Page, ScriptOut, ScriptVersionOut, ScriptVersionSource, ValidationOut
from api.services import scripts as service
from callbot.store.models import ScriptFormat

router = APIRouter(prefix="/scripts", tags=["scripts"])

ScriptFile = Annotated[UploadFile, File(description="the script, YAML or JSON, UTF-8")]
FormatField = Annotated[ScriptFormat | None,
                        Form(description="yaml or json; guessed from the name otherwise")]

_INVALID = {422: {"description": "the script has problems: `problems` lists each with its "
                                 "block, field and line"}}


@router.post("/validate", response_model=ValidationOut)
async def validate_script(_: ManagerUser, settings: SettingsDep, file: ScriptFile,
                          format: FormatField = None) -> ValidationOut:
    """Every problem of a script, without storing it."""
    data = await file.read()
    return service.validate(data, file.filename or "script", format,
                            speech_model=settings.speech_model)


@router.post("", response_model=ScriptVersionOut, status_code=status.HTTP_201_CREATED,
             responses=_INVALID)
async def upload_script(session: SessionDep, actor: ManagerUser, now: NowDep,
                        settings: SettingsDep, file: ScriptFile,
                        format: FormatField = None) -> ScriptVersionOut:
    """Validate and store a script; a new text of a known script name is a new version."""
    data = await file.read()
    return service.upload(session, actor, data, file.filename or "script", format, now=now,
                          speech_model=settings.speech_model)


@router.get("", response_model=Page[ScriptOut])
def list_scripts(session: SessionDep, _: ReaderUser,
                 offset: Offset = 0,
                 limit: Annotated[int, Query(ge=1, le=500)] = 50) -> Page[ScriptOut]:
    items, total = service.list_scripts(session, offset=offset, limit=limit)
    return Page(items=items, total=total, offset=offset, limit=limit)


@router.get("/{script_id}", response_model=ScriptOut)
def read_script(session: SessionDep, _: ReaderUser, script_id: IdPath) -> ScriptOut:
    return service.get_script(session, script_id)


@router.get("/{script_id}/versions", response_model=list[ScriptVersionOut])
def list_versions(session: SessionDep, _: ReaderUser, script_id: IdPath) -> list[ScriptVersionOut]:
    return service.versions(session, script_id)


@router.get("/{script_id}/versions/{version_id}", response_model=ScriptVersionSource)
def read_version(session: SessionDep, _: ReaderUser, script_id: IdPath,
                 version_id: IdPath) -> ScriptVersionSource:
    return service.get_version(session, script_id, version_id)


@router.get("/{script_id}/versions/{version_id}/diagram", response_class=Response,
            responses={200: {"content": {t: {} for t in service.DIAGRAM_TYPES.values()},
                             "description": "the drawing"}})
def diagram(session: SessionDep, _: ReaderUser, script_id: IdPath, version_id: IdPath,
            kind: Literal["svg", "dot", "mermaid"] = "svg") -> Response:
    """The script drawn as a graph: SVG (Graphviz), DOT or Mermaid."""
    body = service.diagram(session, script_id, version_id, kind)
    return Response(body, media_type=service.DIAGRAM_TYPES[kind])
