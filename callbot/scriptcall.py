"""``callbot call --script``: one real call running a call script, reported with the script's
final status, its event log and its transcripts."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callbot.engine import CallEngine, EngineResult
from callbot.prerender import customer_texts, static_texts
from callbot.prompts import AudioFileCache, Prompt, PromptRenderer
from callbot.testcall import SIGNALLING_GRACE, TestCallOptions, dial_options, registered_or_result
from dialer.errors import ConfigError
from dialer.outcome import CallOutcome, CallResult, EndReason
from dialer.phone import Softphone
from scripts_dsl.speech import Vocabulary
from scripts_dsl import CustomerDataMissing, CustomerStatus, ScriptRun, compile_report, validate_file

log = logging.getLogger("callbot.scriptcall")


@dataclass(frozen=True)
class ScriptCallOptions:
    script: Path
    customer: dict[str, str] = field(default_factory=dict)
    status: CustomerStatus = CustomerStatus.REGISTERED
    voice: str | None = None
    rate: int = 175
    speech_model: Path | None = None
    prompt_cache: Path | None = None
    recordings_dir: Path | None = None


def model_vocabulary(model_path: Path) -> Vocabulary:
    """The words of a Vosk model, for the validator's keyword check.

    The speech package reads every kind of Vosk model (``words.txt``, or the ``Gr.fst``
    symbol table of lookahead models such as the small Korean one); a missing or unreadable
    model is a :class:`SpeechModelError` here, before any call, never in the middle of one.
    """
    from callbot.speech.vocabulary import read_vocabulary

    return Vocabulary.from_words(read_vocabulary(model_path).words, source=str(model_path))


def load_script(options: ScriptCallOptions) -> Any:
    """Validate and compile; a bad script is a :class:`ConfigError` listing every problem."""
    extra: dict[str, Any] = {}
    if options.speech_model is not None:
        extra["vocabulary"] = model_vocabulary(options.speech_model)
    report = validate_file(options.script, **extra)
    if report.problems:
        lines = "\n".join(f"  - {p}" for p in report.problems)
        raise ConfigError(f"the script {options.script} is not valid:\n{lines}")
    return compile_report(report)


def _listeners(options: ScriptCallOptions) -> Any:
    if options.speech_model is None:
        return None
    from callbot.listening import VoskListenerFactory

    return VoskListenerFactory(options.speech_model)


async def run_script_call(call_opts: TestCallOptions, options: ScriptCallOptions) -> tuple[CallResult, EngineResult | None]:
    compiled = load_script(options)
    try:
        run = ScriptRun(compiled, options.customer, options.status)
    except CustomerDataMissing as exc:
        raise ConfigError(str(exc)) from exc
    voice = options.voice or compiled.voice or compiled.language
    prompts = PromptRenderer(options.prompt_cache)
    audio_files = AudioFileCache(options.prompt_cache / "audio" if options.prompt_cache else None)
    # Static prompts before the call; customer prompts while it rings (issue: no call waits).
    await prompts.prerender(Prompt(text, voice, options.rate) for text in static_texts(compiled))
    listeners = _listeners(options)
    engine_result: EngineResult | None = None
    async with Softphone(call_opts.bind[0], call_opts.bind[1]) as phone:
        trunk, credentials = dial_options(call_opts)
        refused = await registered_or_result(phone, call_opts, trunk)
        if refused is not None:
            return refused, None
        call = await phone.dial(call_opts.target, trunk=trunk, credentials=credentials, from_user=call_opts.caller_id,
                                ring_timeout=call_opts.ring_timeout, max_duration=call_opts.max_duration,
                                media_timeout=call_opts.media_timeout, inband_dtmf=call_opts.inband_dtmf)
        run.call_id = call.call_id
        ringing = asyncio.create_task(
            prompts.prerender(Prompt(t, voice, options.rate) for t in customer_texts(compiled, run.customer))
        )
        bound = call_opts.ring_timeout + call_opts.max_duration + SIGNALLING_GRACE
        try:
            async with asyncio.timeout(bound):
                answered = await call.wait_answered()
                # No wait for the customer prompts here: the engine's render() joins a render
                # still in flight when that prompt comes up, so the first prompt starts at once.
                if answered:
                    engine = CallEngine(call, run, prompts=prompts, audio_files=audio_files, voice=voice,
                                        rate=options.rate, listeners=listeners,
                                        recordings_dir=str(options.recordings_dir) if options.recordings_dir else None)
                    engine_result = await engine.execute()
                return await call.wait_ended(), engine_result
        except TimeoutError:
            call.hangup(EndReason.NO_RESPONSE, CallOutcome.FAILED, "The call did not finish in time.")
            async with asyncio.timeout(5.0):
                return await call.wait_ended(), engine_result
        finally:
            await _settle(ringing)


async def _settle(task: "asyncio.Task[None]") -> None:
    """Stop a prerender that is no longer needed; its failure, if any, was the engine's to see."""
    if not task.done():
        task.cancel()
    await asyncio.gather(task, return_exceptions=True)
