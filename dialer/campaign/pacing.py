"""Pacing: at most R new calls per second and at most N calls at once, per campaign and per
trunk. Sans-I/O: the caller passes the time and asks what it may do; nothing sleeps here.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """``rate`` new calls per second, with bursts of at most ``burst`` (default: one second's
    worth, at least 1). Time only moves forward; a clock going backwards is ignored."""

    rate: float
    burst: float | None = None
    tokens: float = field(init=False)
    updated: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise ValueError(f"calls per second must be positive, got {self.rate}")
        if self.burst is None:
            self.burst = max(1.0, self.rate)
        self.tokens = self.burst

    def _refill(self, now: float) -> None:
        assert self.burst is not None
        if self.updated is not None and now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        if self.updated is None or now > self.updated:
            self.updated = now

    def available(self, now: float) -> int:
        self._refill(now)
        return int(self.tokens + 1e-9)

    def take(self, now: float, count: int = 1) -> None:
        self._refill(now)
        if self.tokens + 1e-9 < count:
            raise ValueError(f"only {self.tokens:.2f} call starts are available now, not {count}")
        self.tokens -= count

    def next_available(self, now: float) -> float:
        """When the next call may start (``now`` if one may start already)."""
        self._refill(now)
        if self.tokens + 1e-9 >= 1:
            return now
        return now + (1 - self.tokens) / self.rate


@dataclass
class Limit:
    """One scope's limits (a campaign, or a trunk shared by campaigns)."""

    max_concurrent: int
    calls_per_second: float
    active: int = 0
    bucket: TokenBucket = field(init=False)

    def __post_init__(self) -> None:
        if self.max_concurrent < 1:
            raise ValueError(f"max concurrent calls must be at least 1, got {self.max_concurrent}")
        self.bucket = TokenBucket(self.calls_per_second)

    def room(self, now: float) -> int:
        return max(0, min(self.max_concurrent - self.active, self.bucket.available(now)))


class Pacer:
    """Combines the limits of every scope a call counts against (campaign and trunk)."""

    def __init__(self, *limits: Limit) -> None:
        if not limits:
            raise ValueError("a pacer needs at least one limit")
        self.limits = limits

    def room(self, now: float) -> int:
        """How many calls may start now."""
        return min(limit.room(now) for limit in self.limits)

    def started(self, now: float, count: int = 1) -> None:
        for limit in self.limits:
            limit.bucket.take(now, count)
            limit.active += count

    def finished(self, count: int = 1) -> None:
        for limit in self.limits:
            limit.active = max(0, limit.active - count)

    def next_start(self, now: float) -> float | None:
        """When a call could next start, or None while every line is busy (wait for a call
        to finish)."""
        if any(limit.active >= limit.max_concurrent for limit in self.limits):
            return None
        return max(limit.bucket.next_available(now) for limit in self.limits)
