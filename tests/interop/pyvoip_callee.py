"""pyVoIP 1.6.8 as an independent callee for the interop tests (run as a child process).

pyVoIP always registers before it takes calls (evaluation note), so it registers with the
test Kamailio, answers every incoming call, plays a 440 Hz tone, measures the audio it hears
and the RFC 4733 digits it gets, and reports each step as one JSON object per line in the
events file: registered, call_answered, call_ended. It waits for the caller to hang up.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from pathlib import Path

import pyVoIP
from pyVoIP.VoIP import CallState, PhoneStatus, VoIPCall, VoIPPhone

SAMPLE_RATE = 8000
FRAME_BYTES = 160  # 20 ms of 8 kHz audio; pyVoIP's audio API is 8-bit unsigned linear
SILENCE = 128
HEARD_THRESHOLD = 8  # a frame counts as heard audio if it strays this far from silence


class EventLog:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()

    def write(self, event: str, **fields: object) -> None:
        line = json.dumps({"event": event, "time": time.time(), **fields})
        with self._lock, self._path.open("a") as out:
            out.write(line + "\n")


def tone(seconds: float, frequency: float = 440.0) -> bytes:
    """A sine tone as pyVoIP wants it: 8-bit unsigned samples at 8 kHz."""
    count = int(seconds * SAMPLE_RATE)
    return bytes(
        int(SILENCE + 90 * math.sin(2 * math.pi * frequency * n / SAMPLE_RATE)) for n in range(count)
    )


def handle_call(call: VoIPCall, events: EventLog, audio_seconds: float) -> None:
    call.answer()
    events.write("call_answered", call_id=call.call_id)
    call.write_audio(tone(audio_seconds))
    heard_frames = 0
    frames = 0
    digits = ""
    deadline = time.monotonic() + audio_seconds + 10
    while call.state == CallState.ANSWERED and time.monotonic() < deadline:
        frame = call.read_audio(FRAME_BYTES, blocking=False)
        if frame and max(abs(b - SILENCE) for b in frame) > HEARD_THRESHOLD:
            heard_frames += 1
        frames += 1
        digits += call.get_dtmf(length=16)
        time.sleep(0.02)
    ended_by_remote = call.state == CallState.ENDED
    if not ended_by_remote:
        call.hangup()
    events.write(
        "call_ended", call_id=call.call_id, ended_by_remote=ended_by_remote,
        heard_frames=heard_frames, polled_frames=frames, digits=digits,
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--registrar", required=True, help="HOST:PORT of the registrar")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--sip-port", type=int, required=True)
    parser.add_argument("--rtp-ports", required=True, help="LOW-HIGH")
    parser.add_argument("--events", type=Path, required=True)
    parser.add_argument("--audio-seconds", type=float, default=30.0)
    args = parser.parse_args(argv)

    host, port = args.registrar.rsplit(":", 1)
    rtp_low, rtp_high = (int(p) for p in args.rtp_ports.split("-"))
    events = EventLog(args.events)
    pyVoIP.DEBUG = True

    def on_call(call: VoIPCall) -> None:
        try:
            handle_call(call, events, args.audio_seconds)
        except Exception as exc:  # noqa: BLE001 - reported to the test through the event log
            events.write("call_error", error=f"{type(exc).__name__}: {exc}")

    phone = VoIPPhone(
        host, int(port), args.user, args.password, myIP="127.0.0.1", callCallback=on_call,
        sipPort=args.sip_port, rtpPortLow=rtp_low, rtpPortHigh=rtp_high,
    )
    phone.start()
    deadline = time.monotonic() + 15
    while phone.get_status() != PhoneStatus.REGISTERED:
        if time.monotonic() > deadline:
            events.write("registration_failed", status=str(phone.get_status()))
            return 1
        time.sleep(0.05)
    events.write("registered", user=args.user, sip_port=args.sip_port)
    threading.Event().wait()  # serve calls until the test stops this process (SIGTERM)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
