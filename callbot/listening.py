"""The engine's listeners on top of Vosk (:mod:`callbot.speech`).

The engine owns the no-input timer of a listen block (it starts when the prompt ends, and
the caller's speech start cancels it), so the recognizer's own no-input bound is only a
backstop. The model is loaded when the factory is made, before any call, never mid-call.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import numpy as np

from callbot.speech.endpoint import EndpointConfig
from callbot.speech.recognizer import KeywordRecognizer, SpeechModel
from callbot.speech.stream import ListeningSession

RECOGNIZER_NO_INPUT_BACKSTOP = 600.0  # seconds of audio; the engine's timer decides first


class VoskListener:
    def __init__(self, model: SpeechModel, intents: Mapping[str, tuple[str, ...]]) -> None:
        recognizer = KeywordRecognizer(
            model, {k: list(v) for k, v in intents.items()}, 8000,
            endpoint=EndpointConfig(no_input_timeout=RECOGNIZER_NO_INPUT_BACKSTOP),
        )
        self.session = ListeningSession(recognizer)
        self.session.start()
        self._closing: asyncio.Task[None] | None = None

    def feed(self, pcm: np.ndarray) -> None:
        self.session.push(pcm)

    async def events(self) -> AsyncIterator[object]:
        async for event in self.session:
            yield event

    def close(self) -> None:
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(self.session.cancel())


class VoskListenerFactory:
    """One loaded model shared by every call of the process."""

    def __init__(self, model_path: str | Path) -> None:
        self.model = SpeechModel(model_path)
        self.model.load()

    def create(self, intents: Mapping[str, tuple[str, ...]], *, no_input_timeout: float) -> VoskListener:
        return VoskListener(self.model, intents)
