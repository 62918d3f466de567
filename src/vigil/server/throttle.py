"""Failed sign-ins: after a few, each attempt waits; after more, attempts are refused (429).

Counted per agency and username, in this process, over a sliding window. A correct password
clears the count. Several server processes each keep their own count, so the limit is per
process; the refusal still caps guesses at a handful per window.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from datetime import timedelta


class LoginThrottle:
    def __init__(self, delay_after: int, refuse_after: int, window: timedelta, delay: float):
        self.delay_after = delay_after
        self.refuse_after = refuse_after
        self.window = window.total_seconds()
        self.delay = delay
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> int:
        failures = self._failures[key]
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return len(failures)

    def wait_before(self, key: str) -> float | None:
        """None when the attempt must be refused; otherwise seconds to wait before checking."""
        with self._lock:
            count = self._recent(key, time.monotonic())
        if count >= self.refuse_after:
            return None
        if count >= self.delay_after:
            return self.delay * (count - self.delay_after + 1)
        return 0.0

    def failed(self, key: str) -> None:
        with self._lock:
            self._failures[key].append(time.monotonic())

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
