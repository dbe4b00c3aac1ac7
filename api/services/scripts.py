"""Call scripts over HTTP: validate an uploaded text, store it as a version, list, draw.

A script is stored only when the validator finds no problem; its version is the validator's
content hash, so uploading the same script twice (even reformatted) keeps one version.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Final, Literal

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api.errors import NotFoundError, Unprocessable
from api.schemas import ProblemOut, ScriptOut, ScriptVersionOut, ScriptVersionSource, ValidationOut
from api.services.audit import entry, on_commit
from callbot.store import repo
from callbot.store.models import Script, ScriptFormat, ScriptVersion
from callbot.store.models_api import AuditLog, User
from scripts_dsl.errors import ScriptInvalid
from scripts_dsl.graph import render
from scripts_dsl.validator import ValidationReport, validate_text

__all__ = ["MAX_SCRIPT_BYTES", "decode", "validate", "upload", "list_scripts", "get_script",
           "versions", "get_version", "diagram", "DIAGRAM_TYPES"]

MAX_SCRIPT_BYTES: Final = 1_000_000
DIAGRAM_TYPES: Final = {"svg": "image/svg+xml", "dot": "text/vnd.graphviz; charset=utf-8",
                        "mermaid": "text/plain; charset=utf-8"}


def decode(data: bytes, filename: str) -> str:
    """The script text of an upload: UTF-8 (a byte-order mark is allowed), at most 1 MB."""
    if len(data) > MAX_SCRIPT_BYTES:
        raise Unprocessable(f"{filename} is larger than {MAX_SCRIPT_BYTES // 1000} kB",
                            field="file", code="script_too_large")
    if not data.strip():
        raise Unprocessable(f"{filename} is empty", field="file", code="script_empty")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unprocessable(f"{filename} is not UTF-8 text (byte {exc.start} cannot be "
                            "decoded): save it as UTF-8", field="file",
                            code="script_encoding") from exc


def _format(filename: str, fmt: ScriptFormat | None, text: str) -> ScriptFormat:
    if fmt is not None:
        return fmt
    suffix = Path(filename).suffix.lower()
    if suffix == ".json" or (suffix not in (".yaml", ".yml") and text.lstrip()[:1] in "{["):
        return ScriptFormat.JSON
    return ScriptFormat.YAML


def _report(text: str, filename: str, fmt: ScriptFormat, speech_model: Path | None
            ) -> ValidationReport:
    return validate_text(text, name=filename, fmt=fmt.value, speech_model=speech_model)


def _out(report: ValidationReport) -> ValidationOut:
    return ValidationOut(ok=report.ok, name=report.script.name if report.script else None,
                         version=report.version,
                         problems=[ProblemOut(**p.as_dict()) for p in report.problems])


def validate(data: bytes, filename: str, fmt: ScriptFormat | None = None, *,
             speech_model: Path | None = None) -> ValidationOut:
    """Every problem of an uploaded script, nothing stored."""
    text = decode(data, filename)
    return _out(_report(text, filename, _format(filename, fmt, text), speech_model))


def upload(session: Session, actor: User, data: bytes, filename: str,
           fmt: ScriptFormat | None = None, *, now: datetime,
           speech_model: Path | None = None) -> ScriptVersionOut:
    """Validate and store a script version; :class:`ScriptInvalid` (422 with every problem)
    when it has problems."""
    text = decode(data, filename)
    fmt = _format(filename, fmt, text)
    report = _report(text, filename, fmt, speech_model)
    script = report.valid_script()
    if report.version is None:  # a script without problems always has a version
        raise ScriptInvalid(report.problems)

    def audit(sess: Session) -> list[AuditLog]:
        added = [v for v in sess.new if isinstance(v, ScriptVersion)]
        sess.flush()
        return [entry(actor, "create", "script_version", v.id, now=now, after={
            "script": script.name, "script_id": v.script_id, "version": v.version,
            "format": v.format.value}) for v in added]

    with on_commit(session, audit):
        row = repo.create_script_version(session, script.name, text, fmt, report.version,
                                         now=now)
    return _version_out(row, script.name)


def _version_out(row: ScriptVersion, name: str) -> ScriptVersionOut:
    assert row.id is not None
    return ScriptVersionOut(id=row.id, script_id=row.script_id, name=name, version=row.version,
                            format=row.format, created_at=row.created_at)


def list_scripts(session: Session, *, offset: int = 0, limit: int = 50
                 ) -> tuple[list[ScriptOut], int]:
    sv = ScriptVersion
    counts = (sa.select(col(sv.script_id), sa.func.count().label("n"),
                        sa.func.max(col(sv.id)).label("latest"))
              .group_by(col(sv.script_id)).subquery())
    query = (sa.select(Script, counts.c.n, counts.c.latest)
             .outerjoin(counts, counts.c.script_id == col(Script.id)))
    total = session.execute(sa.select(sa.func.count()).select_from(Script)).scalar_one()
    rows = session.execute(query.order_by(col(Script.id)).offset(offset).limit(limit)).all()
    return [_script_out(s, n, latest) for s, n, latest in rows], int(total)


def _script_out(script: Script, n: int | None, latest: int | None) -> ScriptOut:
    assert script.id is not None
    return ScriptOut(id=script.id, name=script.name, created_at=script.created_at,
                     versions=int(n or 0), latest_version_id=latest)


def get_script(session: Session, script_id: int) -> ScriptOut:
    script = session.get(Script, script_id)
    if script is None:
        raise NotFoundError(f"script {script_id} does not exist")
    n, latest = session.execute(
        sa.select(sa.func.count(), sa.func.max(col(ScriptVersion.id)))
        .where(col(ScriptVersion.script_id) == script_id)).one()
    return _script_out(script, n, latest)


def versions(session: Session, script_id: int) -> list[ScriptVersionOut]:
    script = get_script(session, script_id)
    rows = session.exec(select(ScriptVersion).where(ScriptVersion.script_id == script_id)
                        .order_by(col(ScriptVersion.id).desc()))
    return [_version_out(r, script.name) for r in rows]


def get_version(session: Session, script_id: int, version_id: int) -> ScriptVersionSource:
    script = get_script(session, script_id)
    row = session.get(ScriptVersion, version_id)
    if row is None or row.script_id != script_id:
        raise NotFoundError(f"script {script_id} has no version {version_id}")
    return ScriptVersionSource(**_version_out(row, script.name).model_dump(), source=row.source)


def diagram(session: Session, script_id: int, version_id: int,
            kind: Literal["svg", "dot", "mermaid"] = "svg") -> bytes:
    """The drawing of a stored version (svg through Graphviz's ``dot``)."""
    row = get_version(session, script_id, version_id)
    report = validate_text(row.source, fmt=row.format.value)
    return render(report.valid_script(), kind, row.version)
