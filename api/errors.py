"""Domain errors as HTTP responses, translated in one place (principle 8).

Every error body is JSON ``{"error": code, "message": text, "field": name or null}``; a
request that fails validation answers 422 with the first problem in those keys and every
problem under ``"problems"`` (each with its ``field``), and a script that fails validation
answers 422 with the validator's problems (block, field, line, code, message).

Exception tree of the API layer (the store's, the importer's and the script language's
errors are mapped here too, see :func:`install_error_handlers`)::

    ApiError                 base; carries status, code, message and field
    ├── Unauthorized         401: no token, a bad or expired token, wrong password
    ├── Forbidden            403: the role or the ownership does not allow it
    ├── NotFoundError        404
    ├── Conflict             409: a name already taken, a state that forbids the change
    └── Unprocessable        422: input the service refuses (with the field at fault)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from callbot.imports.errors import ImportConfigError, ImportFileError, MissingColumnError
from callbot.store.errors import CampaignStateRefused, InvalidData, NotFound, StoreError
from scripts_dsl.errors import ScriptInvalid, StatusChangeRefused

__all__ = [
    "ApiError", "Unauthorized", "Forbidden", "NotFoundError", "Conflict", "Unprocessable",
    "ErrorBody", "ERROR_RESPONSES", "error_body", "install_error_handlers",
]

_log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error the API answers with ``status`` and a stable ``code``."""

    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None,
                 extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code
        self.extra = dict(extra or {})


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFoundError(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class Unprocessable(ApiError):
    status, code = 422, "invalid"


class ErrorBody(BaseModel):
    """What every error response carries."""

    error: str
    message: str
    field: str | None = None

    model_config = {"extra": "allow", "json_schema_extra": {"examples": [{
        "error": "status_refused",
        "message": "Status change refused: Joined -> Confirmed is not an allowed change; "
                   "from Joined the status can only move to: Cancelled.",
        "field": "status"}]}}


ERROR_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    401: {"model": ErrorBody, "description": "missing, invalid or expired token"},
    403: {"model": ErrorBody, "description": "the role or ownership does not allow it"},
    404: {"model": ErrorBody, "description": "no such resource (or not visible to you)"},
    422: {"model": ErrorBody, "description": "invalid input; `field` names the culprit"},
}
"""Documented on every router so the OpenAPI schema shows the error body."""


def error_body(code: str, message: str, field: str | None = None,
               **extra: Any) -> dict[str, Any]:
    return {"error": code, "message": message, "field": field, **extra}


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None
          ) -> JSONResponse:
    return JSONResponse(status_code=status, content=body, headers=headers)


def _field_of(loc: Sequence[Any]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie",
                                                  "form", "file")]
    return ".".join(parts) or (str(loc[-1]) if loc else None)


def _validation_problems(exc: RequestValidationError) -> list[dict[str, Any]]:
    problems = []
    for err in exc.errors():
        message = str(err.get("msg", "invalid value"))
        message = message.removeprefix("Value error, ")
        problems.append({"field": _field_of(err.get("loc", ())), "message": message,
                         "type": err.get("type")})
    return problems


def _first_field(message: str) -> str | None:
    """The store writes ``"field: message"``; take the field when it is a plain name."""
    head, sep, _ = message.partition(":")
    return head if sep and head.replace("_", "").replace(".", "").isalnum() else None


def install_error_handlers(app: FastAPI) -> None:
    """Register the one translation from domain errors to JSON responses."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return _json(exc.status, error_body(exc.code, exc.message, exc.field, **exc.extra),
                     headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = _validation_problems(exc)
        first = problems[0] if problems else {"field": None, "message": "invalid request"}
        message = (f"{first['field']}: {first['message']}" if first["field"]
                   else str(first["message"]))
        return _json(422, error_body("validation_error", message, first["field"],
                                     problems=problems))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _json(exc.status_code, error_body(code, str(exc.detail)),
                     dict(exc.headers) if exc.headers else None)

    @app.exception_handler(ScriptInvalid)
    async def _script_invalid(_: Request, exc: ScriptInvalid) -> JSONResponse:
        problems = [p.as_dict() for p in exc.problems]
        first = exc.problems[0] if exc.problems else None
        return _json(422, error_body(
            "script_invalid", str(exc).splitlines()[0],
            first.field if first is not None else None, problems=problems))

    @app.exception_handler(StatusChangeRefused)
    async def _status(_: Request, exc: StatusChangeRefused) -> JSONResponse:
        return _json(409, error_body("status_refused", str(exc), "status",
                                     current=exc.current, allowed=list(exc.allowed)))

    @app.exception_handler(CampaignStateRefused)
    async def _campaign_state(_: Request, exc: CampaignStateRefused) -> JSONResponse:
        return _json(409, error_body("campaign_state_refused", str(exc), "state",
                                     current=str(exc.current), allowed=[str(a) for a in
                                                                        exc.allowed]))

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return _json(404, error_body("not_found", f"{exc.entity} {exc.key} does not exist"))

    @app.exception_handler(InvalidData)
    async def _invalid_data(_: Request, exc: InvalidData) -> JSONResponse:
        return _json(422, error_body("invalid", str(exc), _first_field(str(exc))))

    @app.exception_handler(StoreError)
    async def _store(_: Request, exc: StoreError) -> JSONResponse:
        return _json(409, error_body("store_refused", str(exc)))

    @app.exception_handler(MissingColumnError)
    async def _missing_column(_: Request, exc: MissingColumnError) -> JSONResponse:
        return _json(422, error_body("import_missing_column", str(exc), exc.field,
                                     found=list(exc.found)))

    @app.exception_handler(ImportFileError)
    async def _import_file(_: Request, exc: ImportFileError) -> JSONResponse:
        if isinstance(exc.__cause__, ImportConfigError):
            # The user's column mapping does not fit the file's header.
            return _json(422, error_body("import_config_invalid", exc.detail, "mapping"))
        return _json(422, error_body("import_file_unreadable", exc.detail, "file"))

    @app.exception_handler(ImportConfigError)
    async def _import_config(_: Request, exc: ImportConfigError) -> JSONResponse:
        return _json(422, error_body("import_config_invalid", str(exc), "mapping"))
