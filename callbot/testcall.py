"""``callbot call``: one call to a number or SIP URI, reported as a :class:`CallResult`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from dialer.outcome import CallOutcome, CallResult, EndReason
from dialer.phone import InbandDtmf, Softphone
from dialer.rtp.audio import load_wav
from dialer.sip.auth import Credentials
from dialer.sip.ua import Trunk

# Beyond ring timeout and talk time, how long the signalling may take to finish (Timer B/F).
SIGNALLING_GRACE = 40.0


@dataclass(frozen=True)
class TestCallOptions:
    """Options of ``callbot call`` (a test call in the telephony sense)."""

    __test__ = False  # not a pytest test class despite its name
    target: str
    trunk: tuple[str, int] | None = None
    username: str | None = None
    password: str | None = None
    register: bool = False
    caller_id: str | None = None
    ring_timeout: float = 30.0
    max_duration: float = 60.0
    play: Path | None = None
    hangup_after_digits: int | None = None
    media_timeout: float = 30.0
    bind: tuple[str, int] = ("127.0.0.1", 0)
    inband_dtmf: InbandDtmf = InbandDtmf.AUTO


def _not_registered(status: int | None, message: str) -> CallResult:
    refused = status is not None
    return CallResult(
        outcome=CallOutcome.REJECTED if refused else CallOutcome.FAILED,
        sip_status=status,
        hangup_by=None,
        ring_ms=0,
        talk_ms=0,
        reason=EndReason.AUTH_FAILED if status in (401, 403, 407) else EndReason.NO_RESPONSE,
        message=f"Registration failed, no call was placed. {message}",
    )


def dial_options(opts: TestCallOptions) -> tuple[Trunk | None, Credentials | None]:
    """The trunk and credentials a call with these options uses."""
    credentials = Credentials(opts.username, opts.password) if opts.username and opts.password is not None else None
    trunk = None
    if opts.trunk is not None:
        trunk = Trunk(
            host=opts.trunk[0],
            port=opts.trunk[1],
            username=opts.username,
            password=opts.password,
            register=opts.register,
            caller_id=opts.caller_id,
        )
    return trunk, credentials


async def registered_or_result(phone: Softphone, opts: TestCallOptions, trunk: Trunk | None) -> CallResult | None:
    """Register first when asked; the result to report instead of calling when that fails."""
    if trunk is None or not opts.register:
        return None
    registration = await phone.register(trunk)
    if registration.registered:
        return None
    return _not_registered(registration.status, registration.message)


async def run_test_call(opts: TestCallOptions) -> CallResult:
    pcm = load_wav(opts.play) if opts.play else None
    trunk, credentials = dial_options(opts)
    async with Softphone(opts.bind[0], opts.bind[1]) as phone:
        refused = await registered_or_result(phone, opts, trunk)
        if refused is not None:
            return refused
        call = await phone.dial(
            opts.target,
            trunk=trunk,
            credentials=credentials,
            from_user=opts.caller_id,
            ring_timeout=opts.ring_timeout,
            max_duration=opts.max_duration,
            media_timeout=opts.media_timeout,
            inband_dtmf=opts.inband_dtmf,
        )
        bound = opts.ring_timeout + opts.max_duration + SIGNALLING_GRACE
        try:
            async with asyncio.timeout(bound):
                if await call.wait_answered():
                    if pcm is not None:
                        call.play(pcm)
                    if opts.hangup_after_digits:
                        async for _ in call.events():
                            if len(call.digits) >= opts.hangup_after_digits:
                                call.hangup()
                                break
                return await call.wait_ended()
        except TimeoutError:
            call.hangup(EndReason.NO_RESPONSE, CallOutcome.FAILED, "The call did not finish in time.")
            async with asyncio.timeout(5.0):
                return await call.wait_ended()
