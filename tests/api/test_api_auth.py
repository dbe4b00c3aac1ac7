"""Signing in, tokens, settings that refuse default secrets, and user management by role."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from pydantic import ValidationError
from sqlmodel import Session, select

from api.settings import ApiSettings
from api_support import PASSWORD, SECRET, ApiClient
from callbot.store.models_api import AuditLog, User


def test_login_gives_a_bearer_token_that_names_the_user(api: ApiClient) -> None:
    response = api.client.post("/api/v1/login/access-token",
                               data={"username": "supervisor", "password": PASSWORD})
    body = api.ok(response)
    assert body["token_type"] == "bearer"
    claims = jwt.decode(body["access_token"], SECRET, algorithms=["HS256"],
                        options={"verify_exp": False})
    assert claims["sub"] == str(api.ids["supervisor"])
    me = api.ok(api.get("/login/me", "supervisor"))
    assert (me["username"], me["role"]) == ("supervisor", "supervisor")
    assert "password_hash" not in me


@pytest.mark.parametrize("username,password", [("manager", "wrong password"),
                                               ("nobody", PASSWORD)])
def test_wrong_name_or_password_is_401_with_one_message(api: ApiClient, username: str,
                                                        password: str) -> None:
    response = api.client.post("/api/v1/login/access-token",
                               data={"username": username, "password": password})
    assert response.status_code == 401
    assert response.json() == {"error": "bad_credentials",
                               "message": "Wrong user name or password.", "field": None}


def test_login_form_fields_are_validated_by_name(api: ApiClient) -> None:
    response = api.client.post("/api/v1/login/access-token", data={"username": "manager"})
    assert response.status_code == 422
    assert response.json()["field"] == "password"


def test_no_token_is_401(api: ApiClient) -> None:
    response = api.get("/campaigns", None)
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"
    assert response.headers["www-authenticate"] == "Bearer"


def test_forged_and_garbage_tokens_are_401(api: ApiClient) -> None:
    forged = jwt.encode({"sub": str(api.ids["manager"]), "iat": 0, "exp": 4_000_000_000},
                        "another-secret-another-secret-another", algorithm="HS256")
    for token in (forged, "not-a-token"):
        response = api.get("/campaigns", None, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_token"


def test_token_expires(api: ApiClient) -> None:
    api.headers("agent")
    api.clock.advance(hours=8, seconds=1)
    response = api.get("/campaigns", "agent")
    assert response.status_code == 401
    assert response.json()["error"] == "token_expired"


def test_disabled_user_loses_access_at_once(api: ApiClient) -> None:
    api.headers("agent")
    api.ok(api.patch(f"/users/{api.ids['agent']}", json={"active": False}))
    assert api.get("/campaigns", "agent").status_code == 401
    response = api.client.post("/api/v1/login/access-token",
                               data={"username": "agent", "password": PASSWORD})
    assert response.status_code == 401
    assert response.json()["error"] == "account_disabled"


def test_manager_creates_a_user_who_can_sign_in(api: ApiClient) -> None:
    created = api.ok(api.post("/users", json={
        "username": "lan.nguyen", "full_name": "Nguyễn Thị Lan", "role": "agent",
        "password": "mật khẩu đủ dài"}), 201)
    assert created["role"] == "agent" and "password" not in created
    response = api.client.post("/api/v1/login/access-token",
                               data={"username": "lan.nguyen", "password": "mật khẩu đủ dài"})
    assert response.status_code == 200
    with Session(api.engine) as session:
        user = session.exec(select(User).where(User.username == "lan.nguyen")).one()
        assert user.password_hash.startswith("$argon2id$")
        entry = session.exec(select(AuditLog).where(AuditLog.entity == "user",
                                                    AuditLog.entity_id == str(user.id))).one()
    assert entry.user_id == api.ids["manager"] and entry.action == "create"
    assert entry.after is not None and "password_hash" not in entry.after


@pytest.mark.parametrize("who", ["supervisor", "agent"])
def test_only_managers_manage_users(api: ApiClient, who: str) -> None:
    body = {"username": "someone", "role": "agent", "password": "long enough password"}
    assert api.post("/users", who, json=body).status_code == 403
    assert api.get("/users", who).status_code == 403
    response = api.patch(f"/users/{api.ids['agent2']}", who, json={"active": False})
    assert response.status_code == 403
    assert response.json()["error"] == "role_forbidden"


@pytest.mark.parametrize("body,field", [
    ({"username": "a b", "role": "agent", "password": "long enough password"}, "username"),
    ({"username": "someone", "role": "boss", "password": "long enough password"}, "role"),
    ({"username": "someone", "role": "agent", "password": "short"}, "password"),
])
def test_user_validation_errors_name_the_field(api: ApiClient, body: dict[str, str],
                                               field: str) -> None:
    response = api.post("/users", json=body)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert response.json()["message"].startswith(f"{field}: ")


def test_username_taken_is_409(api: ApiClient) -> None:
    response = api.post("/users", json={"username": "agent", "role": "agent",
                                        "password": "long enough password"})
    assert response.status_code == 409
    assert response.json()["field"] == "username"


def test_manager_cannot_lock_themselves_out(api: ApiClient) -> None:
    response = api.patch(f"/users/{api.ids['manager']}", json={"role": "agent"})
    assert response.status_code == 403
    assert response.json()["error"] == "self_demotion"


def test_user_list_filters_by_role(api: ApiClient) -> None:
    page = api.ok(api.get("/users", params={"role": "agent"}))
    assert sorted(u["username"] for u in page["items"]) == ["agent", "agent2"]
    assert page["total"] == 2


@pytest.mark.parametrize("secret", ["", "changeme", "CHANGEME", "secret", "short-but-random"])
def test_settings_refuse_default_or_weak_secrets(secret: str) -> None:
    with pytest.raises(ValidationError, match="secret_key"):
        ApiSettings(secret_key=secret, _env_file=None)  # type: ignore[call-arg]


def test_settings_refuse_a_missing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CALLBOT_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="secret_key is empty"):
        ApiSettings(_env_file=None)  # type: ignore[call-arg]


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLBOT_SECRET_KEY", SECRET)
    monkeypatch.setenv("CALLBOT_TOKEN_MINUTES", "15")
    settings = ApiSettings(_env_file=None)  # type: ignore[call-arg]
    assert settings.token_minutes == 15
    assert SECRET not in repr(settings)


def test_token_lifetime_follows_the_settings(api: ApiClient) -> None:
    body = api.ok(api.client.post("/api/v1/login/access-token",
                                  data={"username": "manager", "password": PASSWORD}))
    claims = jwt.decode(body["access_token"], SECRET, algorithms=["HS256"],
                        options={"verify_exp": False})
    assert timedelta(seconds=claims["exp"] - claims["iat"]) == timedelta(hours=8)
