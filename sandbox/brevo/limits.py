"""Brevo's per-endpoint rate limits, counted per API key and bucket.

Brevo limits requests per second and per hour, per group of endpoints ("when both apply, you must
respect both simultaneously"), and tells the client where it stands on every rate-limited response
with ``x-sib-ratelimit-limit``, ``x-sib-ratelimit-remaining`` and ``x-sib-ratelimit-reset``
(seconds until the window resets). No ``Retry-After`` is sent. The sandbox reports the window that
binds first: the one with the fewest requests left (on a tie, the one that resets later), so a
client that obeys the headers never sees a 429.

Buckets (research/brevo-api.md §7): every ``/v3/contacts...`` path is the *contacts* bucket;
``/v3/events`` is the *events* bucket. ``POST /v3/events/batch`` is not in Brevo's published table;
the sandbox counts it in the events bucket too, the natural reading of a path under ``/events``,
so a client must pace batches by the same headers. Everything else (companies, crm, processes,
webhooks) is the *other* bucket, 100 requests per hour on the General tier.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sandbox.brevo.config import CONTACTS_BUCKET, EVENTS_BUCKET, OTHER_BUCKET, Window


def bucket_of(path: str) -> str:
    """The rate-limit bucket of a request path such as ``/v3/contacts/import``."""
    if path == "/v3/contacts" or path.startswith("/v3/contacts/"):
        return CONTACTS_BUCKET
    if path == "/v3/events" or path.startswith("/v3/events/"):
        return EVENTS_BUCKET
    return OTHER_BUCKET


@dataclass(frozen=True)
class Verdict:
    """Whether a request fits, and the window to report in the headers."""

    allowed: bool
    limit: int
    remaining: int
    reset_s: float

    def headers(self) -> dict[str, str]:
        return {
            "x-sib-ratelimit-limit": str(self.limit),
            "x-sib-ratelimit-remaining": str(self.remaining),
            "x-sib-ratelimit-reset": str(max(0, math.ceil(self.reset_s))),
        }


class RateLimiter:
    """Fixed windows that start with their first request, per (api key, bucket)."""

    def __init__(self, windows_of: Callable[[str], tuple[Window, ...]],
                 clock: Callable[[], float] = time.monotonic):
        self._windows_of = windows_of
        self._clock = clock
        self._lock = threading.Lock()
        # (key, bucket) -> (the windows counted, [[window start, count], ...])
        self._state: dict[tuple[str, str], tuple[tuple[Window, ...], list[list[float]]]] = {}

    def reset(self) -> None:
        with self._lock:
            self._state.clear()

    def check(self, key: str, bucket: str) -> Verdict | None:
        """Count one request if it fits every window; None when the bucket has no limit."""
        windows = self._windows_of(bucket)
        if not windows:
            return None
        now = self._clock()
        with self._lock:
            counted, counters = self._state.get((key, bucket), ((), []))
            if counted != windows:  # first request, or the limits were changed: start afresh
                counters = [[now, 0] for _ in windows]
                self._state[(key, bucket)] = (windows, counters)
            for window, counter in zip(windows, counters, strict=True):
                if now >= counter[0] + window.seconds:
                    counter[0], counter[1] = now, 0
            allowed = all(counter[1] < window.limit for window, counter in zip(windows, counters, strict=True))
            if allowed:
                for counter in counters:
                    counter[1] += 1
            states = [(window.limit, int(window.limit - counter[1]), counter[0] + window.seconds - now)
                      for window, counter in zip(windows, counters, strict=True)]
        if allowed:
            limit, remaining, reset = min(states, key=lambda s: (s[1], -s[2]))
        else:
            limit, remaining, reset = max((s for s in states if s[1] <= 0), key=lambda s: s[2])
        return Verdict(allowed, limit, max(0, remaining), reset)
