"""Keypresses heard in the audio of a real call (in-band DTMF), merged with RFC 4733 events."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import numpy as np
import pytest

from dialer.dsp.tones import dtmf_tone
from dialer.outcome import CallOutcome
from dialer.phone import InbandDtmf, Softphone
from dialer.simphone import Action, Behaviour, PhoneSimulator, SimulatorConfig
from dialer.sip.ua import Trunk

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]


def _tones_wav(path: Path, digits: str) -> Path:
    gap = np.zeros(1600, np.int16)  # 200 ms between presses
    pieces = [np.zeros(4000, np.int16)]
    for digit in digits:
        pieces += [dtmf_tone(digit, 120, level_dbm0=-10), gap]
    pieces.append(np.zeros(8000, np.int16))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(np.concatenate(pieces).astype("<i2").tobytes())
    return path


async def _digits(behaviour: Behaviour, mode: InbandDtmf) -> tuple[CallOutcome, str]:
    async with PhoneSimulator(SimulatorConfig(numbers={"100": behaviour})) as phones:
        async with Softphone() as phone:
            call = await phone.dial("100", trunk=Trunk("127.0.0.1", phones.port), max_duration=3.5, inband_dtmf=mode)
            result = await asyncio.wait_for(call.wait_ended(), 20)
    return result.outcome, result.digits


def test_tones_in_the_audio_are_heard_when_on(tmp_path: Path) -> None:
    phone = Behaviour(action=Action.ANSWER, ring_seconds=0.1, prompt=_tones_wav(tmp_path / "t.wav", "47#"))
    assert asyncio.run(_digits(phone, InbandDtmf.ON)) == (CallOutcome.ANSWERED, "47#")
    assert asyncio.run(_digits(phone, InbandDtmf.OFF)) == (CallOutcome.ANSWERED, "")


def test_a_press_sent_both_ways_counts_once(tmp_path: Path) -> None:
    """The phone plays the tone of 5 and sends the RFC 4733 event of 5 at about the same time."""
    phone = Behaviour(action=Action.ANSWER, ring_seconds=0.1, prompt=_tones_wav(tmp_path / "t.wav", "5"),
                      press="5", digits_after=0.5)
    assert asyncio.run(_digits(phone, InbandDtmf.ON)) == (CallOutcome.ANSWERED, "5")
