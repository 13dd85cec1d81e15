"""Pipedrive's token-based rate limiting: burst windows per token, one daily budget per company.

research/pipedrive-api.md §3, as the sandbox applies it to every authenticated API request:

1. A token blocked by "Cloudflare" gets a 403 HTML page until the block ends.
2. **Burst:** at most N requests per token in a rolling window (2 s; N by plan and auth type,
   10 for search endpoints). Over it: 429.
3. **Daily budget:** each request charges its operation's ``x-token-cost`` to the company's
   budget (30,000 x plan multiplier x seats), which resets at midnight UTC. Once it is spent:
   429 with ``x-daily-ratelimit-token-remaining: 0``. The request that crosses zero is still
   served (its cost is known only once it is admitted); every later one is refused.
4. A token answered 429 more than ``block_after_429s`` times within ``block_window_seconds`` is
   blocked for ``block_seconds``: "never keep hammering after 429s".

Refused requests are not charged. Every admitted or refused request gets the headers
``x-ratelimit-limit/-remaining/-reset`` (reset: whole seconds until the window frees a slot,
0 while one is free) and ``x-daily-ratelimit-token-limit/-remaining``.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.pipedrive import times
from sandbox.pipedrive.config import PipedriveConfig

OK, BURST, BUDGET, BLOCKED = "ok", "burst", "budget", "blocked"


@dataclass(frozen=True)
class Caller:
    """Who sends a request: the rate-limit identity, never the secret itself."""

    kind: str  # "api_token" | "oauth"
    label: str  # "api_token:1" (position in the config) | "oauth:2" (grant number)
    user_id: int


@dataclass
class TokenUsage:
    kind: str
    requests: int = 0  # admitted requests
    tokens_spent: int = 0
    responses_429: int = 0
    responses_403: int = 0
    blocked_until: float = 0.0
    window: deque[float] = field(default_factory=deque)
    search_window: deque[float] = field(default_factory=deque)
    recent_429s: deque[float] = field(default_factory=deque)

    def report(self, now: float) -> dict[str, Any]:
        return {"kind": self.kind, "requests": self.requests, "tokens_spent": self.tokens_spent,
                "responses_429": self.responses_429, "responses_403": self.responses_403,
                "blocked": self.blocked_until > now,
                "blocked_for_seconds": max(0.0, round(self.blocked_until - now, 3))}


@dataclass(frozen=True)
class Decision:
    outcome: str  # OK | BURST | BUDGET | BLOCKED
    headers: dict[str, str]


class RateLimiter:
    """Burst windows, the daily budget and Cloudflare blocks of one company account."""

    def __init__(self, config: PipedriveConfig, clock: Callable[[], float]):
        self.config = config
        self.clock = clock
        self._lock = threading.Lock()
        self._usage: dict[str, TokenUsage] = {}
        self._spent = 0
        self._day = times.utc_day(clock())

    def admit(self, caller: Caller, cost: int, *, search: bool = False) -> Decision:
        """Decide one request and charge it when admitted."""
        config = self.config
        enforce = config.limits_enabled
        with self._lock:
            now = self.clock()
            self._roll_day(now)
            usage = self._usage.setdefault(caller.label, TokenUsage(caller.kind))
            if enforce and usage.blocked_until > now:
                usage.responses_403 += 1
                return Decision(BLOCKED, {})
            window = usage.search_window if search else usage.window
            limit = config.search_burst_limit if search else config.burst_limit_for(caller.kind)
            while window and window[0] <= now - config.burst_window_seconds:
                window.popleft()
            budget = config.effective_daily_budget
            if enforce and len(window) >= limit:
                outcome = BURST
            elif enforce and self._spent >= budget:
                outcome = BUDGET
            else:
                outcome = OK
                window.append(now)
                usage.requests += 1
                usage.tokens_spent += cost
                self._spent += cost
            if outcome != OK:
                self._note_429(usage, now)
            remaining = max(0, limit - len(window))
            reset = 0 if remaining else math.ceil(window[0] + config.burst_window_seconds - now)
            headers = {"x-ratelimit-limit": str(limit), "x-ratelimit-remaining": str(remaining),
                       "x-ratelimit-reset": str(max(reset, 0)), **self._daily_headers(budget)}
            return Decision(outcome, headers)

    def daily_headers(self) -> dict[str, str]:
        """The company's budget headers, for answers that belong to no token (a 401)."""
        with self._lock:
            self._roll_day(self.clock())
            return self._daily_headers(self.config.effective_daily_budget)

    def _daily_headers(self, budget: int) -> dict[str, str]:
        return {"x-daily-ratelimit-token-limit": str(budget),
                "x-daily-ratelimit-token-remaining": str(max(0, budget - self._spent))}

    def _note_429(self, usage: TokenUsage, now: float) -> None:
        usage.responses_429 += 1
        recent = usage.recent_429s
        recent.append(now)
        while recent and recent[0] <= now - self.config.block_window_seconds:
            recent.popleft()
        if len(recent) > self.config.block_after_429s:
            usage.blocked_until = now + self.config.block_seconds
            recent.clear()

    def _roll_day(self, now: float) -> None:
        day = times.utc_day(now)
        if day != self._day:
            self._day, self._spent = day, 0

    # ----------------------------------------------------------------- admin
    def reset_budget(self) -> None:
        with self._lock:
            self._spent = 0

    def reset(self) -> None:
        """Forget all usage: spent budget, windows, 429 history and blocks."""
        with self._lock:
            self._usage.clear()
            self._spent = 0

    def report(self) -> dict[str, Any]:
        with self._lock:
            now = self.clock()
            self._roll_day(now)
            budget = self.config.effective_daily_budget
            return {"plan": self.config.plan, "limits_enabled": self.config.limits_enabled, "day": self._day,
                    "daily_budget": budget, "tokens_spent": self._spent,
                    "budget_remaining": max(0, budget - self._spent),
                    "tokens": {label: usage.report(now) for label, usage in sorted(self._usage.items())}}
