"""Our Softphone calls the simulated phones (dialer.simphone.PhoneSimulator) on loopback: real
UDP sockets for SIP and RTP on both sides, one behaviour per test, the CallResult checked."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from dialer.outcome import CallOutcome, CallResult, EndReason, HangupBy
from dialer.phone import Softphone
from dialer.rtp.session import AudioFrame
from dialer.simphone import Action, Behaviour, PhoneSimulator, SimCallSummary, SimEndReason, SimulatorConfig
from dialer.sip.ua import Trunk

pytestmark = pytest.mark.interop

HELLO = Path(__file__).resolve().parents[2] / "sounds" / "hello.wav"
NUMBER = "0912345678"


@dataclass(frozen=True)
class Outcome:
    result: CallResult
    phone: SimCallSummary | None
    loudest: int  # peak sample the dialer heard


async def _call(
    behaviour: Behaviour | None,
    *,
    ring_timeout: float = 10.0,
    media_timeout: float = 10.0,
    hangup_after_digits: int | None = None,
    no_answer_limit: float = 120.0,
) -> Outcome:
    config = SimulatorConfig(numbers={NUMBER: behaviour} if behaviour is not None else {})
    loudest = 0
    async with asyncio.timeout(30):
        async with PhoneSimulator(config, no_answer_limit=no_answer_limit) as sim, Softphone() as phone:
            call = await phone.dial(
                NUMBER, trunk=Trunk(*sim.address), ring_timeout=ring_timeout, media_timeout=media_timeout, max_duration=20
            )
            if await call.wait_answered():
                async for event in call.events():
                    if isinstance(event, AudioFrame):
                        loudest = max(loudest, int(np.abs(event.pcm.astype(np.int32)).max()))
                    if hangup_after_digits is not None and len(call.digits) >= hangup_after_digits:
                        call.hangup()
                        hangup_after_digits = None
            result = await call.wait_ended()
            for _ in range(100):  # the phone's side ends when our BYE's 200 (or its own) is through
                if sim.summaries or behaviour is None:
                    break
                await asyncio.sleep(0.01)
            phone_side = next(iter(sim.summaries.values()), None)
    return Outcome(result, phone_side, loudest)


def run(behaviour: Behaviour | None, **kwargs: object) -> Outcome:
    return asyncio.run(_call(behaviour, **kwargs))  # type: ignore[arg-type]


def test_answer_press_digits_and_phone_hangs_up() -> None:
    out = run(Behaviour(Action.ANSWER, ring_seconds=0.5, press="12", digits_after=0.5, hangup_after=2.0))
    r = out.result
    assert (r.outcome, r.sip_status, r.digits, r.hangup_by) == (CallOutcome.ANSWERED, 200, "12", HangupBy.REMOTE)
    assert r.reason is EndReason.REMOTE_BYE
    assert 400 <= r.ring_ms <= 1000 and 1800 <= r.talk_ms <= 2500
    assert r.rtp_sent > 50 and r.rtp_received > 50
    assert out.phone is not None
    assert (out.phone.pressed, out.phone.reason, out.phone.status) == ("12", SimEndReason.PHONE_BYE, 200)
    assert out.phone.rtp_received > 50


def test_answer_and_we_hang_up_after_the_digits() -> None:
    out = run(Behaviour(Action.ANSWER, ring_seconds=0.0, press="7", digits_after=0.3), hangup_after_digits=1)
    r = out.result
    assert (r.outcome, r.sip_status, r.digits, r.hangup_by) == (CallOutcome.ANSWERED, 200, "7", HangupBy.US)
    assert out.phone is not None and out.phone.reason is SimEndReason.CALLER_BYE


def test_answer_plays_the_prompt() -> None:
    out = run(Behaviour(Action.ANSWER, ring_seconds=0.0, hangup_after=1.5, prompt=HELLO))
    assert out.result.outcome is CallOutcome.ANSWERED
    assert out.loudest > 3000  # speech, not the silence an idle phone sends


@pytest.mark.parametrize(
    ("behaviour", "outcome", "status"),
    [
        (Behaviour(Action.BUSY, ring_seconds=0.0), CallOutcome.BUSY, 486),
        (Behaviour(Action.DECLINE, ring_seconds=0.5), CallOutcome.DECLINED, 603),
        (Behaviour(Action.REJECT, status=503, ring_seconds=0.0), CallOutcome.FAILED, 503),
        (Behaviour(Action.REJECT, status=404, ring_seconds=0.0), CallOutcome.REJECTED, 404),
        (None, CallOutcome.REJECTED, 404),  # no phone has the number
    ],
    ids=["busy", "decline", "reject-503", "reject-404", "unknown-number"],
)
def test_refused(behaviour: Behaviour | None, outcome: CallOutcome, status: int) -> None:
    r = run(behaviour).result
    assert (r.outcome, r.sip_status, r.digits, r.hangup_by) == (outcome, status, "", HangupBy.REMOTE)
    assert r.reason is EndReason.FINAL_RESPONSE
    assert r.rtp_sent == r.rtp_received == 0


def test_no_answer_we_cancel_at_the_ring_timeout() -> None:
    out = run(Behaviour(Action.NO_ANSWER), ring_timeout=1.5)
    r = out.result
    assert (r.outcome, r.sip_status, r.hangup_by, r.reason) == (
        CallOutcome.NO_ANSWER, 487, HangupBy.US, EndReason.RING_TIMEOUT,
    )
    assert 1400 <= r.ring_ms <= 2200
    assert out.phone is not None and (out.phone.status, out.phone.reason) == (487, SimEndReason.CANCELLED)


def test_no_answer_the_phone_gives_up_with_480() -> None:
    out = run(Behaviour(Action.NO_ANSWER), ring_timeout=10.0, no_answer_limit=1.0)
    r = out.result
    assert (r.outcome, r.sip_status, r.hangup_by) == (CallOutcome.NO_ANSWER, 480, HangupBy.REMOTE)
    assert out.phone is not None and out.phone.reason is SimEndReason.RING_LIMIT


def test_silent_phone_ends_on_our_media_timeout() -> None:
    out = run(Behaviour(Action.SILENT, ring_seconds=0.0), media_timeout=1.0)
    r = out.result
    assert (r.outcome, r.sip_status, r.hangup_by, r.reason) == (
        CallOutcome.ANSWERED, 200, HangupBy.US, EndReason.MEDIA_TIMEOUT,
    )
    assert r.rtp_received == 0 and r.rtp_sent > 20
    assert out.phone is not None and out.phone.rtp_sent == 0
