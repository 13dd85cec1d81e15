"""The shared HTTP layer against small ad-hoc sandbox apps that answer exactly what a test needs."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

import pytest
import requests

from pipedrive_brevo.http import (
    ApiDialect,
    AuthError,
    BadRequestError,
    BlockedError,
    BudgetExhaustedError,
    HeaderAuth,
    HttpClient,
    InvalidResponseError,
    NotFoundError,
    Pacer,
    PermissionDeniedError,
    RateLimit,
    RateLimitedError,
    RetryPolicy,
    ServerError,
    TransportError,
)
from pipedrive_brevo.redaction import redact, register_secret
from sandbox.server import App, Request, Response

SECRET = "tok-0123456789-secret"
FAST = RetryPolicy(max_attempts=4, backoff_base_s=0.01, backoff_max_s=0.05, max_elapsed_s=5, max_429_retries=2)


class Dialect(ApiDialect):
    """A made-up vendor: ``x-rl-*`` headers over a rolling window, ``{"code","message"}`` errors."""

    name = "Test API"
    limit_header, remaining_header, reset_header = "x-rl-limit", "x-rl-remaining", "x-rl-reset"
    request_id_headers = ("x-req",)
    window_s = 0.5

    def limit_key(self, method: str, path: str) -> str | None:
        return "main"

    def is_budget_exhausted(self, status, headers, cost) -> bool:
        return status == 429 and headers.get("x-budget-left") == "0"

    def is_blocked(self, status, headers, text) -> bool:
        return status == 403 and "Access denied" in text


def client_for(srv, *, retry: RetryPolicy = FAST, auth=None, **kwargs) -> HttpClient:
    return HttpClient(srv.url, Dialect(), auth or HeaderAuth("x-token", SECRET), retry=retry,
                      timeout=(2.0, 2.0), **kwargs)


def scripted(*answers: Response | int) -> tuple[App, list[Request]]:
    """An app whose every route answers the scripted responses in turn (the last one repeats)."""
    app = App("scripted")
    seen: list[Request] = []
    queue = deque(Response.json({"n": a}) if isinstance(a, int) else a for a in answers)

    def handle(request: Request) -> Response:
        seen.append(request)
        return queue.popleft() if len(queue) > 1 else queue[0]

    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        app.route(method, "/{path}")(handle)
        app.route(method, "/{a}/{b}")(handle)
    return app, seen


def err(status: int, code: str = "bad", message: str = "nope", headers: dict[str, str] | None = None) -> Response:
    return Response.json({"code": code, "message": message}, status=status, headers=headers)


# ------------------------------------------------------------------------------ pacing (unit)
class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def test_pacer_holds_back_the_request_past_the_learned_limit_until_the_oldest_leaves_the_window():
    clock = FakeClock()
    pacer = Pacer(2.0, safety_s=0.05, clock=clock, sleep=clock.sleep)
    assert pacer.acquire("k") == 0  # limit unknown: nothing held back
    pacer.observe("k", RateLimit(limit=3, remaining=2, reset_s=2))
    clock.now += 0.5
    assert pacer.acquire("k") == 0  # t=100.5
    clock.now += 0.5
    assert pacer.acquire("k") == 0  # t=101.0: three in the window now
    # The fourth may go when the first (t=100.0) is 2.0 + 0.05 old: at 102.05, i.e. 1.05 s from now.
    assert pacer.acquire("k") == pytest.approx(1.05)
    assert clock.now == pytest.approx(102.05)
    # The fifth waits for the second (t=100.5): 102.55.
    assert pacer.acquire("k") == pytest.approx(0.5)


def test_pacer_stops_until_reset_when_the_server_says_none_remain_for_reasons_of_its_own():
    clock = FakeClock()
    pacer = Pacer(2.0, safety_s=0.05, clock=clock, sleep=clock.sleep)
    pacer.acquire("k")
    # Our log has 1 of 20, yet the server says 0 remain: someone else spends the token.
    pacer.observe("k", RateLimit(limit=20, remaining=0, reset_s=1.5))
    assert pacer.acquire("k") == pytest.approx(1.55)
    # Other keys (buckets) are unaffected.
    assert pacer.acquire("other") == 0


def test_pacer_does_not_add_the_rounded_up_reset_when_its_own_log_explains_the_empty_window():
    clock = FakeClock()
    pacer = Pacer(1.0, safety_s=0.05, clock=clock, sleep=clock.sleep)
    pacer.observe("k", RateLimit(limit=2, remaining=2, reset_s=1))
    pacer.acquire("k")
    pacer.acquire("k")
    clock.now += 0.1
    pacer.observe("k", RateLimit(limit=2, remaining=0, reset_s=1))  # "1" is 0.9 s rounded up
    assert pacer.acquire("k") == pytest.approx(0.95)  # 100 + 1.0 + 0.05 - 100.1


def test_pacer_after_a_429_waits_the_reset_and_refuses_a_wait_longer_than_allowed():
    clock = FakeClock()
    pacer = Pacer(1.0, safety_s=0.0, max_wait_s=10, clock=clock, sleep=clock.sleep)
    pacer.observe("k", RateLimit(limit=None, remaining=None, reset_s=None), throttled=True, fallback_wait_s=0.7)
    assert pacer.acquire("k") == pytest.approx(0.7)
    pacer.observe("k", RateLimit(limit=10, remaining=0, reset_s=3600), throttled=True)
    with pytest.raises(RateLimitedError) as info:
        pacer.acquire("k")
    assert info.value.retry_after == pytest.approx(3600)
    assert clock.sleeps == [0.7]


# ------------------------------------------------------------------------- retries and errors
def test_get_is_retried_through_5xx_and_counted(serve):
    app, seen = scripted(err(503), err(500), 7)
    client = client_for(serve(app))
    response = client.request("GET", "/things", cost=10)
    assert response.data == {"n": 7}
    assert len(seen) == 3
    assert client.stats.snapshot() == {"calls": 3, "retries": 2, "http_429": 0, "tokens": 10, "throttle_wait_s": 0}


def test_post_is_not_retried_after_a_5xx_because_the_server_may_have_acted(serve):
    app, seen = scripted(err(502, message="Bad gateway"), 1)
    client = client_for(serve(app))
    with pytest.raises(ServerError) as info:
        client.request("POST", "/things", json_body={"a": 1})
    assert len(seen) == 1
    assert info.value.status == 502 and info.value.may_have_been_applied
    assert "Bad gateway" in str(info.value)


def test_post_declared_idempotent_is_retried_after_a_5xx(serve):
    app, seen = scripted(err(500), 1)
    client = client_for(serve(app))
    assert client.request("POST", "/things", json_body={}, idempotent=True).data == {"n": 1}
    assert len(seen) == 2


def test_post_is_retried_after_429_and_425_because_the_server_did_not_act(serve):
    app, seen = scripted(err(429, headers={"x-rl-reset": "0"}), err(425, "too_early"), 5)
    client = client_for(serve(app))
    assert client.request("POST", "/things", json_body={"a": 1}).data == {"n": 5}
    assert len(seen) == 3
    assert (client.stats["http_429"], client.stats["retries"]) == (1, 2)


def test_a_429_storm_ends_in_rate_limited_error_after_the_bounded_retries(serve):
    app, seen = scripted(err(429, "too_many_requests", "slow down", headers={"x-rl-reset": "0"}))
    client = client_for(serve(app))
    with pytest.raises(RateLimitedError) as info:
        client.request("GET", "/things")
    # max_429_retries=2: the first answer plus two retries, then the third 429 is final.
    assert len(seen) == 3
    assert client.stats["http_429"] == 3
    assert info.value.status == 429 and info.value.code == "too_many_requests"


def test_retries_stop_at_max_attempts(serve):
    app, seen = scripted(err(500))
    client = client_for(serve(app))
    with pytest.raises(ServerError):
        client.request("GET", "/things")
    assert len(seen) == FAST.max_attempts
    assert client.stats["retries"] == FAST.max_attempts - 1


@pytest.mark.parametrize(("status", "kind"), [(400, BadRequestError), (401, AuthError), (403, PermissionDeniedError),
                                              (404, NotFoundError), (422, BadRequestError)])
def test_client_errors_are_typed_and_carry_the_vendor_code_message_and_request_id(serve, status, kind):
    app, seen = scripted(err(status, "invalid_parameter", "Invalid email", headers={"x-req": "req-42"}))
    client = client_for(serve(app))
    with pytest.raises(kind) as info:
        client.request("GET", "/contacts/x")
    error = info.value
    assert len(seen) == 1  # never retried
    assert (error.status, error.code, error.vendor_message, error.request_id) == (
        status, "invalid_parameter", "Invalid email", "req-42")
    assert str(error) == f"Test API GET /contacts/x answered {status} invalid_parameter: Invalid email (request id req-42)"


def test_truncated_body_of_a_get_is_retried(serve):
    app, seen = scripted(Response(200, b'{"items": [1, 2', {"Content-Type": "application/json"}), 3)
    client = client_for(serve(app))
    assert client.request("GET", "/things").data == {"n": 3}
    assert len(seen) == 2


def test_unreadable_answer_to_a_post_is_an_error_that_says_it_may_have_been_applied(serve):
    app, seen = scripted(Response.text("<html>hiccup</html>", content_type="text/html"), 1)
    client = client_for(serve(app))
    with pytest.raises(InvalidResponseError) as info:
        client.request("POST", "/things", json_body={})
    assert len(seen) == 1 and info.value.may_have_been_applied


def test_connection_refused_is_retried_even_for_a_post_and_then_reported(serve):
    srv = serve(App("gone"))
    client = client_for(srv)
    srv.stop()
    with pytest.raises(TransportError) as info:
        client.request("POST", "/things", json_body={})
    assert not info.value.may_have_been_applied
    assert client.stats["calls"] == FAST.max_attempts


def test_a_read_timeout_retries_a_get_but_not_a_post(serve):
    app, _ = scripted(1)
    app.faults.latency_ms = 400
    client = HttpClient(serve(app).url, Dialect(), None, retry=FAST, timeout=(1.0, 0.1))
    with pytest.raises(TransportError):
        client.request("GET", "/things")
    assert client.stats["calls"] == FAST.max_attempts
    post_client = HttpClient(client.base_url, Dialect(), None, retry=FAST, timeout=(1.0, 0.1))
    with pytest.raises(TransportError) as info:
        post_client.request("POST", "/things", json_body={})
    assert post_client.stats["calls"] == 1 and info.value.may_have_been_applied


def test_spent_budget_stops_the_client_without_sending_again(serve):
    app, seen = scripted(err(429, message="Daily limit reached", headers={"x-budget-left": "0"}), 1)
    client = client_for(serve(app))
    with pytest.raises(BudgetExhaustedError):
        client.request("GET", "/persons")
    with pytest.raises(BudgetExhaustedError):
        client.request("GET", "/persons")
    assert len(seen) == 1


def test_a_firewall_block_is_reported_as_such_and_nothing_more_is_sent(serve):
    page = Response.text("<html><title>Access denied | Cloudflare</title></html>", status=403,
                         content_type="text/html")
    app, seen = scripted(page, 1)
    client = client_for(serve(app), block_cooldown_s=30)
    with pytest.raises(BlockedError) as info:
        client.request("GET", "/persons")
    assert "firewall" in str(info.value) and "Access denied" in str(info.value)
    with pytest.raises(BlockedError):
        client.request("GET", "/persons")
    assert len(seen) == 1


def test_a_401_asks_the_auth_to_refresh_once_and_retries(serve):
    class Rotating:
        def __init__(self) -> None:
            self.token, self.refreshes = "old-token-value", 0

        def headers(self) -> dict[str, str]:
            return {"Authorization": f"Bearer {self.token}"}

        def refresh(self, sent) -> bool:
            assert sent["Authorization"] == f"Bearer {self.token}"  # the refused request's headers
            self.refreshes += 1
            self.token = "new-token-value"
            return True

    app = App("auth")
    app.route("GET", "/me")(lambda r: Response.json({"ok": True}) if r.header("authorization") == "Bearer new-token-value"
                            else err(401, "unauthorized", "expired"))
    auth = Rotating()
    client = client_for(serve(app), auth=auth)
    assert client.request("GET", "/me").data == {"ok": True}
    assert auth.refreshes == 1
    auth.token = "revoked-token"
    auth.refresh = lambda sent: False  # type: ignore[method-assign]
    with pytest.raises(AuthError):
        client.request("GET", "/me")


def test_the_credential_goes_only_to_the_api_own_host(serve):
    app, seen = scripted(1)
    other, other_seen = scripted(2)
    srv, other_srv = serve(app), serve(other)
    client = client_for(srv)
    client.request("GET", "/x")
    client.request("GET", other_srv.url + "/report.csv", expect_json=False)
    client.request("GET", srv.url + "/y/z")
    assert seen[0].header("x-token") == SECRET
    assert other_seen[0].header("x-token") is None
    assert seen[1].header("x-token") == SECRET


# ----------------------------------------------------------------------------- pacing (live)
def rolling_limited_app(limit: int, window_s: float) -> tuple[App, dict[str, int]]:
    """A server that allows ``limit`` requests per rolling window and says so in its headers."""
    app = App("limited")
    sent: deque[float] = deque()
    lock = threading.Lock()
    tally = {"ok": 0, "429": 0}

    def middleware(request: Request, nxt) -> Response:
        with lock:
            now = time.monotonic()
            while sent and sent[0] <= now - window_s:
                sent.popleft()
            allowed = len(sent) < limit
            if allowed:
                sent.append(now)
            reset = (sent[0] + window_s - now) if sent else 0
            headers = {"x-rl-limit": str(limit), "x-rl-remaining": str(limit - len(sent)),
                       "x-rl-reset": f"{max(0.0, reset):.3f}"}
            tally["ok" if allowed else "429"] += 1
        response = nxt(request) if allowed else err(429, headers={})
        response.headers.update(headers)
        return response

    app.middlewares.append(middleware)
    app.route("GET", "/page")(lambda r: Response.json({"ok": True}))
    return app, tally


def test_pacing_keeps_a_sequential_loop_under_a_rolling_limit_without_a_429(serve):
    app, tally = rolling_limited_app(limit=5, window_s=0.5)
    client = client_for(serve(app))
    started = time.monotonic()
    for _ in range(16):
        client.request("GET", "/page")
    elapsed = time.monotonic() - started
    assert tally == {"ok": 16, "429": 0}
    # 16 requests at 5 per 0.5 s: the 16th may go when the 11th is 0.5 s old -> at least 1.5 s;
    # pacing should not waste much more than the safety margins.
    assert 1.5 <= elapsed < 2.5
    assert client.stats["throttle_wait_s"] > 1.0


def test_pacing_is_shared_by_threads_of_one_process(serve):
    app, tally = rolling_limited_app(limit=5, window_s=0.5)
    client = client_for(serve(app))
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                client.request("GET", "/page")
        except BaseException as exc:
            errors.append(exc)

    client.request("GET", "/page")  # learn the limit first, as any real run does
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert tally == {"ok": 21, "429": 0}


# ------------------------------------------------------------------------------- redaction
def test_no_secret_in_error_text_or_logs_even_when_the_server_echoes_it(serve, caplog):
    echo = App("echo")
    echo.route("GET", "/echo")(lambda r: err(400, "invalid_parameter", f"bad token {r.header('x-token')}"))
    echo.route("GET", "/flaky")(lambda r: err(500, message=f"crashed for {r.header('x-token')}"))
    client = client_for(serve(echo))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(BadRequestError) as info:
        client.request("GET", "/echo")
    with pytest.raises(ServerError) as info2:
        client.request("GET", "/flaky")
    for error in (info.value, info2.value):
        assert SECRET not in str(error) and SECRET not in repr(error.vendor_message)
        assert "***" in str(error)
    assert "retry" in caplog.text  # the retries of /flaky were logged ...
    assert SECRET not in caplog.text  # ... without the token
    assert SECRET not in repr(client.auth)


def test_redact_masks_longest_secret_first_and_ignores_short_values():
    register_secret("abcdefgh")
    register_secret("abcdefgh-longer")
    register_secret("abc")  # too short to mask safely: ordinary text would be blanked
    assert redact("x abcdefgh-longer y abcdefgh z abc") == "x *** y *** z abc"


def test_requests_exceptions_are_not_chained_into_errors(serve):
    srv = serve(App("gone2"))
    client = client_for(srv, retry=RetryPolicy(max_attempts=1))
    srv.stop()
    with pytest.raises(TransportError) as info:
        client.request("GET", "/x")
    # The requests exception holds the prepared request, headers (and so the token) included.
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert not isinstance(info.value, requests.RequestException)
