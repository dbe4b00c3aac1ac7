"""Offline speech engines: text in, a WAV file out (any rate; the renderer converts).

Two engines share the :class:`TtsEngine` interface, both speaking through eSpeak NG:

* :class:`Pyttsx3Engine` (the default) drives pyttsx3's ``espeak`` driver, which loads
  ``libespeak-ng.so.1`` (Debian package ``libespeak-ng1``, with ``espeak-ng-data``) through
  ctypes and renders in retrieval mode (``AUDIO_OUTPUT_RETRIEVAL``): no sound card, no audio
  server, so it works headless. ``save_to_file`` writes 16-bit mono WAV at 22 050 Hz, the rate
  eSpeak NG synthesizes at. Three pyttsx3 facts shape this class: libespeak-ng keeps one
  synthesizer per process and pyttsx3 one engine per driver, so renders are serialized by a
  process-wide lock; property errors (an unknown voice) are not raised but sent to the engine's
  ``error`` callback while ``runAndWait`` runs, after which the text is spoken in the *previous*
  voice, so errors are collected there and the output discarded; and the driver ``print``s
  "Audio saved to ..." on stdout, which would corrupt ``callbot call --json``, so the driver
  module's ``print`` is routed to this module's logger (only that module is affected, unlike
  swapping ``sys.stdout``, which every thread shares).
* :class:`EspeakNgEngine` runs the ``espeak-ng`` program (Debian package ``espeak-ng``) once per
  text: ``espeak-ng -v VOICE -s RATE -b 1 -w OUT --stdin``, the text on stdin so that a text
  starting with ``-`` is never read as an option. Renders in separate processes run in parallel.

Voices are eSpeak NG voice names: ``vi`` (Vietnamese, northern), ``vi-vn-x-south``, ``en``,
``en-us``, ``ko``..., optionally with a variant (``vi+f3``); ``espeak-ng --voices`` lists them.
Rates are in words per minute, as eSpeak NG counts them (80 to 450, default 175).
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any, Protocol

from callbot.prompts.errors import TtsError

__all__ = [
    "DEFAULT_RATE",
    "MAX_RATE",
    "MIN_RATE",
    "EspeakNgEngine",
    "Pyttsx3Engine",
    "TtsEngine",
    "check_request",
]

log = logging.getLogger(__name__)

MIN_RATE = 80
MAX_RATE = 450
DEFAULT_RATE = 175
_VOICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+/.\-]{0,63}")


class TtsEngine(Protocol):
    """Renders one text to a WAV file. ``name`` is part of every cache key: two engines that
    may sound different must not share a name."""

    @property
    def name(self) -> str: ...

    def synthesize(self, text: str, voice: str, rate: int, out: Path) -> None:
        """Write ``text`` spoken by ``voice`` at ``rate`` words per minute to ``out`` as a PCM
        WAV file; raise :class:`TtsError` on any failure. Blocking: call it off the loop."""
        ...


def check_request(text: str, voice: str, rate: int) -> None:
    """Reject what no engine can render, before any work (ValueError, not TtsError: these are
    programming or script errors, caught when a script is validated)."""
    if not text.strip():
        raise ValueError("cannot render an empty prompt text")
    if not _VOICE_NAME.fullmatch(voice):
        raise ValueError(f"invalid voice name {voice!r}: expected an eSpeak NG name like 'vi'")
    if isinstance(rate, bool) or not isinstance(rate, int) or not MIN_RATE <= rate <= MAX_RATE:
        raise ValueError(f"speech rate must be {MIN_RATE}..{MAX_RATE} words per minute: {rate!r}")


_LIBESPEAK_LOCK = threading.Lock()
"""libespeak-ng has one synthesizer per process and pyttsx3 one engine per driver name."""


class _EmptyRender(Exception):
    """pyttsx3 returned without writing audio (retried)."""


class Pyttsx3Engine:
    """pyttsx3's ``espeak`` driver on libespeak-ng (see the module docstring)."""

    name = "pyttsx3-espeak-ng"

    def __init__(self) -> None:
        self._engine: Any = None  # pyttsx3 ships no type information

    # Measured here: about 1 render in 30 comes back empty (runAndWait returns before the
    # driver wrote the file); the same text renders on the next try. Retry those only.
    EMPTY_RENDER_TRIES = 3

    def synthesize(self, text: str, voice: str, rate: int, out: Path) -> None:
        for attempt in range(1, self.EMPTY_RENDER_TRIES + 1):
            try:
                self._synthesize_once(text, voice, rate, out)
                return
            except _EmptyRender:
                if attempt == self.EMPTY_RENDER_TRIES:
                    raise TtsError(f"pyttsx3 produced no audio for voice {voice!r} ({attempt} tries)") from None

    def _synthesize_once(self, text: str, voice: str, rate: int, out: Path) -> None:
        with _LIBESPEAK_LOCK:
            engine = self._load()
            errors: list[BaseException] = []
            token = engine.connect("error", lambda name, exception: errors.append(exception))
            try:
                engine.setProperty("voice", voice)
                engine.setProperty("rate", rate)
                engine.save_to_file(text, str(out))
                engine.runAndWait()
            except (RuntimeError, OSError, ValueError) as exc:
                with contextlib.suppress(RuntimeError):  # leave pyttsx3 ready for the next text
                    engine.endLoop()
                raise TtsError(f"pyttsx3 failed to render with voice {voice!r}: {exc}") from exc
            finally:
                engine.disconnect(token)
        if errors:
            raise TtsError(
                f"pyttsx3 rejected voice {voice!r} or rate {rate}: {errors[0]}"
                " (see `espeak-ng --voices` for the installed voices)"
            ) from errors[0]
        if not out.is_file() or out.stat().st_size <= 44:
            raise _EmptyRender()

    def _load(self) -> Any:
        if self._engine is None:
            try:
                import pyttsx3  # type: ignore[import-untyped]
                from pyttsx3.drivers import espeak as espeak_driver  # type: ignore[import-untyped]
            except ImportError as exc:
                raise TtsError("pyttsx3 is not installed: pip install pyttsx3") from exc
            except (OSError, RuntimeError) as exc:
                raise TtsError(
                    "pyttsx3 could not load libespeak-ng.so.1: install the Debian package"
                    f" libespeak-ng1 ({exc})"
                ) from exc
            espeak_driver.print = _log_driver_output
            try:
                self._engine = pyttsx3.init("espeak")
            except RuntimeError as exc:
                raise TtsError(f"pyttsx3 could not start eSpeak NG: {exc}") from exc
        return self._engine


def _log_driver_output(*args: object, **_: object) -> None:
    log.debug("pyttsx3: %s", " ".join(str(arg) for arg in args))


class EspeakNgEngine:
    """The ``espeak-ng`` program, one process per render (see the module docstring)."""

    name = "espeak-ng"

    def __init__(self, program: str = "espeak-ng", *, timeout: float = 60.0) -> None:
        self.program = program
        self.timeout = timeout

    def synthesize(self, text: str, voice: str, rate: int, out: Path) -> None:
        executable = shutil.which(self.program)
        if executable is None:
            raise TtsError(f"{self.program} not found: install the Debian package espeak-ng")
        command = [executable, "-v", voice, "-s", str(rate), "-b", "1", "-w", str(out), "--stdin"]
        try:
            done = subprocess.run(
                command,
                input=text.encode("utf-8"),
                capture_output=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise TtsError(f"espeak-ng took over {self.timeout:g} s for voice {voice!r}") from exc
        except OSError as exc:
            raise TtsError(f"could not run {executable}: {exc}") from exc
        message = done.stderr.decode("utf-8", "replace").strip()
        if done.returncode != 0:
            raise TtsError(
                f"espeak-ng failed for voice {voice!r} (exit {done.returncode}): {message}"
                " (see `espeak-ng --voices` for the installed voices)"
            )
        if not out.is_file() or out.stat().st_size <= 44:
            raise TtsError(f"espeak-ng produced no audio for voice {voice!r}: {message}")
