"""One resilient HTTP session for both APIs: pacing, retries, typed errors, redaction, counters.

Why a layer of our own rather than urllib3's ``Retry`` or the vendors' SDKs: both vendors tell
how much room is left in their rate-limit headers, and the product must *use* that to slow down
before the limit (a Pipedrive token that keeps bouncing off 429s earns a Cloudflare block), must
never retry a write where a retry could send a record twice, and must never let a token reach a
message. None of the off-the-shelf retry helpers does all three.

What lives here is vendor-neutral. A hook describes its vendor through an :class:`ApiDialect`
(header names, error body shape, rate-limit buckets, what a spent budget or a block looks like);
the :class:`HttpClient` does the rest:

* **Pacing** (:class:`Pacer`): a rolling log of request times per rate-limit key, sized from the
  ``limit`` header, plus a hard stop until ``reset`` whenever the server says nothing remains.
  Shared by all threads (and all hooks) of one process that use the same credential.
* **Retries** (:class:`RetryPolicy`): connection errors, 5xx, 425 and 429, exponential backoff
  with jitter, bounded in attempts and elapsed time. A non-idempotent call is retried only where
  the server cannot have acted on it (the connection was never made, or it answered 425/429);
  otherwise the error says ``may_have_been_applied``.
* **Errors**: one class per kind a caller handles differently, each with the vendor's code,
  message and request id, and never a secret (see :mod:`pipedrive_brevo.redaction`).
* **Counters** (:class:`CallStats`): calls, retries, 429s and tokens spent, for the run summary.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from pipedrive_brevo.redaction import fingerprint, redact, register_secret

log = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
USER_AGENT = "pipedrive-brevo-airflow/1.0"


# ----------------------------------------------------------------------------------- errors
class ApiError(Exception):
    """An API call that did not succeed. Every field is safe to log: secrets are redacted.

    ``may_have_been_applied`` is True when the server may have acted on a write even though the
    call failed (a 5xx, a timeout or an unreadable answer after the request went out): the caller
    must check before sending it again.
    """

    def __init__(self, message: str, *, vendor: str = "", method: str = "", path: str = "",
                 status: int | None = None, code: str | None = None, vendor_message: str | None = None,
                 request_id: str | None = None, body: Any = None, retry_after: float | None = None,
                 may_have_been_applied: bool = False):
        super().__init__(redact(message))
        self.vendor = vendor
        self.method = method
        self.path = redact(path)
        self.status = status
        self.code = redact(code) if code else code
        self.vendor_message = redact(vendor_message) if vendor_message else vendor_message
        self.request_id = request_id
        self.body = body
        self.retry_after = retry_after
        self.may_have_been_applied = may_have_been_applied


class AuthError(ApiError):
    """401: the token, key or OAuth grant is wrong or expired (and a refresh did not help)."""


class PermissionDeniedError(ApiError):
    """403: the credential may not do this."""


class BlockedError(PermissionDeniedError):
    """403 from the vendor's firewall (an HTML page, not an API answer): the client is blocked.

    Pipedrive's Cloudflare blocks a token that kept sending after 429s. The client refuses to send
    anything more for a cool-down period, so a block is never made longer by our own requests.
    """


class NotFoundError(ApiError):
    """404: the record or route does not exist."""


class BadRequestError(ApiError):
    """Any other 4xx: the request is wrong; ``code`` and ``vendor_message`` say why. Not retried."""


class RateLimitedError(ApiError):
    """429s kept coming past the retry bound, or pacing would have to wait longer than allowed."""


class BudgetExhaustedError(ApiError):
    """The vendor's daily budget is spent: stop, checkpoint, and resume after the reset."""


class ServerError(ApiError):
    """5xx that persisted past the retry bound (or that was not retried: a write)."""


class TransportError(ApiError):
    """The connection failed or timed out and retrying did not help (or was not safe)."""


class InvalidResponseError(ApiError):
    """A 2xx whose body is unreadable (truncated, not JSON) or says it failed (``success: false``)."""


# ------------------------------------------------------------------------------ retry policy
@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. Tests pass tiny values; production keeps the defaults.

    The delay before retry ``n`` (1-based) is "equal jitter" exponential backoff: half of
    ``min(backoff_max_s, backoff_base_s * 2**(n-1))`` fixed plus up to the other half at random,
    so concurrent clients spread out but nobody retries at once.
    """

    max_attempts: int = 6  # tries in total, the first included
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    max_elapsed_s: float = 300.0  # no retry starts after this long since the first try
    max_429_retries: int = 3  # consecutive 429s tolerated per call before giving up

    def backoff(self, retry_number: int, rng: random.Random) -> float:
        ceiling = min(self.backoff_max_s, self.backoff_base_s * (2 ** max(0, retry_number - 1)))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


# ------------------------------------------------------------------------------- rate limits
@dataclass(frozen=True)
class RateLimit:
    """What one response's rate-limit headers said. ``reset_s`` is seconds from now."""

    limit: int | None
    remaining: int | None
    reset_s: float | None


@dataclass
class _KeyState:
    limit: int | None = None
    sent: deque[float] = field(default_factory=deque)
    blocked_until: float = 0.0


class Pacer:
    """Paces requests per rate-limit key so that the server never has to say 429.

    Two rules, both from the vendor's headers:

    1. a rolling log of the send times of the last ``limit`` requests per key: a request waits
       until the oldest of them is ``window_s`` (+ ``safety_s``) old. ``limit`` is learned from
       the ``limit`` header; until it is known nothing is held back.
    2. when the server answered 429, or a response says ``remaining`` is 0 while our own log
       does not explain it (someone else spends the same credential), nothing is sent on that
       key until ``reset`` has passed.

    ``safety_s`` covers the time between our clock reading and the server's, so the client's
    idea of a free slot is never earlier than the server's. Thread-safe.
    """

    def __init__(self, window_s: float, *, safety_s: float = 0.05, max_wait_s: float = 120.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.window_s = window_s
        self.safety_s = safety_s
        self.max_wait_s = max_wait_s
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._keys: dict[str, _KeyState] = {}

    def _state(self, key: str) -> _KeyState:
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _KeyState()
        return state

    def _wait_needed(self, state: _KeyState, now: float) -> float:
        horizon = now - self.window_s - self.safety_s
        while state.sent and state.sent[0] <= horizon:
            state.sent.popleft()
        until = state.blocked_until
        if state.limit is not None and len(state.sent) >= state.limit > 0:
            oldest_relevant = state.sent[len(state.sent) - state.limit]
            until = max(until, oldest_relevant + self.window_s + self.safety_s)
        return max(0.0, until - now)

    def acquire(self, key: str) -> float:
        """Wait until a request on ``key`` may go out and record it; returns the seconds waited.

        Raises :class:`RateLimitedError` instead of waiting longer than ``max_wait_s``, so a task
        stuck behind an hourly window gives up cleanly rather than sleeping for an hour.
        """
        waited = 0.0
        while True:
            with self._lock:
                state = self._state(key)
                now = self._clock()
                wait = self._wait_needed(state, now)
                if wait <= 0:
                    state.sent.append(now)
                    return waited
                if wait > self.max_wait_s:
                    raise RateLimitedError(
                        f"rate limit on {key!r}: the next free slot is {wait:.1f}s away, "
                        f"more than the {self.max_wait_s:.0f}s this client may wait",
                        retry_after=wait)
            self._sleep(wait)
            waited += wait

    def observe(self, key: str, limit: RateLimit | None, *, throttled: bool = False,
                fallback_wait_s: float = 1.0) -> None:
        """Learn from one response's headers; ``throttled`` when it was a 429."""
        with self._lock:
            state = self._state(key)
            now = self._clock()
            reset = limit.reset_s if limit is not None else None
            if limit is not None and limit.limit is not None:
                state.limit = limit.limit
            exhausted = limit is not None and limit.remaining is not None and limit.remaining <= 0
            if exhausted and not throttled and state.limit is not None:
                # Our own log already holds the next request back when it explains the empty
                # window; the header's reset (often rounded up to whole seconds) is only needed
                # when someone else spends the same credential.
                self._wait_needed(state, now)
                exhausted = len(state.sent) < state.limit
            if throttled or exhausted:
                pause = max(0.0, reset) if reset is not None else (fallback_wait_s if throttled else 0.0)
                state.blocked_until = max(state.blocked_until, now + pause + (self.safety_s if pause else 0.0))

    def snapshot(self, key: str) -> dict[str, Any]:
        """The learned state of one key (for tests and diagnostics)."""
        with self._lock:
            state = self._state(key)
            return {"limit": state.limit, "in_window": len(state.sent),
                    "blocked_for_s": max(0.0, state.blocked_until - self._clock())}


_shared_pacers: dict[str, Pacer] = {}
_shared_lock = threading.Lock()


def shared_pacer(base_url: str, secret: str, window_s: float, **kwargs: Any) -> Pacer:
    """The process-wide pacer for one credential at one server.

    Vendors count per token or key, so every hook in this process that uses the same credential
    against the same server must draw from one budget. The credential is keyed by fingerprint only.
    The first caller's settings (``max_wait_s``, ``safety_s``) apply to all who share it.
    """
    key = f"{base_url.rstrip('/')}|{fingerprint(secret)}|{window_s}"
    with _shared_lock:
        pacer = _shared_pacers.get(key)
        if pacer is None:
            pacer = _shared_pacers[key] = Pacer(window_s, **kwargs)
        return pacer


# ----------------------------------------------------------------------------------- counters
class CallStats:
    """Counts for the run summary: calls sent, retries, 429s received, vendor tokens spent."""

    FIELDS = ("calls", "retries", "http_429", "tokens", "throttle_wait_s")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, float] = dict.fromkeys(self.FIELDS, 0)

    def add(self, name: str, amount: float = 1) -> None:
        with self._lock:
            self._values[name] += amount

    def __getitem__(self, name: str) -> float:
        with self._lock:
            return self._values[name]

    def snapshot(self) -> dict[str, float]:
        with self._lock:
            values = dict(self._values)
        values["throttle_wait_s"] = round(values["throttle_wait_s"], 3)
        return values


# ------------------------------------------------------------------------------------ dialect
class ApiDialect:
    """What the layer must know about one vendor. Hooks subclass it; defaults are generic HTTP."""

    name = "API"
    limit_header: str | None = None
    remaining_header: str | None = None
    reset_header: str | None = None
    window_s: float = 1.0  # length of the rolling window the ``limit`` header counts in
    request_id_headers: tuple[str, ...] = ("x-request-id",)

    def rate_limit(self, headers: Mapping[str, str]) -> RateLimit | None:
        if not self.limit_header:
            return None
        limit = _int_or_none(headers.get(self.limit_header))
        remaining = _int_or_none(headers.get(self.remaining_header or ""))
        reset = _float_or_none(headers.get(self.reset_header or ""))
        if limit is None and remaining is None and reset is None:
            return None
        return RateLimit(limit, remaining, reset)

    def retry_after(self, headers: Mapping[str, str]) -> float | None:
        """Seconds to wait before retrying, if the server said so."""
        hinted = _float_or_none(headers.get("retry-after"))
        if hinted is not None:
            return hinted
        limit = self.rate_limit(headers)
        return limit.reset_s if limit is not None else None

    def request_id(self, headers: Mapping[str, str]) -> str | None:
        for name in self.request_id_headers:
            value = headers.get(name)
            if value:
                return value
        return None

    def error_detail(self, body: Any) -> tuple[str | None, str | None]:
        """``(code, message)`` from an error body."""
        if isinstance(body, dict):
            code = body.get("code")
            message = body.get("message") or body.get("error")
            return (str(code) if code is not None else None, str(message) if message is not None else None)
        return None, None

    def body_failure(self, body: Any) -> str | None:
        """For a 2xx body: the vendor's failure message when the body says the call failed."""
        return None

    def limit_key(self, method: str, path: str) -> str | None:
        """Which rate-limit bucket a request counts against; None: not rate-limited."""
        return "default"

    def is_budget_exhausted(self, status: int, headers: Mapping[str, str], cost: int) -> bool:
        return False

    def is_blocked(self, status: int, headers: Mapping[str, str], text: str) -> bool:
        return False

    def charges(self, status: int) -> bool:
        """Whether a response with this status spent the call's ``cost``."""
        return status < 500 and status != 429


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(float(value)) if value not in (None, "") else None
    except ValueError:
        return None


def _float_or_none(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


# --------------------------------------------------------------------------------------- auth
class Auth(Protocol):
    """Puts the credential on a request.

    ``refresh`` is called once after a 401 with the headers the refused request carried (so an
    implementation can tell whether another thread has already replaced that credential); it
    returns True when sending again may succeed.
    """

    def headers(self) -> dict[str, str]: ...

    def refresh(self, sent: Mapping[str, str]) -> bool: ...


class HeaderAuth:
    """A static credential in one header (Pipedrive ``x-api-token``, Brevo ``api-key``)."""

    def __init__(self, header: str, value: str):
        register_secret(value)
        self._header = header
        self._value = value

    def headers(self) -> dict[str, str]:
        return {self._header: self._value}

    def refresh(self, sent: Mapping[str, str]) -> bool:
        return False  # a static token cannot get better by asking again

    def __repr__(self) -> str:
        return f"HeaderAuth({self._header!r}, '***')"


# ----------------------------------------------------------------------------------- response
@dataclass
class ApiResponse:
    """A successful answer: status, headers, parsed JSON (or None) and the raw body."""

    status: int
    headers: Mapping[str, str]
    data: Any
    content: bytes
    request_id: str | None

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


_NOT_JSON = object()


# ------------------------------------------------------------------------------------- client
class HttpClient:
    """A pooled session against one API: paced, retried, typed errors, counted.

    ``base_url`` may be a callable so that an OAuth refresh can move the client to a new
    ``api_domain`` between calls.
    """

    def __init__(self, base_url: str | Callable[[], str], dialect: ApiDialect, auth: Auth | None, *,
                 pacer: Pacer | None = None, retry: RetryPolicy | None = None,
                 timeout: tuple[float, float] = (10.0, 60.0), pool_size: int = 8,
                 stats: CallStats | None = None, block_cooldown_s: float = 60.0,
                 rng: random.Random | None = None, sleep: Callable[[float], None] = time.sleep):
        self._base_url = base_url if callable(base_url) else (lambda: base_url)
        self.dialect = dialect
        self.auth = auth
        self.pacer = pacer if pacer is not None else Pacer(dialect.window_s)
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.stats = stats or CallStats()
        self.block_cooldown_s = block_cooldown_s
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._state_lock = threading.Lock()
        self._blocked_until = 0.0
        self._budget_exhausted: str | None = None
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = USER_AGENT

    @property
    def base_url(self) -> str:
        return self._base_url().rstrip("/")

    def close(self) -> None:
        self.session.close()

    # ------------------------------------------------------------------------------ the call
    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                json_body: Any = None, data: Any = None, files: Any = None,
                headers: Mapping[str, str] | None = None, idempotent: bool | None = None,
                cost: int = 0, expect_json: bool = True) -> ApiResponse:
        """Send one request, pacing and retrying as the policy allows; return the 2xx answer.

        ``path`` is relative to the base URL, or an absolute URL (an import report's download
        link). The credential goes only to the API's own host, never to a third-party URL.
        ``idempotent`` defaults from the method (GET/PUT/DELETE yes, POST/PATCH no). ``cost`` is
        the vendor's token price of the call, counted when the server charged it.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        payload = encode_json(json_body) if json_body is not None else data
        started = time.monotonic()
        attempt = 0
        throttled_in_a_row = 0
        refreshed = False
        while True:
            attempt += 1
            url, own_host = self._url(path)
            display = urlsplit(url).path
            self._refuse_if_stopped(method, display)
            key = self.dialect.limit_key(method, display) if own_host else None
            if key is not None:
                waited = self.pacer.acquire(key)
                if waited:
                    self.stats.add("throttle_wait_s", waited)
            send_headers = dict(headers or {})
            if json_body is not None:
                send_headers["Content-Type"] = "application/json"
            if own_host and self.auth is not None:
                send_headers.update(self.auth.headers())
            try:
                response = self.session.request(method, url, params=params, data=payload,
                                                files=files, headers=send_headers, timeout=self.timeout,
                                                allow_redirects=False)
            except requests.RequestException as exc:
                self.stats.add("calls")
                applied = not _never_reached_server(exc)
                error = TransportError(
                    f"{self.dialect.name} {method} {display} failed: {type(exc).__name__}: {exc}",
                    vendor=self.dialect.name, method=method, path=display,
                    may_have_been_applied=applied)
                if (idempotent or not applied) and self._may_retry(attempt, started):
                    self._pause_before_retry(attempt, None, error)
                    continue
                raise error from None
            self.stats.add("calls")
            outcome = self._evaluate(response, method, display, key, cost, expect_json, idempotent)
            if isinstance(outcome, ApiResponse):
                return outcome
            error, retryable, hint = outcome
            if isinstance(error, RateLimitedError):
                throttled_in_a_row += 1
                if throttled_in_a_row > self.retry.max_429_retries:
                    raise error
            else:
                throttled_in_a_row = 0
            if (isinstance(error, AuthError) and not refreshed and self.auth is not None
                    and self.auth.refresh(send_headers)):
                refreshed = True
                self.stats.add("retries")
                continue
            if retryable and self._may_retry(attempt, started):
                self._pause_before_retry(attempt, hint, error)
                continue
            raise error

    # -------------------------------------------------------------------------- internals
    def _url(self, path: str) -> tuple[str, bool]:
        base = self.base_url
        if path.startswith(("http://", "https://")):
            target, own = urlsplit(path), urlsplit(base)
            return path, (target.scheme, target.netloc) == (own.scheme, own.netloc)
        return base + (path if path.startswith("/") else "/" + path), True

    def _refuse_if_stopped(self, method: str, path: str) -> None:
        with self._state_lock:
            blocked_for = self._blocked_until - time.monotonic()
            budget = self._budget_exhausted
        if budget is not None:
            raise BudgetExhaustedError(
                f"{self.dialect.name} daily budget is spent ({budget}); not sending {method} {path}",
                vendor=self.dialect.name, method=method, path=path, status=429)
        if blocked_for > 0:
            raise BlockedError(
                f"{self.dialect.name} blocked this client; not sending {method} {path} "
                f"for another {blocked_for:.0f}s", vendor=self.dialect.name, method=method, path=path,
                status=403, retry_after=blocked_for)

    def _may_retry(self, attempt: int, started: float) -> bool:
        return attempt < self.retry.max_attempts and time.monotonic() - started < self.retry.max_elapsed_s

    def _pause_before_retry(self, attempt: int, hint: float | None, error: ApiError) -> None:
        delay = self.retry.backoff(attempt, self._rng)
        if hint is not None:
            # The server said when: wait that long (the pacer enforces it too), plus a little
            # jitter so that threads released together do not collide again.
            delay = hint + self._rng.uniform(0, self.retry.backoff_base_s / 2)
        self.stats.add("retries")
        log.warning("%s; retry %d of %d in %.2fs", error, attempt, self.retry.max_attempts - 1, delay)
        if delay > 0:
            self._sleep(delay)

    def _evaluate(self, response: requests.Response, method: str, path: str, key: str | None,
                  cost: int, expect_json: bool, idempotent: bool
                  ) -> ApiResponse | tuple[ApiError, bool, float | None]:
        """Turn one HTTP answer into a result, or into (error, may retry, seconds to wait)."""
        d = self.dialect
        status = response.status_code
        headers = response.headers
        content = response.content
        limit = d.rate_limit(headers)
        if status == 429:
            self.stats.add("http_429")
        if key is not None:
            self.pacer.observe(key, limit, throttled=status == 429, fallback_wait_s=self.retry.backoff_base_s)
        if d.charges(status):
            self.stats.add("tokens", cost)
        request_id = d.request_id(headers)
        body = _parse_json(content)
        base = {"vendor": d.name, "method": method, "path": path, "status": status, "request_id": request_id}
        rid = f" (request id {request_id})" if request_id else ""

        if 200 <= status < 300:
            if expect_json and content and body is _NOT_JSON:
                error = InvalidResponseError(
                    f"{d.name} {method} {path} answered {status} with a body that is not valid JSON "
                    f"({len(content)} bytes, {headers.get('content-type', 'no content type')}){rid}",
                    may_have_been_applied=not idempotent, **base)
                return error, idempotent, None
            parsed = None if body is _NOT_JSON else body
            failure = d.body_failure(parsed)
            if failure is not None:
                return InvalidResponseError(f"{d.name} {method} {path} answered {status} but the body says "
                                            f"it failed: {failure}{rid}", vendor_message=failure,
                                            body=parsed, **base), False, None
            return ApiResponse(status, headers, parsed, content, request_id)

        parsed = None if body is _NOT_JSON else body
        code, message = d.error_detail(parsed)
        if parsed is None and not message:
            message = _snippet(content)
        detail = f"{d.name} {method} {path} answered {status}"
        detail += f" {code}" if code else ""
        detail += f": {message}" if message else ""
        detail += rid
        fields = dict(base, code=code, vendor_message=message, body=parsed)

        if d.is_budget_exhausted(status, headers, cost):
            reason = message or "daily limit reached"
            with self._state_lock:
                self._budget_exhausted = reason
            return BudgetExhaustedError(detail + "; the daily budget is spent, resume after it resets",
                                        **fields), False, None
        if status == 429:
            hint = d.retry_after(headers)
            return RateLimitedError(detail, retry_after=hint, **fields), True, hint
        if d.is_blocked(status, headers, response.text if parsed is None else ""):
            with self._state_lock:
                self._blocked_until = time.monotonic() + self.block_cooldown_s
            return BlockedError(detail + "; the vendor's firewall blocked this client (too many requests "
                                "after 429s?); no request will be sent for "
                                f"{self.block_cooldown_s:.0f}s", **fields), False, None
        if status == 425:  # Too Early: by definition the server did not act on it
            return BadRequestError(detail, **fields), True, d.retry_after(headers)
        if status >= 500:
            return ServerError(detail, may_have_been_applied=not idempotent, **fields), idempotent, None
        if status == 401:
            return AuthError(detail, **fields), False, None
        if status == 403:
            return PermissionDeniedError(detail, **fields), False, None
        if status == 404:
            return NotFoundError(detail, **fields), False, None
        return BadRequestError(detail, **fields), False, None


def encode_json(obj: Any) -> bytes:
    """The exact bytes a JSON body is sent as: compact, UTF-8. Size limits are measured on these."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _parse_json(content: bytes) -> Any:
    if not content:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return _NOT_JSON


def _snippet(content: bytes, limit: int = 200) -> str | None:
    """The start of a non-JSON body, on one line, for an error message."""
    if not content:
        return None
    text = " ".join(content[:limit].decode("utf-8", errors="replace").split())
    return text + ("…" if len(content) > limit else "")


def _never_reached_server(exc: requests.RequestException) -> bool:
    """True when the request cannot have been received: the connection itself was not made."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        seen: set[int] = set()
        node: BaseException | None = exc
        while node is not None and id(node) not in seen:
            seen.add(id(node))
            if isinstance(node, ConnectionRefusedError) or type(node).__name__ in (
                    "NewConnectionError", "NameResolutionError"):
                return True
            nested = node.args[0] if node.args and isinstance(node.args[0], BaseException) else None
            reason = getattr(node, "reason", None)
            node = reason if isinstance(reason, BaseException) else nested or node.__cause__ or node.__context__
    return False
