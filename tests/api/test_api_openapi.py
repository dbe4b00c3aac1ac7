"""The OpenAPI document: every JSON request body has an example, every route of the core
documents the error body, and error responses follow it."""

from __future__ import annotations

from typing import Any

import pytest

from api.app import create_app
from api.settings import ApiSettings
from api_support import SECRET


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    app = create_app(ApiSettings(secret_key=SECRET, _env_file=None))  # type: ignore[call-arg]
    document: dict[str, Any] = app.openapi()
    return document


def _component(schema: dict[str, Any], ref: str) -> dict[str, Any]:
    found: dict[str, Any] = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return found


def test_every_json_request_body_has_an_example(schema: dict[str, Any]) -> None:
    missing = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None:
                continue
            model = _component(schema, body["schema"]["$ref"])
            if not model.get("examples"):
                missing.append(f"{method.upper()} {path}")
    assert missing == []


def test_core_routes_document_the_error_body(schema: dict[str, Any]) -> None:
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/v1/") or path.endswith("/access-token"):
            continue
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "401" in responses and "403" in responses, f"{method} {path}"
            ref = responses["403"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorBody")


def test_error_body_schema(schema: dict[str, Any]) -> None:
    body = _component(schema, "ErrorBody")
    assert set(body["required"]) == {"error", "message"}
    assert body["examples"][0]["field"] == "status"


def test_owner_is_not_part_of_the_campaign_request(schema: dict[str, Any]) -> None:
    assert "owner_id" not in _component(schema, "CampaignIn")["properties"]
    assert "password" not in _component(schema, "TrunkPublic")["properties"]
    assert "password_hash" not in _component(schema, "UserPublic")["properties"]


def test_lifecycle_routes_are_explicit(schema: dict[str, Any]) -> None:
    for action in ("start", "pause", "resume", "stop"):
        assert "post" in schema["paths"][f"/api/v1/campaigns/{{campaign_id}}/{action}"]
