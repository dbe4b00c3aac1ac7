"""Recordings made by record blocks, served with the call they belong to."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from api_support import ApiClient, Clock, make_client, seed_users, wipe
from callbot.store import repo
from dialer.outcome import CallOutcome, CallResult, EndReason


def test_a_calls_recording_is_served_to_those_who_may_read_the_call(engine: Engine, clock: Clock,
                                                                    tmp_path: Path) -> None:
    wipe(engine)
    ids = seed_users(engine)
    (tmp_path / "abc-ask_reason.wav").write_bytes(b"RIFF0000WAVEfmt ")
    (tmp_path / "secret.wav").write_bytes(b"not this one")
    with make_client(engine, clock, recordings_dir=tmp_path) as client:
        api = ApiClient(client, engine, clock, ids)
        cid, _ = api.with_customers(1)
        api.ok(api.post(f"/campaigns/{cid}/start"))
        with Session(engine) as session:
            [claim] = repo.claim_due(session, cid, "w", now=clock(), limit=1, lease_seconds=60)
            repo.finish_attempt(session, claim.attempt_id, CallResult(
                outcome=CallOutcome.ANSWERED, sip_status=200, hangup_by=None, ring_ms=900, talk_ms=20_000,
                reason=EndReason.LOCAL_BYE), now=clock(),
                events=[repo.EventRecord(15_000, "record_finished",
                                         {"block": "ask_reason", "recording": "abc-ask_reason.wav", "duration": 4.2})])
        base = f"/campaigns/{cid}/calls/{claim.attempt_id}/recordings"
        response = api.get(f"{base}/abc-ask_reason.wav", "supervisor")
        assert response.status_code == 200 and response.content == b"RIFF0000WAVEfmt "
        assert response.headers["content-type"] == "audio/wav"
        assert api.get(f"{base}/secret.wav").status_code == 404  # not a recording of this call
        assert api.get(f"{base}/..%2Fsecret.wav").status_code == 404
        assert api.get(f"{base}/abc-ask_reason.wav", "manager2").status_code == 403
        assert api.get(f"{base}/abc-ask_reason.wav", None).status_code == 401
