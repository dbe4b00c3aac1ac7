"""Webhooks: registered through HTTP, queued by ``enqueue_event`` without sending, delivered
by the background sender to a real HTTP receiver on loopback, signed (HMAC-SHA256 over the
timestamp and body), retried with exponential backoff, given up after the last attempt, and
never lost by a sender that dies."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlmodel import Session, select

from api.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SenderConfig,
    SignatureInvalid,
    WebhookSender,
    backoff_delay,
    call_finished_payload,
    claim_due,
    enqueue_event,
    sign,
    status_changed_payload,
    verify_signature,
)
from api_support import NOW, ApiClient, Clock
from callbot.store import repo
from callbot.store.models import StatusSource
from callbot.store.models_api import WebhookDelivery, WebhookEvent
from dialer.outcome import CallOutcome, CallResult, EndReason, HangupBy
from scripts_dsl.status import CustomerStatus

CONFIG = SenderConfig(max_attempts=4, base_delay_s=10, max_delay_s=25, jitter=0.0,
                      timeout_s=5, lease_s=60, poll_s=0.05)


@dataclass
class Received:
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class Receiver:
    """An HTTP server on a free loopback port that records what it is sent and answers with
    the next of ``statuses`` (then 200), after ``delay`` seconds."""

    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    got_one: threading.Event = field(default_factory=threading.Event)

    def start(self) -> ThreadingHTTPServer:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(Received(
                    {k.lower(): v for k, v in self.headers.items()}, body))
                receiver.got_one.set()
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.server = server
        return server

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    started: list[Receiver] = []
    yield started
    for receiver in started:
        receiver.server.shutdown()
        receiver.server.server_close()


def receiver(receivers: list[Receiver], **kwargs: Any) -> Receiver:
    made = Receiver(**kwargs)
    made.start()
    receivers.append(made)
    return made


def register(api: ApiClient, cid: int, url: str, **body: Any) -> dict[str, Any]:
    created: dict[str, Any] = api.ok(api.post(f"/campaigns/{cid}/webhooks",
                                              json={"url": url, **body}), 201)
    return created


def enqueue(api: ApiClient, cid: int, event: str = "status.changed",
            payload: dict[str, Any] | None = None) -> list[int]:
    with Session(api.engine) as session:
        ids = enqueue_event(session, cid, event, payload or {"customer_id": 7,
                                                             "from": "Registered",
                                                             "to": "Confirmed"}, now=NOW)
        session.commit()
    return ids


def deliveries(api: ApiClient, cid: int, hook: int, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = api.ok(api.get(f"/campaigns/{cid}/webhooks/{hook}/deliveries",
                                                "supervisor", params=params))
    return rows


def sender(api: ApiClient, clock: Clock, config: SenderConfig = CONFIG) -> WebhookSender:
    return WebhookSender(api.engine, config, clock=clock, rand=lambda: 0.5)


def run_once(made: WebhookSender) -> int:
    async def once() -> int:
        try:
            return await made.run_once()
        finally:
            await made.stop()
    return asyncio.run(once())


# --- registering ------------------------------------------------------------------------


def test_manager_registers_and_the_secret_is_shown_once(api: ApiClient) -> None:
    cid = api.campaign()
    created = register(api, cid, "https://crm.example.com/hook", events=["call.finished"])
    assert len(created["secret"]) >= 32 and created["events"] == ["call.finished"]
    listed = api.ok(api.get(f"/campaigns/{cid}/webhooks", "supervisor"))
    assert [h["id"] for h in listed] == [created["id"]] and "secret" not in listed[0]
    [entry] = api.audit(entity="webhook")
    assert entry["action"] == "create" and "secret" not in entry["after"]


def test_update_and_delete_a_webhook(api: ApiClient) -> None:
    cid = api.campaign()
    hook = register(api, cid, "https://crm.example.com/hook")["id"]
    changed = api.ok(api.patch(f"/campaigns/{cid}/webhooks/{hook}", json={"active": False}))
    assert changed["active"] is False
    refused = api.patch(f"/campaigns/{cid}/webhooks/{hook}", json={"url": "ftp://x.example/y"})
    assert refused.status_code == 422 and refused.json()["field"] == "url"
    assert api.delete(f"/campaigns/{cid}/webhooks/{hook}").status_code == 204
    assert api.get(f"/campaigns/{cid}/webhooks/{hook}").status_code == 404


@pytest.mark.parametrize("body,field", [({"url": "crm.example.com/hook"}, "url"),
                                        ({"url": "https://crm.example.com", "events": []},
                                         "events"),
                                        ({"url": "https://crm.example.com",
                                          "events": ["call.started"]}, "events.0")])
def test_bad_registrations_name_the_field(api: ApiClient, body: dict[str, Any],
                                          field: str) -> None:
    cid = api.campaign()
    response = api.post(f"/campaigns/{cid}/webhooks", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


@pytest.mark.parametrize("who,status", [("supervisor", 403), ("agent", 403), ("manager2", 403),
                                        (None, 401)])
def test_only_the_owner_registers(api: ApiClient, who: str | None, status: int) -> None:
    cid = api.campaign()
    response = api.post(f"/campaigns/{cid}/webhooks", who,
                        json={"url": "https://crm.example.com/hook"})
    assert response.status_code == status


# --- queueing and delivering ------------------------------------------------------------


def test_enqueue_only_inserts_rows_for_subscribed_active_hooks(
        api: ApiClient, receivers: list[Receiver]) -> None:
    got = receiver(receivers)
    cid = api.campaign()
    both = register(api, cid, got.url)["id"]
    calls = register(api, cid, got.url, events=["call.finished"])["id"]
    off = register(api, cid, got.url, active=False)["id"]
    started = time.perf_counter()
    ids = enqueue(api, cid, "status.changed")
    assert time.perf_counter() - started < 1.0
    assert len(ids) == 1 and got.received == [], "queueing sends nothing"
    assert [d["state"] for d in deliveries(api, cid, both)] == ["pending"]
    assert deliveries(api, cid, calls) == deliveries(api, cid, off) == []
    assert len(enqueue(api, cid, "call.finished")) == 2


def test_delivery_is_signed_and_verifiable(api: ApiClient, clock: Clock,
                                           receivers: list[Receiver]) -> None:
    got = receiver(receivers)
    cid = api.campaign()
    hook = register(api, cid, got.url)
    [delivery] = enqueue(api, cid, payload={"customer_id": 7, "name": "Nguyễn Văn A"})
    assert run_once(sender(api, clock)) == 1
    [request] = got.received
    headers = request.headers
    verify_signature(hook["secret"], headers[TIMESTAMP_HEADER.lower()],
                     headers[SIGNATURE_HEADER.lower()], request.body, now=clock())
    assert headers[SIGNATURE_HEADER.lower()].startswith("sha256=")
    assert headers[EVENT_HEADER.lower()] == "status.changed"
    assert headers[DELIVERY_HEADER.lower()] == str(delivery)
    body = json.loads(request.body)
    assert body["event"] == "status.changed" and body["campaign_id"] == cid
    assert body["delivery_id"] == delivery and body["data"]["name"] == "Nguyễn Văn A"
    [row] = deliveries(api, cid, hook["id"])
    assert row["state"] == "delivered" and row["attempts"] == 1


def test_server_errors_are_retried_with_exponential_backoff(
        api: ApiClient, clock: Clock, receivers: list[Receiver]) -> None:
    got = receiver(receivers, statuses=[500, 503])
    cid = api.campaign()
    hook = register(api, cid, got.url)
    enqueue(api, cid)
    assert run_once(sender(api, clock)) == 1
    [row] = deliveries(api, cid, hook["id"])
    assert row["state"] == "pending" and row["attempts"] == 1 and "HTTP 500" in row["last_error"]
    assert datetime.fromisoformat(row["next_attempt_at"]) == clock() + timedelta(seconds=10)

    clock.advance(seconds=9)
    assert run_once(sender(api, clock)) == 0, "not due before its backoff"
    clock.advance(seconds=1)
    assert run_once(sender(api, clock)) == 1
    [row] = deliveries(api, cid, hook["id"])
    assert row["attempts"] == 2 and "HTTP 503" in row["last_error"]
    assert datetime.fromisoformat(row["next_attempt_at"]) == clock() + timedelta(seconds=20)

    clock.advance(seconds=20)
    assert run_once(sender(api, clock)) == 1
    [row] = deliveries(api, cid, hook["id"], state="delivered")
    assert row["attempts"] == 3 and row["last_error"] is None
    assert len(got.received) == 3
    assert len({r.headers[DELIVERY_HEADER.lower()] for r in got.received}) == 1, "same delivery id"
    for request in got.received:
        verify_signature(hook["secret"], request.headers[TIMESTAMP_HEADER.lower()],
                         request.headers[SIGNATURE_HEADER.lower()], request.body, now=clock())


def test_a_delivery_is_given_up_after_the_last_attempt(
        api: ApiClient, clock: Clock, receivers: list[Receiver]) -> None:
    got = receiver(receivers, statuses=[500] * 10)
    cid = api.campaign()
    hook = register(api, cid, got.url)
    enqueue(api, cid)
    for _ in range(CONFIG.max_attempts):
        assert run_once(sender(api, clock)) == 1
        clock.advance(seconds=CONFIG.max_delay_s)
    assert run_once(sender(api, clock)) == 0
    [row] = deliveries(api, cid, hook["id"], state="failed")
    assert row["attempts"] == CONFIG.max_attempts and row["next_attempt_at"] is None
    assert len(got.received) == CONFIG.max_attempts


def test_an_unreachable_url_is_retried(api: ApiClient, clock: Clock) -> None:
    cid = api.campaign()
    hook = register(api, cid, "http://127.0.0.1:9/nobody-listens")
    enqueue(api, cid)
    assert run_once(sender(api, clock)) == 1
    [row] = deliveries(api, cid, hook["id"])
    assert row["state"] == "pending" and "could not reach" in row["last_error"]


def test_a_sender_that_dies_mid_delivery_loses_nothing(
        api: ApiClient, clock: Clock, receivers: list[Receiver]) -> None:
    got = receiver(receivers)
    cid = api.campaign()
    hook = register(api, cid, got.url)
    enqueue(api, cid)
    with Session(api.engine) as session:  # claimed, then the process died before sending
        [job] = claim_due(session, now=clock(), limit=10, lease_s=CONFIG.lease_s)
    assert run_once(sender(api, clock)) == 0, "leased: not sent twice meanwhile"
    clock.advance(seconds=CONFIG.lease_s)
    assert run_once(sender(api, clock)) == 1
    assert [r.headers[DELIVERY_HEADER.lower()] for r in got.received] == [str(job.delivery_id)]
    assert deliveries(api, cid, hook["id"])[0]["state"] == "delivered"


def test_a_slow_receiver_does_not_hold_up_the_others(
        api: ApiClient, clock: Clock, receivers: list[Receiver]) -> None:
    slow = receiver(receivers, delay=3.0)
    fast = receiver(receivers)
    cid = api.campaign()
    register(api, cid, slow.url)
    register(api, cid, fast.url)
    enqueue(api, cid)

    async def scenario() -> float:
        made = sender(api, clock)
        started = time.perf_counter()
        made.start()
        try:
            while not fast.got_one.is_set():
                if time.perf_counter() - started > 10:
                    raise AssertionError("the fast receiver was never called")
                await asyncio.sleep(0.02)
            return time.perf_counter() - started
        finally:
            await made.stop()

    elapsed = asyncio.run(scenario())
    assert elapsed < 2.5 and slow.got_one.is_set()


def test_deleting_a_webhook_drops_its_queue(api: ApiClient) -> None:
    cid = api.campaign()
    hook = register(api, cid, "https://crm.example.com/hook")["id"]
    enqueue(api, cid)
    assert api.delete(f"/campaigns/{cid}/webhooks/{hook}").status_code == 204
    with Session(api.engine) as session:
        assert session.exec(select(WebhookDelivery)).all() == []


# --- signing and backoff on their own ------------------------------------------------------


def test_signature_refuses_tampering_replays_and_missing_headers() -> None:
    body = b'{"event":"call.finished"}'
    stamp = int(NOW.timestamp())
    good = sign("s3cret-s3cret-s3cret", stamp, body)
    verify_signature("s3cret-s3cret-s3cret", str(stamp), good, body, now=NOW)
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify_signature("s3cret-s3cret-s3cret", str(stamp), good, body + b" ", now=NOW)
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify_signature("another-secret-value", str(stamp), good, body, now=NOW)
    with pytest.raises(SignatureInvalid, match="replay"):
        verify_signature("s3cret-s3cret-s3cret", str(stamp), good, body,
                         now=NOW + timedelta(minutes=6))
    with pytest.raises(SignatureInvalid, match="missing"):
        verify_signature("s3cret-s3cret-s3cret", None, good, body, now=NOW)


def test_backoff_doubles_up_to_its_cap() -> None:
    config = SenderConfig(base_delay_s=10, max_delay_s=60, jitter=0.1)
    assert [backoff_delay(n, config, lambda: 0.5) for n in range(1, 6)] == [10, 20, 40, 60, 60]
    assert backoff_delay(1, config, lambda: 0.0) == pytest.approx(9.0)
    assert backoff_delay(1, config, lambda: 1.0) == pytest.approx(11.0)


def test_a_status_change_and_a_finished_call_reach_the_receiver(
        api: ApiClient, clock: Clock, receivers: list[Receiver]) -> None:
    """What the dialer does: write the change, queue the event in a transaction of its own
    that only inserts rows, and go on; the sender delivers later."""
    got = receiver(receivers)
    cid, ids = api.with_customers(1)
    register(api, cid, got.url)
    with Session(api.engine) as session:
        change = repo.change_status(session, ids[0], CustomerStatus.CONFIRMED,
                                    StatusSource.KEYPRESS, "callbot", now=clock())
        enqueue_event(session, cid, WebhookEvent.STATUS_CHANGED,
                      status_changed_payload(change), now=clock())
        result = CallResult(outcome=CallOutcome.ANSWERED, sip_status=200,
                            hangup_by=HangupBy.REMOTE, ring_ms=2000, talk_ms=15_000,
                            reason=EndReason.REMOTE_BYE, digits="1")
        enqueue_event(session, cid, WebhookEvent.CALL_FINISHED,
                      call_finished_payload(41, ids[0], result, CustomerStatus.CONFIRMED),
                      now=clock())
        session.commit()
    assert run_once(sender(api, clock)) == 2
    bodies = {json.loads(r.body)["event"]: json.loads(r.body)["data"] for r in got.received}
    assert bodies["status.changed"]["from"] == "Registered"
    assert bodies["status.changed"]["to"] == "Confirmed"
    assert bodies["status.changed"]["source"] == "keypress"
    assert bodies["call.finished"]["outcome"] == "answered"
    assert bodies["call.finished"]["talk_ms"] == 15_000
    assert "digits" not in bodies["call.finished"]
