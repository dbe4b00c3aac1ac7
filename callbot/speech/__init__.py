"""Offline speech recognition for ``listen`` blocks: Vosk on the call's 8 kHz audio.

Layers, lowest first: :mod:`~callbot.speech.vocabulary` (a model's word list, read without
loading it; :func:`missing_words` for the script validator), :mod:`~callbot.speech.models`
(models installed as Python packages), :mod:`~callbot.speech.endpoint` (energy-based speech
start and end, pure), :mod:`~callbot.speech.recognizer` (the shared model and one streaming
keyword recognizer per listening), :mod:`~callbot.speech.stream` (the recognizer off the event
loop). Events are in :mod:`~callbot.speech.events`, errors in :mod:`~callbot.speech.errors`.
"""

from callbot.speech.endpoint import EndpointConfig
from callbot.speech.errors import (
    SessionClosed,
    SpeechError,
    SpeechInputError,
    SpeechModelError,
    UnknownKeywords,
)
from callbot.speech.events import (
    Decision,
    NoInput,
    NoMatch,
    SpeechEvent,
    SpeechResult,
    SpeechStarted,
)
from callbot.speech.models import find_packaged_model
from callbot.speech.recognizer import KeywordRecognizer, SpeechModel
from callbot.speech.stream import ListeningSession, shared_executor
from callbot.speech.vocabulary import check_keywords, missing_words

__all__ = [
    "Decision",
    "EndpointConfig",
    "KeywordRecognizer",
    "ListeningSession",
    "NoInput",
    "NoMatch",
    "SessionClosed",
    "SpeechError",
    "SpeechEvent",
    "SpeechInputError",
    "SpeechModel",
    "SpeechModelError",
    "SpeechResult",
    "SpeechStarted",
    "UnknownKeywords",
    "check_keywords",
    "find_packaged_model",
    "missing_words",
    "shared_executor",
]
