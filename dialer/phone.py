"""Placing calls from asyncio code: :class:`Softphone` (a SIP endpoint plus the media engine)
and :class:`Call` (one call: its events, its audio in and out, and its result).

    async with Softphone(bind_host="127.0.0.1") as phone:
        call = await phone.dial("0912345678", trunk=Trunk("127.0.0.1", 5060))
        if await call.wait_answered():
            call.play(load_wav("hello.wav"))
            async for event in call.events(): ...
        result = await call.wait_ended()
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from dialer.codecs.base import codec_by_name
from dialer.dsp.digits import DigitMerger, DigitSource
from dialer.dsp.goertzel import InbandDtmfDetector
from dialer.endpoint import SipEndpoint
from dialer.errors import ConfigError
from dialer.media import MediaEngine, MediaStream
from dialer.outcome import CallOutcome, CallResult, EndReason
from dialer.rtp.session import AudioFrame, DigitReceived, PlaybackDone, RtpSession
from dialer.sdp import SdpError, SessionDescription, build_offer, negotiate_answer
from dialer.sip.auth import Credentials
from dialer.sip.builder import new_call_id
from dialer.sip.register import RegistrationChanged
from dialer.sip.timers import TimerConfig
from dialer.sip.ua import CallAnswered, CallEnded, CallRinging, DtmfInfo, Trunk, UaEvent
from dialer.sip.uri import SipUri

log = logging.getLogger("dialer.phone")

_SIP_USER = re.compile(r"[A-Za-z0-9\-_.!~*'()&=+$,;?/]+")


@dataclass(frozen=True)
class CallEndedEvent:
    result: CallResult


CallEvent = DigitReceived | AudioFrame | PlaybackDone | CallEndedEvent


class InbandDtmf(StrEnum):
    """When to listen for keypress tones in the audio as well as RFC 4733 events.

    ``auto``: only when the far end did not agree to telephone-events; ``on``: always (a
    carrier may send both, the merger counts each press once); ``off``: never. The detector
    costs about 70 us of CPU per 20 ms frame, so ``auto`` suits large campaigns.
    """

    AUTO = "auto"
    ON = "on"
    OFF = "off"


class _RtpClock:
    """Seconds since the first packet on the stream's RTP clock (32-bit wrap unwrapped)."""

    def __init__(self, clock_rate: int = 8000) -> None:
        self.clock_rate = clock_rate
        self.first: int | None = None

    def seconds(self, timestamp: int) -> float:
        if self.first is None:
            self.first = timestamp
        return ((timestamp - self.first) % (1 << 32)) / self.clock_rate


def target_uri(number_or_uri: str, trunk: Trunk | None) -> SipUri:
    """``sip:...`` as given; a number becomes ``sip:NUMBER@trunk``. Raises ConfigError."""
    text = number_or_uri.strip()
    if text.lower().startswith(("sip:", "sips:")):
        try:
            return SipUri.parse(text)
        except ValueError as exc:
            raise ConfigError(f"bad SIP URI {text!r}: {exc}") from exc
    if trunk is None:
        raise ConfigError(f"{text!r} is a number: a trunk (--trunk HOST:PORT) is needed to call it")
    if text and set(text) <= set("0123456789+*#-.() "):
        return trunk.uri_for("".join(c for c in text if c not in "-.() "))
    if _SIP_USER.fullmatch(text):
        return trunk.uri_for(text)  # an extension or account name the trunk routes (RFC 3261 s25.1 user)
    raise ConfigError(f"{text!r} is neither a phone number, a SIP user name nor a sip: URI")


class Call:
    """One outbound call. Created by :meth:`Softphone.dial`."""

    def __init__(self, phone: "Softphone", stream: MediaStream, offer: SessionDescription) -> None:
        self.phone = phone
        self.stream = stream
        self.offer = offer
        self.call_id = ""
        self.session: RtpSession | None = None
        self.digits: list[str] = []
        self.answered = asyncio.get_running_loop().create_future()
        self.result: asyncio.Future[CallResult] = asyncio.get_running_loop().create_future()
        self._queue: asyncio.Queue[CallEvent] = asyncio.Queue()
        self.media_timeout: float | None = None
        self.inband_mode = InbandDtmf.AUTO
        self._inband: InbandDtmfDetector | None = None
        self._merger = DigitMerger()
        self._rtp_clock = _RtpClock()

    # -- API for the script engine and the CLI
    async def wait_answered(self) -> bool:
        """True once answered; False if the call ended without an answer."""
        return await self.answered

    async def wait_ended(self) -> CallResult:
        return await self.result

    async def events(self) -> AsyncIterator[CallEvent]:
        """Digits, audio frames, playback-finished; ends after the call ended."""
        while True:
            event = await self._queue.get()
            yield event
            if isinstance(event, CallEndedEvent):
                return

    def play(self, pcm: np.ndarray) -> int:
        """Queue 8 kHz 16-bit audio after what is already queued; returns the playback id
        that the :class:`PlaybackDone` event will carry. Before the answer it returns -1."""
        if self.session is None:
            return -1
        playback = self.session.play(pcm)
        if self.session.packets_sent == 0:
            self.stream.send_now()  # the first packet of the call need not wait for the clock
        return playback

    def clear_playback(self) -> list[int]:
        """Drop queued audio at once (barge-in); returns the interrupted playback ids."""
        if self.session is None:
            return []
        return self.session.clear_playback()

    def send_digit(self, digit: str) -> None:
        if self.session is not None:
            self.session.send_digit(digit)

    def hangup(self, reason: EndReason = EndReason.LOCAL_BYE, outcome: CallOutcome | None = None, message: str = "") -> None:
        ua = self.phone.endpoint.ua
        assert ua is not None
        ua.hangup(self.call_id, self.phone.endpoint.now, reason=reason, outcome=outcome, message=message)
        self.phone.endpoint.poke()

    # -- events from below
    def _on_ua_event(self, event: UaEvent) -> None:
        if isinstance(event, CallAnswered):
            self._on_answered(event)
        elif isinstance(event, CallEnded):
            self._on_ended(event)
        elif isinstance(event, DtmfInfo):
            self.digits.append(event.digit)
            self._queue.put_nowait(DigitReceived(event.digit, duration_ms=0.0, timestamp=0, at=self.phone.endpoint.now))
        elif isinstance(event, CallRinging):
            log.debug("call %s ringing (%d)", self.call_id, event.status)

    def _on_answered(self, event: CallAnswered) -> None:
        try:
            media = negotiate_answer(self.offer, SessionDescription.parse(event.sdp))
        except SdpError as exc:
            log.warning("call %s: unusable answer: %s", self.call_id, exc)
            self.hangup(EndReason.BAD_ANSWER, CallOutcome.FAILED, f"The far end's audio answer is unusable: {exc}")
            return
        self.session = RtpSession(
            codec_by_name(media.codec),
            payload_type=media.payload_type,
            telephone_event_payload_type=media.telephone_event_pt,
            inactivity_timeout=self.media_timeout if self.media_timeout is not None else float("inf"),
        )
        if self.inband_mode is InbandDtmf.ON or (
            self.inband_mode is InbandDtmf.AUTO and media.telephone_event_pt is None
        ):
            self._inband = InbandDtmfDetector(sample_rate=8000)
        self.stream.start(
            self.session,
            media.remote_address,
            on_events=self._on_media_events,
            on_inactive=self._on_media_timeout if self.media_timeout is not None else None,
        )
        if not self.answered.done():
            self.answered.set_result(True)

    def _on_media_events(self, events: list[object]) -> None:
        for event in events:
            if isinstance(event, DigitReceived):
                start = self._rtp_clock.seconds(event.timestamp)
                for _ in self._merger.feed(DigitSource.RFC4733, event.digit, start, start + event.duration_ms / 1000):
                    self._digit(event)
            elif isinstance(event, AudioFrame):
                if self._inband is not None:
                    at = self._rtp_clock.seconds(event.timestamp)
                    for tone in self._inband.feed(event.pcm, at):
                        for _ in self._merger.feed(DigitSource.INBAND, tone.digit, tone.start, tone.end):
                            timestamp = (self._rtp_clock.first or 0) + int(tone.start * 8000)
                            self._digit(DigitReceived(tone.digit, duration_ms=tone.duration_ms,
                                                      timestamp=timestamp % (1 << 32), at=event.at))
                self._queue.put_nowait(event)
            elif isinstance(event, PlaybackDone):
                self._queue.put_nowait(event)

    def _digit(self, event: DigitReceived) -> None:
        self.digits.append(event.digit)
        self._queue.put_nowait(event)

    def _on_media_timeout(self) -> None:
        seconds = self.media_timeout or 0
        self.hangup(EndReason.MEDIA_TIMEOUT, None, f"No audio from the far end for {seconds:g} s: the call was ended.")

    def _on_ended(self, event: CallEnded) -> None:
        self.stream.close()
        session = self.session
        result = CallResult(
            outcome=event.outcome,
            sip_status=event.sip_status,
            hangup_by=event.hangup_by,
            ring_ms=event.ring_ms,
            talk_ms=event.talk_ms,
            reason=event.reason,
            message=event.message,
            digits="".join(self.digits),
            rtp_sent=session.packets_sent if session else 0,
            rtp_received=session.packets_received if session else 0,
            call_id=self.call_id,
        )
        if not self.answered.done():
            self.answered.set_result(False)
        if not self.result.done():
            self.result.set_result(result)
        self._queue.put_nowait(CallEndedEvent(result))
        self.phone._finished(self)


class Softphone:
    """A SIP endpoint and a media engine: what places calls."""

    def __init__(
        self,
        bind_host: str = "127.0.0.1",
        bind_port: int = 0,
        *,
        advertise_host: str | None = None,
        user_agent: str = "callbot/0.1",
        timers: TimerConfig | None = None,
    ) -> None:
        self.endpoint = SipEndpoint(bind_host, bind_port, advertise_host=advertise_host, user_agent=user_agent, timers=timers)
        self.media = MediaEngine(bind_host if bind_host not in ("0.0.0.0", "") else "0.0.0.0")
        self.advertise_host = advertise_host or (bind_host if bind_host not in ("0.0.0.0", "") else "127.0.0.1")
        self.calls: dict[str, Call] = {}
        self._registrations: asyncio.Queue[RegistrationChanged] = asyncio.Queue()

    async def __aenter__(self) -> "Softphone":
        await self.endpoint.start()
        self.endpoint.subscribe_other(self._on_other_event)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self, timeout: float = 2.0) -> None:
        """Hang up what is still up, unregister, and close the sockets (bounded wait)."""
        for call in list(self.calls.values()):
            call.hangup()
        pending = [c.result for c in self.calls.values()]
        if pending:
            await asyncio.wait(pending, timeout=timeout)
        ua = self.endpoint.ua
        if ua is not None and ua.registrations:
            ua.unregister_all(self.endpoint.now)
            self.endpoint.poke()
            try:
                await asyncio.wait_for(self._registrations.get(), timeout=min(timeout, 1.0))
            except asyncio.TimeoutError:
                pass
        await self.media.close()
        await self.endpoint.close()

    async def register(self, trunk: Trunk, timeout: float = 10.0) -> RegistrationChanged:
        """Register with the trunk and wait for the first result."""
        ua = self.endpoint.ua
        assert ua is not None
        ua.register(trunk, self.endpoint.now)
        self.endpoint.poke()
        try:
            return await asyncio.wait_for(self._registrations.get(), timeout=timeout)
        except asyncio.TimeoutError:
            return RegistrationChanged(f"{trunk.host}:{trunk.port}", False, 0, None, "The registrar did not answer in time.")

    async def dial(
        self,
        target: str | SipUri,
        *,
        trunk: Trunk | None = None,
        from_user: str | None = None,
        ring_timeout: float | None = 30.0,
        max_duration: float | None = None,
        media_timeout: float | None = 30.0,
        credentials: Credentials | None = None,
        inband_dtmf: InbandDtmf = InbandDtmf.AUTO,
        call_id: str | None = None,
    ) -> Call:
        uri = target if isinstance(target, SipUri) else target_uri(target, trunk)
        stream = await self.media.open_stream()
        offer = build_offer(self.advertise_host, stream.port, secrets.randbits(31))
        call = Call(self, stream, offer)
        call.media_timeout = media_timeout
        call.inband_mode = InbandDtmf(inband_dtmf)
        ua = self.endpoint.ua
        assert ua is not None
        call.call_id = ua.place_call(
            uri,
            local_sdp=str(offer).encode(),
            now=self.endpoint.now,
            trunk=trunk,
            from_user=from_user,
            ring_timeout=ring_timeout,
            max_duration=max_duration,
            credentials=credentials,
            call_id=call_id,
        )
        self.calls[call.call_id] = call
        self.endpoint.subscribe(call.call_id, call._on_ua_event)
        self.endpoint.poke()
        return call

    def new_call_id(self) -> str:
        """A fresh Call-ID, for callers that record the call before dialing it."""
        return new_call_id(self.advertise_host)

    def _finished(self, call: Call) -> None:
        self.endpoint.unsubscribe(call.call_id)
        self.calls.pop(call.call_id, None)
        if self.endpoint.ua is not None:
            self.endpoint.ua.forget(call.call_id)

    def _on_other_event(self, event: UaEvent) -> None:
        if isinstance(event, RegistrationChanged):
            self._registrations.put_nowait(event)
