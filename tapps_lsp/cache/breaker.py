"""The team cache's circuit breaker: a dead Redis costs nothing, a restarted one is used again."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


@dataclass
class Breaker:
    """Closed (calls go through), open (none until `retry_at`), half-open (one trial call)."""

    base: float = 1.0
    cap: float = 60.0
    state: str = "closed"
    failures: int = 0
    retry_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def allow(self) -> bool:
        """Whether a call may go out now (an open breaker past its backoff lets one through)."""
        with self._lock:
            if self.state == "closed":
                return True
            if self.state == "open" and time.monotonic() >= self.retry_at:
                self.state = "half-open"
                return True
            return False

    def ready(self) -> bool:
        """`allow` without taking the trial call."""
        return self.state == "closed" or (
            self.state == "open" and time.monotonic() >= self.retry_at
        )

    def success(self) -> bool:
        """Record a call that worked; True when it closed an open breaker."""
        with self._lock:
            reopened = self.state != "closed"
            self.state, self.failures = "closed", 0
            return reopened

    def failure(self) -> None:
        """Record a fault: open, for twice as long as last time (up to `cap`)."""
        with self._lock:
            self.failures += 1
            backoff = min(self.cap, self.base * 2 ** (self.failures - 1))
            self.retry_at = time.monotonic() + backoff
            self.state = "open"

    def describe(self) -> str:
        """The state, with the seconds until the next trial when open."""
        if self.state == "open":
            return f"open (retry in {max(0.0, self.retry_at - time.monotonic()):.1f} s)"
        return self.state
