"""Scripts through HTTP: upload (YAML or JSON), the validator's problems with block, field and
line, versions, the diagram; managers upload, supervisors read, agents do neither."""

from __future__ import annotations

import json

import pytest
import yaml

from api_support import SCRIPT_YAML, ApiClient


def _upload(api: ApiClient, text: str | bytes, filename: str = "s.yaml", who: str = "manager",
            path: str = "/scripts", **form: str) -> object:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return api.post(path, who, files={"file": (filename, data, "text/plain")}, data=form)


def test_upload_stores_a_version(api: ApiClient) -> None:
    body = api.script()
    assert body["name"] == "xac_nhan" and body["format"] == "yaml"
    assert len(body["version"]) == 64
    script = api.ok(api.get(f"/scripts/{body['script_id']}", "supervisor"))
    assert (script["versions"], script["latest_version_id"]) == (1, body["id"])
    stored = api.ok(api.get(f"/scripts/{body['script_id']}/versions/{body['id']}"))
    assert stored["source"] == SCRIPT_YAML
    [entry] = api.audit(entity="script_version")
    assert entry["after"]["version"] == body["version"]


def test_same_script_as_json_is_the_same_version(api: ApiClient) -> None:
    first = api.script()
    as_json = json.dumps(yaml.safe_load(SCRIPT_YAML), ensure_ascii=False, indent=1)
    second = api.ok(_upload(api, as_json, "xac_nhan.json"), 201)
    assert (second["id"], second["version"]) == (first["id"], first["version"])


def test_a_changed_script_is_a_new_version(api: ApiClient) -> None:
    first = api.script()
    second = api.script(SCRIPT_YAML.replace("Cảm ơn quý khách.", "Xin cảm ơn."))
    assert second["script_id"] == first["script_id"] and second["id"] != first["id"]
    versions = api.ok(api.get(f"/scripts/{first['script_id']}/versions"))
    assert [v["id"] for v in versions] == [second["id"], first["id"]]
    assert api.ok(api.get("/scripts"))["total"] == 1


def test_invalid_script_answers_every_problem_with_block_field_and_line(api: ApiClient) -> None:
    broken = SCRIPT_YAML.replace('"1": xac_nhan', '"1": xac_nhan_sai').replace(
        "    timeout: 5\n", "    timeout: 5\n    colour: red\n")
    response = _upload(api, broken)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "script_invalid"
    problems = {(p["block_id"], p["field"], p["code"]): p for p in body["problems"]}
    target = problems[("chao", "keys.1", "unknown_block")]
    assert target["line"] == 11 and "xac_nhan_sai" in target["message"]
    assert problems[("chao", "colour", "schema")]["line"] == 14
    assert body["field"] == body["problems"][0]["field"]
    assert api.ok(api.get("/scripts"))["total"] == 0


def test_validate_only_stores_nothing(api: ApiClient) -> None:
    body = api.ok(_upload(api, SCRIPT_YAML, path="/scripts/validate"))
    assert body["ok"] and body["name"] == "xac_nhan" and body["problems"] == []
    body = api.ok(_upload(api, "name: x\nblocks: [", path="/scripts/validate"))
    assert not body["ok"] and body["version"] is None
    assert body["problems"][0]["code"] == "syntax"
    assert api.ok(api.get("/scripts"))["total"] == 0


@pytest.mark.parametrize("data,code", [
    ("Chào".encode("utf-16-le"), "script_encoding"),
    (b"\xff\xfe\x00garbage\x81", "script_encoding"),
    (b"   \n", "script_empty"),
])
def test_unreadable_uploads_name_the_file_field(api: ApiClient, data: bytes, code: str) -> None:
    response = _upload(api, data)
    assert response.status_code == 422
    assert (response.json()["error"], response.json()["field"]) == (code, "file")


def test_missing_file_names_the_field(api: ApiClient) -> None:
    response = api.post("/scripts", data={"format": "yaml"})
    assert (response.status_code, response.json()["field"]) == (422, "file")


def test_diagram_svg_dot_and_mermaid(api: ApiClient) -> None:
    body = api.script()
    path = f"/scripts/{body['script_id']}/versions/{body['id']}/diagram"
    svg = api.get(path, "supervisor")
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in svg.content and "chao" in svg.text
    dot = api.get(path, params={"kind": "dot"})
    assert dot.text.startswith("digraph")
    assert "flowchart" in api.get(path, params={"kind": "mermaid"}).text
    assert api.get(path, params={"kind": "png"}).status_code == 422
    assert api.get(f"/scripts/{body['script_id']}/versions/999/diagram").status_code == 404


def test_roles(api: ApiClient) -> None:
    assert _upload(api, SCRIPT_YAML, who="supervisor").status_code == 403
    assert _upload(api, SCRIPT_YAML, who="agent").status_code == 403
    assert _upload(api, SCRIPT_YAML, who="agent", path="/scripts/validate").status_code == 403
    body = api.script()
    assert api.get("/scripts", "agent").status_code == 403
    assert api.get(f"/scripts/{body['script_id']}/versions", "agent").status_code == 403
    assert api.get("/scripts", "supervisor").status_code == 200
