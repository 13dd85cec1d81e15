"""A small HTTP framework the two API sandboxes are built on.

Why not FastAPI: the sandboxes must start in a thread inside a pytest fixture, stop cleanly in
milliseconds and answer with exact bytes (HTML 403 pages, truncated bodies, odd headers) when a
fault is injected. The standard library's threading server does all of that with no extra
dependency, and at the request rates the vendors allow it is never the bottleneck.

An :class:`App` holds routes and middlewares; a :class:`SandboxServer` serves one app on a loopback
port in a background thread. Every app gets the admin endpoints under ``/__admin`` for counters
and fault injection (see :class:`Faults`).
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

LOOPBACK = "127.0.0.1"
ADMIN_PREFIX = "/__admin"


class HTTPError(Exception):
    """Raised by a handler to answer with a prepared response."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    path_params: dict[str, str] = field(default_factory=dict)
    route: str = ""  # the matched pattern, e.g. "GET /api/v2/persons/{id}"
    state: dict[str, Any] = field(default_factory=dict)  # per-request scratch for middlewares

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        """The body parsed as JSON; ``None`` for an empty body. Raises ValueError when malformed."""
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return cls(status, body, {"Content-Type": "application/json; charset=utf-8", **(headers or {})})

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain; charset=utf-8",
             headers: dict[str, str] | None = None) -> Response:
        return cls(status, text.encode("utf-8"), {"Content-Type": content_type, **(headers or {})})

    @classmethod
    def empty(cls, status: int = 204, headers: dict[str, str] | None = None) -> Response:
        return cls(status, b"", dict(headers or {}))


Handler = Callable[[Request], Response]
Middleware = Callable[[Request, Handler], Response]


@dataclass
class Faults:
    """Fault-injection switches, set through ``POST /__admin/faults``.

    Rates are probabilities per request (0..1), drawn from a seeded generator so a test is
    repeatable. Admin endpoints are never faulted.
    """

    error_rate: float = 0.0  # answer 500/502/503 instead of handling the request
    latency_ms: int = 0  # sleep before answering
    storm_429: int = 0  # answer this many next requests with 429, then count down
    truncate_rate: float = 0.0  # cut the body of a successful answer in half
    nonjson_rate: float = 0.0  # answer 200 with an HTML body instead of JSON
    fail_imports: int = 0  # Brevo: this many next import processes end as failed
    seed: int = 0

    def update(self, values: dict[str, Any]) -> None:
        known = {f.name: f.type for f in fields(self)}
        unknown = set(values) - set(known)
        if unknown:
            raise ValueError(f"unknown fault switch(es) {sorted(unknown)}; valid: {sorted(known)}")
        for name, value in values.items():
            setattr(self, name, value)


class App:
    """Routes plus middlewares, plus counters and faults every sandbox shares."""

    def __init__(self, name: str):
        self.name = name
        self._routes: list[tuple[str, re.Pattern[str], str, Handler]] = []
        self.middlewares: list[Middleware] = []
        self.lock = threading.RLock()
        self.faults = Faults()
        self._rng = random.Random(0)
        self.counters: Counter[str] = Counter()
        self.admin_routes: dict[tuple[str, str], Handler] = {}
        self._admin_patterns: list[tuple[str, re.Pattern[str], Handler]] = []
        self._install_admin()

    # ----------------------------------------------------------------- routing
    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        regex = _compile_pattern(pattern)

        def register(fn: Handler) -> Handler:
            self._routes.append((method.upper(), regex, f"{method.upper()} {pattern}", fn))
            return fn

        return register

    def admin(self, method: str, path: str) -> Callable[[Handler], Handler]:
        """Register an admin endpoint under ``/__admin``; it bypasses faults, auth and limits.

        ``path`` may hold ``{param}`` patterns like a route (``/records/{entity}/{id}``); exact
        paths are looked up first, so a fixed path always wins over a pattern.
        """

        def register(fn: Handler) -> Handler:
            full = ADMIN_PREFIX + path
            if "{" in full:
                self._admin_patterns.append((method.upper(), _compile_pattern(full), fn))
            else:
                self.admin_routes[(method.upper(), full)] = fn
            return fn

        return register

    def _match_admin(self, request: Request) -> Handler | None:
        exact = self.admin_routes.get((request.method, request.path))
        if exact is not None:
            return exact
        for method, regex, fn in self._admin_patterns:
            m = regex.match(request.path) if method == request.method else None
            if m:
                request.path_params = {k: unquote(v) for k, v in m.groupdict().items()}
                return fn
        return None

    def _match(self, request: Request) -> Handler | None:
        path_matched = False
        for method, regex, name, fn in self._routes:
            m = regex.match(request.path)
            if not m:
                continue
            path_matched = True
            if method == request.method:
                request.path_params = {k: unquote(v) for k, v in m.groupdict().items()}
                request.route = name
                return fn
        if path_matched:
            request.route = f"{request.method} {request.path}"
            return lambda r: self.method_not_allowed(r)
        return None

    # ---------------------------------------------------- overridable answers
    def not_found(self, request: Request) -> Response:
        return Response.json({"error": "not found", "path": request.path}, status=404)

    def method_not_allowed(self, request: Request) -> Response:
        return Response.json({"error": "method not allowed"}, status=405)

    def server_error(self, status: int) -> Response:
        return Response.json({"error": "internal server error"}, status=status)

    def too_many_requests(self, request: Request) -> Response:
        return Response.json({"error": "Too many requests"}, status=429)

    # ---------------------------------------------------------------- dispatch
    def handle(self, request: Request) -> Response:
        admin = self._match_admin(request)
        if admin is not None:
            try:
                return admin(request)
            except HTTPError as exc:
                return exc.response
            except ValueError as exc:
                return Response.json({"error": str(exc)}, status=400)

        with self.lock:
            self.counters["requests"] += 1
        fault = self._draw_fault(request)
        if fault is not None:
            return fault

        handler = self._match(request)
        if handler is None:
            request.route = f"{request.method} (unknown)"
            handler = self.not_found

        def innermost(req: Request) -> Response:
            return handler(req)

        call = innermost
        for mw in reversed(self.middlewares):
            call = _bind(mw, call)
        try:
            response = call(request)
        except HTTPError as exc:
            response = exc.response
        with self.lock:
            self.counters[f"route:{request.route}"] += 1
            self.counters[f"status:{response.status}"] += 1
            if request.method in ("POST", "PUT", "PATCH", "DELETE"):
                self.counters[f"write:{request.route}"] += 1
        return self._post_faults(response)

    def _draw_fault(self, request: Request) -> Response | None:
        f = self.faults
        with self.lock:
            delay = f.latency_ms / 1000 if f.latency_ms else 0
            if f.storm_429 > 0:
                f.storm_429 -= 1
                self.counters["faults:429"] += 1
                storm = True
            else:
                storm = False
            error = f.error_rate and self._rng.random() < f.error_rate
            if error:
                self.counters["faults:5xx"] += 1
                status = self._rng.choice([500, 502, 503])
        if delay:
            time.sleep(delay)
        if storm:
            with self.lock:
                self.counters["status:429"] += 1
            return self.too_many_requests(request)
        if error:
            with self.lock:
                self.counters[f"status:{status}"] += 1
            return self.server_error(status)
        return None

    def _post_faults(self, response: Response) -> Response:
        f = self.faults
        if response.status >= 300:
            return response
        with self.lock:
            truncate = f.truncate_rate and self._rng.random() < f.truncate_rate
            nonjson = not truncate and f.nonjson_rate and self._rng.random() < f.nonjson_rate
            if truncate:
                self.counters["faults:truncated"] += 1
            if nonjson:
                self.counters["faults:nonjson"] += 1
        if truncate and response.body:
            return Response(response.status, response.body[: len(response.body) // 2], dict(response.headers))
        if nonjson:
            return Response.text("<html><body>Upstream hiccup</body></html>", status=200,
                                 content_type="text/html; charset=utf-8")
        return response

    # ------------------------------------------------------------------ admin
    def _install_admin(self) -> None:
        @self.admin("GET", "/counters")
        def counters(_: Request) -> Response:
            with self.lock:
                return Response.json(dict(self.counters))

        @self.admin("POST", "/counters/reset")
        def reset_counters(_: Request) -> Response:
            with self.lock:
                self.counters.clear()
            return Response.empty()

        @self.admin("GET", "/faults")
        def get_faults(_: Request) -> Response:
            return Response.json(asdict(self.faults))

        @self.admin("POST", "/faults")
        def set_faults(request: Request) -> Response:
            values = request.json() or {}
            with self.lock:
                if values.get("reset"):
                    self.faults = Faults()
                    values = {k: v for k, v in values.items() if k != "reset"}
                self.faults.update(values)
                self._rng = random.Random(self.faults.seed)
            return Response.json(asdict(self.faults))

        @self.admin("GET", "/health")
        def health(_: Request) -> Response:
            return Response.json({"app": self.name, "ok": True})


def _compile_pattern(pattern: str) -> re.Pattern[str]:
    """``/persons/{id}`` -> a regex whose named groups capture one path segment each."""
    return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")


def _bind(mw: Middleware, nxt: Handler) -> Handler:
    return lambda req: mw(req, nxt)


class _Handler(BaseHTTPRequestHandler):
    server_version = "sandbox/1"
    protocol_version = "HTTP/1.1"  # keep-alive, as the vendors' servers do
    disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms delayed-ACK stall

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests and benchmarks read counters, not access logs

    def _dispatch(self) -> None:
        app: App = self.server.app  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        try:
            response = app.handle(request)
        except Exception as exc:  # a sandbox bug must still answer, and loudly
            response = Response.json({"error": f"sandbox crashed: {exc!r}"}, status=500)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class SandboxServer:
    """Serves an :class:`App` on loopback in a background thread.

    >>> with SandboxServer(app) as srv:   # port 0 picks a free port
    ...     requests.get(srv.url + "/__admin/health")
    """

    def __init__(self, app: App, host: str = LOOPBACK, port: int = 0):
        if host not in (LOOPBACK, "localhost", "::1"):
            raise ValueError(f"sandboxes listen on loopback only, not {host!r}")
        self.app = app
        self._httpd = _Server((host, port), _Handler)
        self._httpd.app = app  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"sandbox-{self.app.name}", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def page_slice(items: list[Any], start: int, limit: int) -> tuple[list[Any], bool]:
    """One offset page and whether more follow."""
    chunk = items[start:start + limit]
    return chunk, start + limit < len(items)


def parse_int(value: str | None, name: str, *, default: int, minimum: int = 0,
              maximum: int | None = None, error: Callable[[str], Response]) -> int:
    """Parse a query integer or raise HTTPError with the vendor's error shape."""
    if value is None or value == "":
        return default
    try:
        n = int(value)
    except ValueError:
        raise HTTPError(error(f"{name} must be an integer")) from None
    if n < minimum or (maximum is not None and n > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise HTTPError(error(f"{name} must be {bound}"))
    return n


def iter_chunks(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
