"""Measuring probes shared by the benchmark workers: garbage-collector pauses and event-loop
stalls, both recorded only while switched on."""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any


class GcPauses:
    """Garbage-collector pauses (count and longest, per generation) while ``recording``.

    :meth:`start` installs it in ``gc.callbacks``, :meth:`stop` removes it."""

    def __init__(self) -> None:
        self.recording = False
        self.count = [0, 0, 0]
        self.longest_ms = [0.0, 0.0, 0.0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self.recording:
            generation = info["generation"]
            self.count[generation] += 1
            self.longest_ms[generation] = max(self.longest_ms[generation], (time.perf_counter() - self._started) * 1000)

    def start(self) -> None:
        gc.callbacks.append(self)
        self.recording = True

    def stop(self) -> None:
        self.recording = False
        if self in gc.callbacks:
            gc.callbacks.remove(self)

    def report(self) -> dict[str, Any]:
        return {"collections": list(self.count), "longest_ms": [round(x, 2) for x in self.longest_ms]}


class LoopStalls:
    """How late a task that sleeps ``interval`` seconds wakes up: the longest time the event
    loop was busy (or the process descheduled) without yielding, and how often it exceeded
    ``threshold``."""

    def __init__(self, interval: float = 0.005, threshold: float = 0.050) -> None:
        self.interval, self.threshold = interval, threshold
        self.longest = 0.0
        self.over = 0
        self.worst: list[tuple[float, float]] = []  # (seconds since start, stall), at most 10
        self._task: asyncio.Task[None] | None = None
        self._started = 0.0

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        self._started = loop.time()
        while True:
            before = loop.time()
            await asyncio.sleep(self.interval)
            late = loop.time() - before - self.interval
            self.longest = max(self.longest, late)
            if late > self.threshold:
                self.over += 1
                self.worst = sorted([*self.worst, (before - self._started, late)], key=lambda w: -w[1])[:10]

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-stalls")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def report(self) -> dict[str, Any]:
        return {
            "longest_ms": round(self.longest * 1000, 2),
            f"over_{self.threshold * 1000:g}ms": self.over,
            "worst_at_s_ms": [(round(at, 2), round(late * 1000, 1)) for at, late in sorted(self.worst)],
        }
