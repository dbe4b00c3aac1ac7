"""A campaign's customers and calls through HTTP: filters and paging, status rules with clear
refusals, Do-Not-Contact, assignment, notes, history, calls with their events; agents see
only their customers, supervisors only read; every change is audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session, select

from api_support import ApiClient
from callbot.store import repo
from callbot.store.models_api import WebhookDelivery
from dialer.outcome import CallOutcome, CallResult, EndReason


def _assign(api: ApiClient, cid: int, agent: str | None, ids: list[int]) -> Any:
    return api.post(f"/campaigns/{cid}/customers/assign", json={
        "agent_id": api.ids[agent] if agent else None, "customer_ids": ids})


def test_status_change_follows_the_rules_and_is_audited(api: ApiClient) -> None:
    cid, [first, *_] = api.with_customers(2)
    path = f"/campaigns/{cid}/customers/{first}/status"
    change = api.ok(api.post(path, json={"status": "Joined"}))
    assert (change["from_status"], change["to_status"], change["source"], change["actor"]) == (
        "Registered", "Joined", "manager", "manager")
    response = api.post(path, json={"status": "Confirmed"})
    assert response.status_code == 409
    body = response.json()
    assert (body["error"], body["field"], body["current"], body["allowed"]) == (
        "status_refused", "status", "Joined", ["Cancelled"])
    assert body["message"] == ("Status change refused: Joined -> Confirmed is not an allowed "
                               "change; from Joined the status can only move to: Cancelled.")
    assert len(api.audit(entity="campaign_customer", entity_id=str(first))) == 1
    api.ok(api.post(path, json={"status": "Cancelled"}))
    response = api.post(path, json={"status": "Registered"})
    assert response.status_code == 409 and "Cancelled is final" in response.json()["message"]
    customer = api.ok(api.get(f"/campaigns/{cid}/customers/{first}"))
    assert customer["status"] == "Cancelled"
    entries = api.audit(entity="campaign_customer", entity_id=str(first))
    assert [(e["before"]["status"], e["after"]["status"]) for e in reversed(entries)] == [
        ("Registered", "Joined"), ("Joined", "Cancelled")]
    assert all(e["user_id"] == api.ids["manager"] for e in entries)


def test_unknown_status_names_the_field_and_the_choices(api: ApiClient) -> None:
    cid, [first] = api.with_customers(1)
    response = api.post(f"/campaigns/{cid}/customers/{first}/status", json={"status": "Done"})
    assert response.status_code == 422
    assert response.json()["field"] == "status"
    assert "Registered" in response.json()["message"]


def test_status_change_queues_webhooks_in_the_same_transaction(api: ApiClient) -> None:
    cid, [first] = api.with_customers(1)
    api.ok(api.post(f"/campaigns/{cid}/webhooks", json={
        "url": "https://crm.example.com/hook", "events": ["status.changed"]}), 201)
    api.ok(api.post(f"/campaigns/{cid}/customers/{first}/status", json={"status": "Confirmed"}))
    assert api.post(f"/campaigns/{cid}/customers/{first}/status",
                    json={"status": "Registered"}).status_code == 409
    with Session(api.engine) as session:
        [delivery] = session.exec(select(WebhookDelivery)).all()
    assert delivery.event == "status.changed"
    assert delivery.payload["data"]["to"] == "Confirmed"
    assert delivery.payload["data"]["campaign_customer_id"] == first


def test_agents_work_only_their_assigned_customers(api: ApiClient) -> None:
    cid, ids = api.with_customers(3)
    api.ok(_assign(api, cid, "agent", ids[:2]))
    page = api.customers(cid, "agent")
    assert [c["id"] for c in page["items"]] == ids[:2] and page["total"] == 2
    assert api.get(f"/campaigns/{cid}/customers", "agent2").status_code == 403
    assert api.ok(api.post(f"/campaigns/{cid}/customers/{ids[0]}/status", "agent",
                           json={"status": "Confirmed"}))["source"] == "agent"
    for response in (api.get(f"/campaigns/{cid}/customers/{ids[2]}", "agent"),
                     api.post(f"/campaigns/{cid}/customers/{ids[2]}/status", "agent",
                              json={"status": "Confirmed"}),
                     api.post(f"/campaigns/{cid}/customers/{ids[2]}/notes", "agent",
                              json={"text": "x"}),
                     api.get(f"/campaigns/{cid}/customers/{ids[2]}/history", "agent")):
        assert response.status_code == 403
        assert response.json()["error"] == "not_assigned"
    assert _assign(api, cid, "agent", ids[2:]).status_code == 200
    assert api.customers(cid, "agent")["total"] == 3
    assert api.post(f"/campaigns/{cid}/customers/assign", "agent",
                    json={"agent_id": api.ids["agent"], "customer_ids": ids}).status_code == 403
    assign = [e for e in api.audit(entity="campaign_customer", entity_id=str(ids[0]))
              if e["action"] == "assign"]
    assert assign[0]["after"] == {"assigned_agent_id": api.ids["agent"]}


def test_assignment_checks_agent_and_customers(api: ApiClient) -> None:
    cid, ids = api.with_customers(2)
    other, other_ids = api.with_customers(1, name="Khác")
    response = _assign(api, cid, "supervisor", ids)
    assert (response.status_code, response.json()["field"]) == (422, "agent_id")
    response = _assign(api, cid, "agent", [ids[0], other_ids[0]])
    assert (response.status_code, response.json()["field"]) == (422, "customer_ids")
    assert api.customers(cid)["items"][0]["assigned_agent_id"] is None
    assert api.ok(_assign(api, cid, None, ids))["assigned"] == 2


def test_supervisor_reads_customers_but_changes_nothing(api: ApiClient) -> None:
    cid, [first] = api.with_customers(1)
    assert api.customers(cid, "supervisor")["total"] == 1
    assert api.ok(api.get(f"/campaigns/{cid}/customers/{first}/history", "supervisor"))
    for response in (api.post(f"/campaigns/{cid}/customers/{first}/status", "supervisor",
                              json={"status": "Confirmed"}),
                     api.post(f"/campaigns/{cid}/customers/{first}/do-not-contact",
                              "supervisor", json={"reason": "x"}),
                     api.post(f"/campaigns/{cid}/customers/{first}/notes", "supervisor",
                              json={"text": "x"}),
                     api.post(f"/campaigns/{cid}/customers/assign", "supervisor",
                              json={"agent_id": None, "customer_ids": [first]})):
        assert response.status_code == 403


def test_other_manager_cannot_touch_customers(api: ApiClient) -> None:
    cid, [first] = api.with_customers(1)
    for response in (api.get(f"/campaigns/{cid}/customers", "manager2"),
                     api.get(f"/campaigns/{cid}/customers/{first}", "manager2"),
                     api.post(f"/campaigns/{cid}/customers/{first}/status", "manager2",
                              json={"status": "Confirmed"}),
                     api.get(f"/campaigns/{cid}/calls", "manager2")):
        assert (response.status_code, response.json()["error"]) == (403, "not_owner")


def test_customer_of_another_campaign_is_404(api: ApiClient) -> None:
    cid, _ = api.with_customers(1)
    _, [elsewhere] = api.with_customers(1, name="Khác")
    response = api.get(f"/campaigns/{cid}/customers/{elsewhere}")
    assert response.status_code == 404


def test_filters_text_search_dates_and_paging(api: ApiClient) -> None:
    cid = api.campaign()
    api.ok(api.import_csv(cid, "Họ tên,SĐT\nNguyễn Văn An,0912345001\nTrần Bình,0912345002\n"
                               "Lê Chi,0987000003\nPhạm An Khang,0987000004\n"))
    ids = [c["id"] for c in api.customers(cid)["items"]]
    api.clock.advance(hours=2)
    api.ok(api.post(f"/campaigns/{cid}/customers/{ids[1]}/status", json={"status": "Confirmed"}))

    def found(**params: Any) -> list[int]:
        return [c["id"] for c in api.customers(cid, **params)["items"]]

    assert found(q="an") == [ids[0], ids[3]]
    assert found(q="nguyễn") == [ids[0]]
    assert found(q="0987") == [ids[2], ids[3]]
    assert found(q="+84 912 345 002") == [ids[1]]
    assert found(status="Confirmed") == [ids[1]]
    assert found(status=["Confirmed", "Registered"]) == ids
    since = (api.clock() - timedelta(hours=1)).isoformat()
    assert found(date_from=since) == [ids[1]]
    assert found(date_to=since) == [ids[0], ids[2], ids[3]]
    assert found(date_from=since, date_field="created") == []
    page = api.customers(cid, limit=2, offset=2)
    assert [c["id"] for c in page["items"]] == ids[2:] and page["total"] == 4
    response = api.get(f"/campaigns/{cid}/customers", params={"date_from": "2025-03-03T00:00"})
    assert (response.status_code, response.json()["field"]) == (422, "date_from")
    response = api.get(f"/campaigns/{cid}/customers", params={"status": "Nope"})
    assert (response.status_code, response.json()["field"]) == (422, "status.0")
    response = api.get(f"/campaigns/{cid}/customers", params={"date_from": since,
                                                              "date_to": "2025-01-01T00:00Z"})
    assert (response.status_code, response.json()["field"]) == (422, "date_to")


def test_called_and_last_outcome_filters_and_calls(api: ApiClient) -> None:
    cid, ids = api.with_customers(2)
    api.ok(api.post(f"/campaigns/{cid}/start"))
    with Session(api.engine) as session:
        claims = repo.claim_due(session, cid, "w", now=api.clock(), limit=1, lease_seconds=60)
        assert len(claims) == 1
        repo.mark_dialing(session, claims[0].attempt_id, "abc@host", now=api.clock())
        repo.finish_attempt(session, claims[0].attempt_id, CallResult(
            outcome=CallOutcome.BUSY, sip_status=486, hangup_by=None, ring_ms=900, talk_ms=0,
            reason=EndReason.FINAL_RESPONSE), now=api.clock(),
            events=[repo.EventRecord(0, "invite", {}), repo.EventRecord(900, "busy", {})])
        called = claims[0].campaign_customer_id
    [not_called] = [i for i in ids if i != called]
    assert [c["id"] for c in api.customers(cid, called="true")["items"]] == [called]
    assert [c["id"] for c in api.customers(cid, called="false")["items"]] == [not_called]
    assert [c["id"] for c in api.customers(cid, last_outcome="busy")["items"]] == [called]
    calls = api.ok(api.get(f"/campaigns/{cid}/calls", "supervisor"))
    [attempt] = calls["items"]
    assert (attempt["outcome"], attempt["sip_status"], attempt["ring_ms"], attempt["call_id"]) \
        == ("busy", 486, 900, "abc@host")
    detail = api.ok(api.get(f"/campaigns/{cid}/calls/{attempt['id']}"))
    assert [e["kind"] for e in detail["events"]] == ["invite", "busy"]
    assert api.ok(api.get(f"/campaigns/{cid}/calls",
                          params={"outcome": "answered"}))["total"] == 0
    assert api.get(f"/campaigns/{cid}/calls/{attempt['id']}", "agent").status_code == 403
    api.ok(_assign(api, cid, "agent", [not_called]))
    assert api.ok(api.get(f"/campaigns/{cid}/calls", "agent"))["total"] == 0
    response = api.get(f"/campaigns/{cid}/calls/{attempt['id']}", "agent")
    assert response.status_code == 403
    assert api.get(f"/campaigns/{cid}/calls/999").status_code == 404
    history = api.ok(api.get(f"/campaigns/{cid}/customers/{called}/history"))
    [call] = history["calls"]
    assert call["outcome"] == "busy" and [e["t_ms"] for e in call["events"]] == [0, 900]


def test_do_not_contact_stops_calls_and_is_shown(api: ApiClient) -> None:
    cid, [first, second] = api.with_customers(2)
    response = api.post(f"/campaigns/{cid}/customers/{first}/do-not-contact",
                        json={"reason": "  "})
    assert (response.status_code, response.json()["field"]) == (422, "reason")
    body = api.ok(api.post(f"/campaigns/{cid}/customers/{first}/do-not-contact",
                           json={"reason": "Khách yêu cầu không gọi lại"}))
    assert body["phone"] == "+84912345000" and body["created_by"] == "manager"
    customer = api.ok(api.get(f"/campaigns/{cid}/customers/{first}"))
    assert customer["do_not_contact"] and customer["done"]
    assert customer["done_reason"] == "do_not_contact"
    api.ok(api.post(f"/campaigns/{cid}/start"))
    with Session(api.engine) as session:
        claims = repo.claim_due(session, cid, "w", now=api.clock(), limit=10, lease_seconds=60)
    assert [c.campaign_customer_id for c in claims] == [second]
    [entry] = [e for e in api.audit(entity="campaign_customer", entity_id=str(first))
               if e["action"] == "do_not_contact"]
    assert entry["after"]["reason"] == "Khách yêu cầu không gọi lại"
    history = api.ok(api.get(f"/campaigns/{cid}/customers/{first}/history"))
    assert history["do_not_contact"]["reason"] == "Khách yêu cầu không gọi lại"


def test_notes_and_history(api: ApiClient) -> None:
    cid, [first] = api.with_customers(1)
    api.ok(_assign(api, cid, "agent", [first]))
    api.ok(api.post(f"/campaigns/{cid}/customers/{first}/status", json={"status": "Confirmed"}))
    api.clock.advance(minutes=5)
    note = api.ok(api.post(f"/campaigns/{cid}/customers/{first}/notes", "agent",
                           json={"text": "Gọi lại sau 18h"}), 201)
    assert note["user_id"] == api.ids["agent"]
    response = api.post(f"/campaigns/{cid}/customers/{first}/notes", json={"text": "   "})
    assert (response.status_code, response.json()["field"]) == (422, "text")
    history = api.ok(api.get(f"/campaigns/{cid}/customers/{first}/history", "agent"))
    assert history["customer"]["status"] == "Confirmed"
    assert [(c["from_status"], c["to_status"]) for c in history["status_changes"]] == [
        ("Registered", "Confirmed")]
    assert [n["text"] for n in history["notes"]] == ["Gọi lại sau 18h"]
    assert history["calls"] == [] and history["do_not_contact"] is None
    notes = api.ok(api.get(f"/campaigns/{cid}/customers/{first}/notes", "supervisor"))
    assert [n["id"] for n in notes] == [note["id"]]
    [entry] = api.audit(entity="note")
    assert entry["user_id"] == api.ids["agent"]


def test_unauthenticated_requests_are_401_everywhere(api: ApiClient) -> None:
    cid, [first] = api.with_customers(1)
    for method, path in (("GET", f"/campaigns/{cid}/customers"),
                         ("GET", f"/campaigns/{cid}/customers/{first}/history"),
                         ("POST", f"/campaigns/{cid}/customers/{first}/status"),
                         ("POST", f"/campaigns/{cid}/customers/import"),
                         ("GET", f"/campaigns/{cid}/calls"),
                         ("POST", f"/campaigns/{cid}/start"),
                         ("GET", "/scripts"), ("GET", "/audit"), ("GET", "/users")):
        assert api.request(method, path, None).status_code == 401, path


def test_audit_log_visibility(api: ApiClient) -> None:
    cid, [first] = api.with_customers(1)
    api.ok(api.post(f"/campaigns/{cid}/customers/{first}/status", json={"status": "Confirmed"}))
    other = api.campaign("manager2", name="Khác")
    mine = api.ok(api.get("/audit"))["items"]
    assert {e["entity_id"] for e in mine if e["entity"] == "campaign"} == {str(cid)}
    theirs = api.ok(api.get("/audit", "manager2"))["items"]
    assert {e["entity_id"] for e in theirs if e["entity"] == "campaign"} == {str(other)}
    assert not [e for e in theirs if e["entity"] == "campaign_customer"]
    assert api.get("/audit", "agent").status_code == 403
    everything = api.ok(api.get("/audit", "supervisor", params={"limit": 1000}))
    assert everything["total"] == len(mine) + len(theirs)
