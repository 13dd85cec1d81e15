"""The Pipedrive sandbox application: routes, authentication, rate limits and Pipedrive's answers.

Every API request passes :meth:`PipedriveApp.guard` before its handler:

1. Who is calling: the ``x-api-token`` header, an OAuth ``Authorization: Bearer`` access token,
   or (v1 only, legacy) the ``?api_token=`` query parameter. v2 refuses the query token with 401,
   as Pipedrive does; every use of it is counted in ``auth:query_token`` so a test can prove a
   client never sends its token in a URL (where proxies and logs keep it).
2. The rate limiter (``limits``): Cloudflare block -> 403 HTML, burst -> 429, budget -> 429.
3. The handler; its answer gets the rate-limit headers.

Faults injected through ``/__admin/faults`` and unknown paths answer in Pipedrive's error shape
too, through the overridden ``App`` answers.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from sandbox.pipedrive import admin, answers, api_v1, api_v2, deal_flow
from sandbox.pipedrive.config import PipedriveConfig
from sandbox.pipedrive.limits import BLOCKED, BUDGET, BURST, Caller, RateLimiter
from sandbox.pipedrive.oauth import OAuthServer
from sandbox.pipedrive.specs import Operation, load_spec_facts
from sandbox.pipedrive.store import PipedriveStore
from sandbox.pipedrive.webhook_delivery import register as register_webhook_delivery
from sandbox.server import App, Handler, HTTPError, Request, Response

PREFIXES = {"v2": ("/api/v2",), "v1": ("/v1", "/api/v1")}


class PipedriveApp(App):
    """An :class:`App` that answers as Pipedrive's API: one company account."""

    def __init__(self, store: PipedriveStore, config: PipedriveConfig, clock: Callable[[], float]):
        super().__init__("pipedrive")
        self.store = store
        self.config = config
        self.clock = clock
        self.facts = load_spec_facts()
        self.limiter = RateLimiter(config, clock)
        self.oauth = OAuthServer(config, clock)
        self._operations: dict[str, Operation] = {}  # route name -> the spec's operation
        self.middlewares.append(self.guard)

    # -------------------------------------------------------------- routing
    def api(self, method: str, version: str, template: str) -> Callable[[Handler], Handler]:
        """Register an API operation under its version's prefixes; its spec entry sets its cost.

        ``template`` is the path as the vendor's spec writes it (``/persons/{id}``). The handler
        finds the operation's facts in ``request.state["operation"]``.
        """
        operation = self.facts.operation(version, method, template)

        def register(fn: Handler) -> Handler:
            for prefix in PREFIXES[version]:
                self.route(method, prefix + template)(fn)
                self._operations[f"{method.upper()} {prefix}{template}"] = operation
            return fn

        return register

    # ---------------------------------------------------------------- guard
    def guard(self, request: Request, call_next: Handler) -> Response:
        operation = self._operations.get(request.route)
        if operation is None:  # unknown path, wrong method, the OAuth token endpoint
            return call_next(request)
        request.state["operation"] = operation
        caller = self.identify(request)
        if caller is None:
            return answers.unauthorized(headers=self.limiter.daily_headers())
        request.state["caller"] = caller
        decision = self.limiter.admit(caller, operation.cost, search="search" in request.route.lower())
        if decision.outcome == BLOCKED:
            self._count("limits:blocked_403")
            return answers.cloudflare_access_denied(request.header("host") or "api.pipedrive.com")
        if decision.outcome in (BURST, BUDGET):
            self._count(f"limits:{decision.outcome}_429")
            return answers.over_limit(headers=decision.headers)
        try:
            with self.webhook_delivery.change_source("api"):  # webhooks say who changed a record
                response = call_next(request)
        except HTTPError as exc:  # a 400 raised by parameter parsing gets the headers too
            response = exc.response
        response.headers.update(decision.headers)
        return response

    def identify(self, request: Request) -> Caller | None:
        """The caller of a request, or None when it carries no valid credential."""
        query_token = request.arg("api_token")
        if query_token is not None:
            self._count("auth:query_token")
        header = request.header("x-api-token")
        if header:
            return self._api_token_caller(header)
        authorization = request.header("authorization") or ""
        if authorization[:7].lower() == "bearer ":
            grant = self.oauth.grant_for(authorization[7:].strip())
            return None if grant is None else Caller("oauth", grant.label, grant.user_id)
        if query_token and not request.path.startswith("/api/v2/"):
            return self._api_token_caller(query_token)
        return None

    def _api_token_caller(self, token: str) -> Caller | None:
        for position, known in enumerate(self.config.api_tokens, start=1):
            if secrets.compare_digest(token, known):
                return Caller("api_token", f"api_token:{position}", self.config.user_id)
        return None

    def _count(self, name: str) -> None:
        with self.lock:
            self.counters[name] += 1

    # ---------------------------------------------- Pipedrive-shaped answers
    def not_found(self, request: Request) -> Response:
        return answers.unknown_route()

    def method_not_allowed(self, request: Request) -> Response:
        return answers.method_not_allowed()

    def server_error(self, status: int) -> Response:
        return answers.server_error(status)

    def too_many_requests(self, request: Request) -> Response:
        """An injected 429 storm: what a burst 429 looks like, window spent."""
        headers = {"x-ratelimit-limit": str(self.config.burst_limit_for("api_token")),
                   "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(self.config.burst_window_seconds)),
                   **self.limiter.daily_headers()}
        return answers.over_limit(headers=headers)


def create_app(account: Any | None = None, config: PipedriveConfig | None = None, *,
               clock: Callable[[], float] = time.time) -> PipedriveApp:
    """A Pipedrive sandbox serving ``account`` (a fresh company when None).

    ``clock`` (epoch seconds) drives timestamps, token lifetimes and rate windows; a test may
    pass a fake one to move time without waiting.
    """
    config = config or PipedriveConfig()
    app = PipedriveApp(PipedriveStore(account, clock=clock), config, clock)
    api_v2.register(app)
    api_v1.register(app)
    deal_flow.register(app)
    app.route("POST", "/oauth/token")(app.oauth.token_endpoint)
    admin.register(app)
    register_webhook_delivery(app)  # POSTs the account's webhooks when records change
    return app
