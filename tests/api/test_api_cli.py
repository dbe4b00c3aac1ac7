"""The account command a new installation starts with."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select
from typer.testing import CliRunner

from callbot.cli import app
from callbot.store.db import make_engine
from callbot.store.models_api import User

runner = CliRunner()


def test_first_manager_is_created_and_can_be_found(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'api.db'}"
    result = runner.invoke(app, ["user", "create", "--username", "boss", "--role", "manager",
                                 "--password", "Sup3r-secret-pw", "--db", db])
    assert result.exit_code == 0, result.output
    assert "created manager boss" in result.output
    with Session(make_engine(db)) as session:
        user = session.exec(select(User).where(User.username == "boss")).one()
        assert user.role.value == "manager" and user.password_hash != "Sup3r-secret-pw"
    again = runner.invoke(app, ["user", "create", "--username", "boss", "--role", "agent",
                                "--password", "Sup3r-secret-pw", "--db", db])
    assert again.exit_code == 1 and "boss" in again.output
