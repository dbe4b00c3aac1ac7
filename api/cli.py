"""Command-line entry points of the API, mounted by :mod:`callbot.cli`:

- ``callbot serve [--host --port --db ...]`` (:data:`serve_app` / :func:`serve`): the HTTP
  API under uvicorn, with the campaign dialer and the webhook sender in the same process;
- ``callbot user create --username ... --role manager`` (:data:`user_app`): an account,
  e.g. the first manager of a new database (the password is asked for, never echoed).

The token signing key comes from ``CALLBOT_SECRET_KEY`` (or ``.env``); the server refuses to
start without a real one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from sqlmodel import Session

from api.errors import ApiError
from api.settings import ApiSettings
from callbot.store.db import make_engine, upgrade
from callbot.store.models_api import UserCreate, UserRole

__all__ = ["serve_app", "user_app", "serve", "create_user", "load_settings"]

serve_app = typer.Typer(help="Run the CRM API (and the campaign dialer).")
user_app = typer.Typer(help="Manage API accounts.")


def load_settings(**overrides: Any) -> ApiSettings:
    """Settings from the environment with ``overrides`` (None values ignored); a bad value,
    such as a missing or default secret key, ends the command with its message."""
    try:
        return ApiSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            typer.echo(f"error: {where}: {message}", err=True)
        raise typer.Exit(2) from exc


@serve_app.callback(invoke_without_command=True)
def serve(
    host: Annotated[str, typer.Option(help="Address the HTTP API listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP port.")] = 8000,
    db: Annotated[str | None, typer.Option(
        "--db", help="Database URL (default: CALLBOT_DATABASE_URL or sqlite:///callbot.db).")
    ] = None,
    sip_host: Annotated[str | None, typer.Option(help="Address of the dialer's SIP socket.")]
    = None,
    sip_port: Annotated[int | None, typer.Option(help="SIP port of the dialer (0: any).")]
    = None,
    dialer: Annotated[bool, typer.Option(help="Run the campaign dialer in this process.")]
    = True,
    webhooks: Annotated[bool, typer.Option(help="Deliver webhooks from this process.")]
    = True,
    speech_model: Annotated[Path | None, typer.Option(help="Vosk model folder.")] = None,
    prompt_cache: Annotated[Path | None, typer.Option(help="Folder for rendered prompts.")]
    = None,
    log_json: Annotated[bool, typer.Option(help="One JSON object per log line.")] = False,
) -> None:
    """Serve the CRM API with uvicorn; running campaigns are dialed by the same process."""
    import uvicorn

    from api import metrics
    from api.app import create_app

    settings = load_settings(database_url=db, sip_host=sip_host, sip_port=sip_port,
                             run_dialer=dialer, run_webhooks=webhooks,
                             speech_model=speech_model, prompt_cache=prompt_cache)
    metrics.configure_logging(json_format=log_json)
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None,
                proxy_headers=False)


@user_app.command("create")
def create_user(
    username: Annotated[str, typer.Option(help="Sign-in name.")],
    role: Annotated[UserRole, typer.Option(help="manager, supervisor or agent.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True,
                                          confirmation_prompt=True)],
    full_name: Annotated[str, typer.Option(help="Name shown to others.")] = "",
    db: Annotated[str, typer.Option("--db", help="Database URL.")] = "sqlite:///callbot.db",
) -> None:
    """Create an account (the first manager of a new database, for instance)."""
    from api.services.users import create_user as create

    try:
        data = UserCreate(username=username, role=role, password=password, full_name=full_name)
    except ValidationError as exc:
        for error in exc.errors():
            typer.echo(f"error: {error['loc'][0]}: {error['msg']}", err=True)
        raise typer.Exit(2) from exc
    engine = make_engine(db)
    try:
        upgrade(engine)
        with Session(engine) as session:
            user = create(session, None, data, now=datetime.now(UTC))
            created = f"created {user.role.value} {user.username} (id {user.id})"
    except ApiError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    typer.echo(created)
