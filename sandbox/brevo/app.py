"""Wiring: one :class:`sandbox.server.App` that answers as Brevo's API v3 does.

Every request under ``/v3`` passes, outermost first:

1. a ``sib-request-id`` header on the answer, whatever it is (Brevo sends one on every response);
2. authentication: the ``api-key`` header must be one of the configured keys, else 401
   ``{"message": "Key not found", "code": "unauthorized"}``;
3. the rate limiter of the request's bucket and key, which adds the ``x-sib-ratelimit-*`` headers
   to the answer or answers 429 itself; every call is counted for ``/__admin/brevo/usage``.

Injected faults (``/__admin/faults``) answer before the middlewares run, so the error overrides
below give them Brevo's body shape and a request id too. Report downloads (``/__reports/...``) need
no key and are not limited, like Brevo's download links.
"""

from __future__ import annotations

import uuid

from sandbox.brevo import webhooks
from sandbox.brevo.companies import CompanyStore
from sandbox.brevo.config import BrevoConfig
from sandbox.brevo.errors import error_body
from sandbox.brevo.events import EventLog
from sandbox.brevo.limits import RateLimiter, bucket_of
from sandbox.brevo.processes import ProcessRunner
from sandbox.brevo.routes import (
    admin,
    attributes,
    companies,
    contacts,
    events,
    lists,
    processes,
)
from sandbox.brevo.state import BrevoState, Usage
from sandbox.brevo.store import Account
from sandbox.server import App, Handler, HTTPError, Request, Response

_SERVER_ERRORS = {500: "Internal server error", 502: "Bad gateway", 503: "Service temporarily unavailable"}


def _request_id() -> str:
    return uuid.uuid4().hex


def _answer(call_next: Handler, request: Request) -> Response:
    """The handler's answer, also when it raised one (so outer middlewares can add headers)."""
    try:
        return call_next(request)
    except HTTPError as exc:
        return exc.response


class BrevoApp(App):
    """An App whose fallback answers (404, 405, faults) are in Brevo's error format."""

    def not_found(self, request: Request) -> Response:
        return Response.json(error_body("document_not_found", f"Invalid route {request.method} {request.path}"),
                             status=404)

    def method_not_allowed(self, request: Request) -> Response:
        return Response.json(error_body("method_not_allowed", f"{request.method} Method is not allowed on this path"),
                             status=405)

    def server_error(self, status: int) -> Response:
        return Response.json(error_body("internal_error", _SERVER_ERRORS.get(status, "Server error")), status=status,
                             headers={"sib-request-id": _request_id()})

    def too_many_requests(self, request: Request) -> Response:
        return Response.json(error_body("too_many_requests", "The request limit has been reached; try again later"),
                             status=429, headers={"sib-request-id": _request_id(), "x-sib-ratelimit-limit": "0",
                                                  "x-sib-ratelimit-remaining": "0", "x-sib-ratelimit-reset": "1"})


def create_app(config: BrevoConfig | None = None) -> App:
    """A fresh Brevo account behind Brevo's API, ready for :class:`sandbox.server.SandboxServer`."""
    config = config or BrevoConfig()
    app = BrevoApp("brevo")
    account = Account(config)
    state = BrevoState(
        app=app, config=config, account=account, companies=CompanyStore(account), events=EventLog(),
        processes=ProcessRunner(lambda: config.import_delay_s, lambda: config.process_running_status),
        limiter=RateLimiter(lambda bucket: config.rate_limits.get(bucket, ()) if config.limits_enabled else ()),
        usage=Usage(),
    )
    app.brevo = state  # type: ignore[attr-defined]  # for tests and benchmarks that reach inside

    def request_id(request: Request, call_next: Handler) -> Response:
        response = call_next(request)
        response.headers.setdefault("sib-request-id", _request_id())
        return response

    def authenticate(request: Request, call_next: Handler) -> Response:
        if request.path.startswith(processes.REPORTS_PREFIX):
            return call_next(request)
        key = request.header("api-key")
        if not key or key not in config.api_keys:
            return Response.json({"message": "Key not found", "code": "unauthorized"}, status=401)
        request.state["api_key"] = key
        return call_next(request)

    def rate_limit(request: Request, call_next: Handler) -> Response:
        if request.path.startswith(processes.REPORTS_PREFIX):
            return _answer(call_next, request)
        bucket = bucket_of(request.path)
        verdict = state.limiter.check(request.state["api_key"], bucket)
        if verdict is not None and not verdict.allowed:
            response = Response.json(error_body("too_many_requests", "The request limit has been reached; "
                                                "see the x-sib-ratelimit-* headers"), status=429)
        else:
            response = _answer(call_next, request)
        if verdict is not None:
            response.headers.update(verdict.headers())
        state.usage.record(request.route, bucket, response.status)
        return response

    app.middlewares.extend([request_id, authenticate, rate_limit])
    # Specific paths first: `/v3/contacts/{identifier}` would also match `/v3/contacts/lists`.
    for module in (attributes, lists, processes, events, companies, contacts, admin):
        module.register(app, state)
    app.brevo_webhooks = webhooks.register(app, state)  # type: ignore[attr-defined]  # after the auth middleware
    return app
