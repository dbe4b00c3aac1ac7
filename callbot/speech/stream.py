"""Recognition off the event loop: frames in from the call, typed events out to a consumer.

One :class:`ListeningSession` per listening call wraps its
:class:`~callbot.speech.recognizer.KeywordRecognizer`. The media loop :meth:`~ListeningSession.push`
es each received frame (never blocking); a worker task, owned by the session, hands whatever
frames have queued up to a thread of a small executor shared by the whole process, one batch
at a time (so a recognizer is only ever used by one thread at a time), and puts the events it
returns on a queue that the consumer reads with ``async for``. A slow batch does not stall the
loop, and when the executor falls behind the next batch simply holds more frames.

Cancellation is how barge-in by keypress and hangup stop listening: leaving the ``async with``
block (or :meth:`~ListeningSession.cancel`) cancels the worker, waits for the batch in flight
to return (bounded by one batch of audio, milliseconds), drops any events not yet read and
ends every ``async for`` over the session. No recognition runs after that, and nothing is
left for the garbage collector to complain about.

Usage::

    async with ListeningSession(KeywordRecognizer(model, intents)) as listening:
        ...  # the media loop calls listening.push(frame.pcm) for every AudioFrame
        async for event in listening:
            ...  # SpeechStarted (barge-in), then one SpeechResult / NoMatch / NoInput
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import AsyncIterator
from types import TracebackType
from typing import cast

import numpy as np
from numpy.typing import NDArray

from callbot.speech.errors import SessionClosed, SpeechInputError
from callbot.speech.events import Decision, NoInput, NoMatch, SpeechEvent, SpeechResult
from callbot.speech.recognizer import KeywordRecognizer
from dialer.rtp.session import AudioFrame

__all__ = ["ListeningSession", "shared_executor"]

_MAX_WORKERS = 4


class _Executors:
    """The process's speech executor, created on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None

    def get(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                workers = max(1, min(_MAX_WORKERS, os.cpu_count() or 1))
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=workers, thread_name_prefix="speech"
                )
            return self._executor


_EXECUTORS = _Executors()


def shared_executor() -> concurrent.futures.ThreadPoolExecutor:
    """The thread pool every listening session of this process runs recognition on.

    One thread per core (at most four): Vosk releases the GIL while it decodes, so streams
    spread over the cores, and more threads than cores would only add switching.
    """
    return _EXECUTORS.get()


_END = object()  # queued after the decision, or on cancel: ends every reader


class ListeningSession:
    """Run one recognizer off the event loop; see the module docstring.

    ``executor`` defaults to :func:`shared_executor`. Use as an async context manager (the
    session owns its worker task); :meth:`push` and :meth:`finish` are called from the loop.
    """

    def __init__(
        self,
        recognizer: KeywordRecognizer,
        *,
        executor: concurrent.futures.Executor | None = None,
    ) -> None:
        self.recognizer = recognizer
        self._executor = executor if executor is not None else shared_executor()
        self._frames: list[NDArray[np.int16]] = []
        self._finishing = False
        self._closed = False
        self._wakeup = asyncio.Event()
        self._events: asyncio.Queue[object] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._inflight: concurrent.futures.Future[list[SpeechEvent]] | None = None
        self.decided: Decision | None = None
        """The decision, once the worker has produced it."""

    async def __aenter__(self) -> ListeningSession:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.cancel()

    def start(self) -> None:
        """Start the worker (done by ``async with``)."""
        if self._worker is None and not self._closed:
            self._worker = asyncio.get_running_loop().create_task(
                self._run(), name="speech-listening"
            )

    @property
    def closed(self) -> bool:
        """True once the session has decided or was cancelled: pushed audio is dropped."""
        return self._closed or self.decided is not None

    def push(self, audio: AudioFrame | NDArray[np.int16]) -> None:
        """Queue one frame of the call's audio (an :class:`AudioFrame` or int16 samples)."""
        pcm = audio.pcm if isinstance(audio, AudioFrame) else audio
        if pcm.dtype != np.int16 or pcm.ndim != 1:
            raise SpeechInputError(f"audio frames must be mono int16, not {pcm.dtype} {pcm.shape}")
        if self.closed or self._finishing:
            return
        self._frames.append(pcm)
        self._wakeup.set()

    def finish(self) -> None:
        """The call's audio has ended: decide on what was heard (see
        :meth:`KeywordRecognizer.finish`)."""
        if not self.closed:
            self._finishing = True
            self._wakeup.set()

    async def cancel(self) -> None:
        """Stop listening now: barge-in by keypress, hangup, leaving the block."""
        if self._closed:
            return
        self._closed = True
        worker, self._worker = self._worker, None
        if worker is not None and not worker.done():
            worker.cancel()
        if worker is not None:
            await asyncio.wait([worker])
        inflight = self._inflight
        if inflight is not None and not inflight.done():
            # The batch cannot be interrupted inside Vosk; wait for it so no thread is still
            # using the recognizer when cancel() returns.
            await asyncio.wait([asyncio.wrap_future(inflight)])
        self._inflight = None
        self._frames.clear()
        while not self._events.empty():
            self._events.get_nowait()
        self._events.put_nowait(_END)

    async def __aiter__(self) -> AsyncIterator[SpeechEvent]:
        """Events in order, ending after the decision or when the session is cancelled.

        A failure of the recognizer is raised here.
        """
        while True:
            item = await self._events.get()
            if item is _END:
                self._events.put_nowait(_END)  # let other readers end too
                return
            if isinstance(item, BaseException):
                self._events.put_nowait(_END)
                raise item
            yield cast(SpeechEvent, item)

    async def decision(self) -> Decision:
        """Wait for the decision, skipping :class:`SpeechStarted` events.

        Raises :class:`SessionClosed` if the session is cancelled first.
        """
        async for event in self:
            if isinstance(event, SpeechResult | NoMatch | NoInput):
                return event
        raise SessionClosed("listening was cancelled before a decision")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                batch, self._frames = self._frames, []
                finishing = self._finishing
                job = self._executor.submit(self._recognize, batch, finishing)
                self._inflight = job
                events = await asyncio.wrap_future(job, loop=loop)
                self._inflight = None
                for event in events:
                    self._events.put_nowait(event)
                    if isinstance(event, SpeechResult | NoMatch | NoInput):
                        self.decided = event
                if self.decided is not None or finishing:
                    self._frames.clear()
                    self._events.put_nowait(_END)
                    return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # handed to the consumer, raised by its `async for`
            self._closed = True
            self._frames.clear()
            self._events.put_nowait(exc)
            self._events.put_nowait(_END)

    def _recognize(self, batch: list[NDArray[np.int16]], finishing: bool) -> list[SpeechEvent]:
        """Worker thread: feed one batch (and finish if asked)."""
        events: list[SpeechEvent] = []
        if batch:
            pcm = batch[0] if len(batch) == 1 else np.concatenate(batch)
            events.extend(self.recognizer.feed(pcm))
        if finishing:
            events.extend(self.recognizer.finish())
        return events
