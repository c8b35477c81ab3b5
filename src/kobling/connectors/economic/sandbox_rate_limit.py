"""The e-conomic simulator's standing rate limit: a sliding window of calls per agreement.

**A test device, not a fact about e-conomic.** Real e-conomic publishes no per-second limit and
no rate-limit headers; its only rule is fair use, 50,000 API calls per agreement per 24 hours,
after which it e-mails the super-user and may restrict the integration (fact sheet
``shared/reference/apis/e-conomic.md`` §11). The simulator offers a much tighter limit, answered
with 429 and ``Retry-After`` as the fact sheet suggests for the simulator, so that tests and
benchmarks can show that Kobling paces its calls instead of running into the wall.

A request beyond ``calls`` within the last ``period`` seconds of the same agreement (grant
token) is refused before anything happens; refused requests do not count towards the window.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable


class SlidingWindowLimit:
    """At most ``calls`` requests per agreement in any ``period`` seconds; off by default."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._calls: int | None = None
        self._period = 60.0
        self._windows: dict[str, deque[float]] = {}
        self.rate_limited = 0

    @property
    def calls(self) -> int | None:
        return self._calls

    @property
    def period(self) -> float:
        return self._period

    def configure(self, calls: int | None, period: float = 60.0) -> None:
        """Allow ``calls`` per ``period`` seconds per agreement; ``None`` or 0 switches it off."""
        if calls is not None and (isinstance(calls, bool) or calls < 0):
            raise ValueError("calls must be a whole number of at least 0 (0 or None: no limit)")
        if not period > 0:
            raise ValueError("period must be more than 0 seconds")
        with self._lock:
            self._calls = calls or None
            self._period = float(period)
            self._windows.clear()

    def reset(self) -> None:
        """No limit, no history, no refusals counted."""
        self.configure(None)
        with self._lock:
            self.rate_limited = 0

    def admit(self, agreement: str) -> int | None:
        """Count one request of ``agreement``; ``None`` if allowed, else the seconds to wait.

        The wait is how long until the oldest call in the window leaves it, rounded up to whole
        seconds (``Retry-After`` carries whole seconds), and at least 1.
        """
        with self._lock:
            if self._calls is None:
                return None
            now = self._clock()
            window = self._windows.setdefault(agreement, deque())
            while window and window[0] <= now - self._period:
                window.popleft()
            if len(window) < self._calls:
                window.append(now)
                return None
            self.rate_limited += 1
            return max(1, math.ceil(window[0] + self._period - now))
