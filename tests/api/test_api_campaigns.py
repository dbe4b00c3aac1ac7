"""Campaigns through HTTP: who may create, read, change and run them; settings validated
field by field; the lifecycle refused with the moves that are allowed; every change audited."""

from __future__ import annotations

from typing import Any

import pytest

from api_support import ApiClient


def test_manager_creates_a_draft_campaign_they_own(api: ApiClient) -> None:
    cid = api.campaign(name="Hội thảo tháng 3", max_concurrent=20, cps=3,
                       hours_start="08:30", hours_end="20:00", calling_days=[1, 2, 3],
                       timezone="Asia/Bangkok",
                       retry_rules={"busy": {"max": 1, "after_s": 60}})
    body = api.ok(api.get(f"/campaigns/{cid}"))
    assert body["state"] == "draft" and body["owner_id"] == api.ids["manager"]
    assert (body["max_concurrent"], body["cps"], body["hours_start"]) == (20, 3.0, "08:30")
    assert body["retry_rules"]["busy"] == {"max": 1, "after_s": 60}
    assert body["timezone"] == "Asia/Bangkok"
    [entry] = api.audit(entity="campaign", entity_id=str(cid))
    assert entry["action"] == "create" and entry["user_id"] == api.ids["manager"]
    assert entry["before"] is None and entry["after"]["name"] == "Hội thảo tháng 3"


def test_owner_cannot_be_chosen_by_the_client(api: ApiClient) -> None:
    body = api.ok(api.post("/campaigns", json={"name": "x", "owner_id": api.ids["manager2"]}),
                  201)
    assert body["owner_id"] == api.ids["manager"]


@pytest.mark.parametrize("who", ["supervisor", "agent"])
def test_only_managers_create_campaigns(api: ApiClient, who: str) -> None:
    response = api.post("/campaigns", who, json={"name": "x"})
    assert response.status_code == 403
    assert response.json()["error"] == "role_forbidden"


@pytest.mark.parametrize("settings,field", [
    ({"hours_start": "25:00"}, "hours_start"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"calling_days": [0, 8]}, "calling_days"),
    ({"cps": 0}, "cps"),
    ({"max_concurrent": "many"}, "max_concurrent"),
    ({"retry_rules": {"busy": {"max": -1}}}, "retry_rules.busy.max"),
    ({"name": ""}, "name"),
])
def test_invalid_settings_name_the_field(api: ApiClient, settings: dict[str, Any],
                                         field: str) -> None:
    response = api.post("/campaigns", json={"name": "x", **settings})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "validation_error" and body["field"] == field
    assert body["problems"][0]["field"] == field


def test_unknown_script_or_trunk_is_named(api: ApiClient) -> None:
    response = api.post("/campaigns", json={"name": "x", "trunk_id": 99})
    assert (response.status_code, response.json()["field"]) == (422, "trunk_id")
    response = api.post("/campaigns", json={"name": "x", "script_id": 99})
    assert (response.status_code, response.json()["field"]) == (422, "script_id")


def test_other_managers_campaigns_are_out_of_reach(api: ApiClient) -> None:
    cid = api.campaign("manager2")
    for response in (api.get(f"/campaigns/{cid}"),
                     api.patch(f"/campaigns/{cid}", json={"cps": 1}),
                     api.post(f"/campaigns/{cid}/start"),
                     api.get(f"/campaigns/{cid}/customers"),
                     api.put(f"/campaigns/{cid}/list-settings", json={})):
        assert response.status_code == 403, response.text
        assert response.json()["error"] == "not_owner"


def test_supervisor_reads_every_campaign_but_changes_none(api: ApiClient) -> None:
    mine, theirs = api.campaign("manager"), api.campaign("manager2")
    page = api.ok(api.get("/campaigns", "supervisor"))
    assert {c["id"] for c in page["items"]} == {mine, theirs}
    assert api.ok(api.get(f"/campaigns/{theirs}", "supervisor"))["id"] == theirs
    assert api.patch(f"/campaigns/{mine}", "supervisor", json={"cps": 1}).status_code == 403
    for action in ("start", "pause", "resume", "stop"):
        assert api.post(f"/campaigns/{mine}/{action}", "supervisor").status_code == 403


def test_each_role_lists_what_it_may_see(api: ApiClient) -> None:
    mine, cids = api.with_customers(2)
    theirs = api.campaign("manager2", name="Khác")
    assert [c["id"] for c in api.ok(api.get("/campaigns"))["items"]] == [mine]
    assert [c["id"] for c in api.ok(api.get("/campaigns", "manager2"))["items"]] == [theirs]
    assert api.ok(api.get("/campaigns", "agent"))["items"] == []
    assert api.get(f"/campaigns/{mine}", "agent").status_code == 403
    api.ok(api.post(f"/campaigns/{mine}/customers/assign",
                    json={"agent_id": api.ids["agent"], "customer_ids": cids[:1]}))
    assert [c["id"] for c in api.ok(api.get("/campaigns", "agent"))["items"]] == [mine]
    assert api.ok(api.get(f"/campaigns/{mine}", "agent"))["id"] == mine
    assert api.patch(f"/campaigns/{mine}", "agent", json={"cps": 1}).status_code == 403


def test_list_filters_and_pages(api: ApiClient) -> None:
    ids = [api.campaign(name=f"Chiến dịch {i}", trunk=False, script=False) for i in range(5)]
    page = api.ok(api.get("/campaigns", params={"limit": 2, "offset": 1}))
    assert [c["id"] for c in page["items"]] == [ids[3], ids[2]]
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 1)
    page = api.ok(api.get("/campaigns", params={"q": "dịch 4"}))
    assert [c["id"] for c in page["items"]] == [ids[4]]
    page = api.ok(api.get("/campaigns", params={"state": "running"}))
    assert page["total"] == 0
    response = api.get("/campaigns", params={"limit": 0})
    assert (response.status_code, response.json()["field"]) == (422, "limit")


def test_update_settings_is_audited_with_before_and_after(api: ApiClient) -> None:
    cid = api.campaign()
    body = api.ok(api.patch(f"/campaigns/{cid}", json={
        "max_concurrent": 30, "hours_start": "09:00", "caller_id": "+842873001234"}))
    assert (body["max_concurrent"], body["hours_start"]) == (30, "09:00")
    update = [e for e in api.audit(entity="campaign", entity_id=str(cid))
              if e["action"] == "update"][0]
    assert update["before"]["max_concurrent"] == 10 and update["after"]["max_concurrent"] == 30
    assert update["before"]["caller_id"] is None
    assert update["after"]["caller_id"] == "+842873001234"


def test_update_is_validated_against_the_whole_campaign(api: ApiClient) -> None:
    cid = api.campaign()
    response = api.patch(f"/campaigns/{cid}", json={"hours_end": "8h"})
    assert (response.status_code, response.json()["field"]) == (422, "hours_end")
    response = api.patch(f"/campaigns/{cid}", json={"timezone": "Nowhere/Land"})
    assert (response.status_code, response.json()["field"]) == (422, "timezone")
    assert api.ok(api.get(f"/campaigns/{cid}"))["hours_end"] == "20:00"


def test_lifecycle_moves_and_refusals(api: ApiClient) -> None:
    cid = api.campaign()
    started = api.ok(api.post(f"/campaigns/{cid}/start"))
    assert started["state"] == "running" and started["script_version_id"] is not None
    response = api.post(f"/campaigns/{cid}/resume")
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "campaign_state_refused" and body["field"] == "state"
    assert body["allowed"] == ["pause", "stop"]
    assert "a running campaign cannot resume; it can: pause, stop" in body["message"]
    assert api.ok(api.post(f"/campaigns/{cid}/pause"))["state"] == "paused"
    assert api.ok(api.post(f"/campaigns/{cid}/resume"))["state"] == "running"
    stopped = api.ok(api.post(f"/campaigns/{cid}/stop"))
    assert stopped["state"] == "stopped" and stopped["finished_at"] is not None
    response = api.post(f"/campaigns/{cid}/start")
    assert response.status_code == 409 and response.json()["allowed"] == []
    response = api.patch(f"/campaigns/{cid}", json={"cps": 1})
    assert (response.status_code, response.json()["error"]) == (409, "campaign_over")
    actions = [e["action"] for e in reversed(api.audit(entity="campaign",
                                                         entity_id=str(cid)))]
    assert actions == ["create", "start", "pause", "resume", "stop"]
    start = [e for e in api.audit(entity="campaign", entity_id=str(cid))
             if e["action"] == "start"][0]
    assert start["before"]["state"] == "draft" and start["after"]["state"] == "running"


def test_start_needs_a_script_version_and_a_trunk(api: ApiClient) -> None:
    no_trunk = api.campaign(trunk=False)
    response = api.post(f"/campaigns/{no_trunk}/start")
    assert (response.status_code, response.json()["field"]) == (409, "trunk_id")
    no_script = api.campaign(script=False)
    response = api.post(f"/campaigns/{no_script}/start")
    assert response.status_code == 409
    assert "it has no script" in response.json()["message"]
    assert api.ok(api.get(f"/campaigns/{no_script}"))["state"] == "draft"
    assert api.audit(entity="campaign", entity_id=str(no_script))[0]["action"] == "create"


def test_script_is_pinned_once_started(api: ApiClient) -> None:
    cid = api.campaign()
    other = api.script(filename="khac.yaml",
                       text=api.ok(api.get("/scripts/1/versions/1"))["source"]
                       .replace("name: xac_nhan", "name: khac"))
    api.ok(api.post(f"/campaigns/{cid}/start"))
    response = api.patch(f"/campaigns/{cid}", json={"script_id": other["script_id"]})
    assert (response.status_code, response.json()["field"]) == (409, "script_id")
    assert api.ok(api.patch(f"/campaigns/{cid}", json={"cps": 4}))["cps"] == 4


def test_list_settings_default_and_change(api: ApiClient) -> None:
    cid = api.campaign()
    assert api.ok(api.get(f"/campaigns/{cid}/list-settings")) == {
        "required_fields": ["phone"], "unique_fields": [], "region": "VN"}
    body = api.ok(api.put(f"/campaigns/{cid}/list-settings", json={
        "required_fields": ["phone", "code"], "unique_fields": ["email"], "region": "vn"}))
    assert body == {"required_fields": ["phone", "code"], "unique_fields": ["email"],
                    "region": "VN"}
    response = api.put(f"/campaigns/{cid}/list-settings", json={"region": "V1"})
    assert (response.status_code, response.json()["field"]) == (422, "region")
    assert api.put(f"/campaigns/{cid}/list-settings", "supervisor",
                   json={}).status_code == 403
    [entry] = api.audit(entity="campaign_list_settings")
    assert entry["before"] is None and entry["after"]["unique_fields"] == ["email"]


def test_unknown_campaign_is_404(api: ApiClient) -> None:
    response = api.get("/campaigns/999")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "message": "campaign 999 does not exist",
                               "field": None}


def test_trunks_hide_their_password(api: ApiClient) -> None:
    tid = api.trunk("vnpt")
    body = api.ok(api.get(f"/trunks/{tid}", "supervisor"))
    assert body["name"] == "vnpt" and "password" not in body
    assert api.get("/trunks", "agent").status_code == 403
    assert api.post("/trunks", "supervisor", json={"name": "x", "host": "h"}).status_code == 403
    [entry] = api.audit(entity="trunk")
    assert "password" not in entry["after"]
    response = api.post("/trunks", json={"name": "vnpt", "host": "127.0.0.1"})
    assert (response.status_code, response.json()["field"]) == (422, "name")
