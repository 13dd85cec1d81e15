"""The webhook receivers: FastAPI apps the Airflow API server serves through the project's plugin.

``POST /pipedrive/webhooks`` and ``POST /brevo/webhooks`` (contract §5). Each request goes:

1. credentials, checked in constant time against an Airflow connection (401, nothing read or
   stored; also 401 when the connection is missing or has no password, since then no credentials
   are valid (contract §5): never open by accident, and the setup error is logged);
2. size: 413 from ``Content-Length`` and again while the body streams in, so no more than
   :data:`MAX_BODY_BYTES` + one chunk is ever held;
3. shape: a body that is not JSON or not a known payload is quarantined and answered 400;
4. :func:`~pipedrive_brevo.webhook_store.append_event`, then 200. A storage failure answers 500,
   so the sender retries: nothing is acknowledged that is not stored.

Only after the answer is decided is the applying DAG poked (:class:`RunCoalescer`): a burst of a
thousand events causes a handful of "is a run queued?" checks and at most one queued run, and a
failure to trigger is only logged, since the event is stored and the next trigger picks it up.

Airflow mounts plugin apps without its own authentication (research airflow.md §6), so the
checks here are the only gate. Storage and the connection look-up are blocking calls and run in
the thread pool, so the event loop keeps answering other senders within Pipedrive's 10 seconds.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from pipedrive_brevo import webhook_store
from pipedrive_brevo.redaction import register_secret
from pipedrive_brevo.storage import DataLocation
from pipedrive_brevo.webhooks.payloads import PayloadError, brevo_items, parse_brevo, parse_pipedrive

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # contract §5: 413 over 1 MiB
PIPEDRIVE_CONN_ID = "pipedrive_webhook"
BREVO_CONN_ID = "brevo_webhook"
PIPEDRIVE_DAG_ID = "pipedrive_webhook_events"
BREVO_DAG_ID = "brevo_to_pipedrive"
CREDENTIALS_TTL_S = 30.0  # a rotated password is picked up within this


# ---------------------------------------------------------------------------------- credentials
@dataclass(frozen=True)
class Secret:
    """The expected login and password of a receiver (``repr`` never shows them)."""

    login: str
    password: str

    def __repr__(self) -> str:
        return "Secret(***)"


def airflow_secret(conn_id: str) -> Secret | None:
    """The connection's login/password through Airflow's secrets backends (env, metastore, vault...).

    ``None`` when the connection does not exist or holds no password: the receiver then refuses all.
    """
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:  # AirflowNotFoundException, or a backend that is down
        log.warning("webhook receiver: connection %r is not available (%s)", conn_id, type(exc).__name__)
        return None
    if not conn.password:
        log.warning("webhook receiver: connection %r has no password; every request is refused", conn_id)
        return None
    register_secret(conn.password)
    return Secret(login=conn.login or "", password=conn.password)


class CachedSecrets:
    """Connection look-ups cached for ``ttl`` seconds: a burst must not hit the metastore per request."""

    def __init__(self, lookup: Callable[[str], Secret | None] = airflow_secret, ttl: float = CREDENTIALS_TTL_S):
        self._lookup = lookup
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Secret | None]] = {}

    def get(self, conn_id: str) -> Secret | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(conn_id)
            if hit and now - hit[0] < self._ttl:
                return hit[1]
        secret = self._lookup(conn_id)
        with self._lock:
            self._cache[conn_id] = (now, secret)
        return secret


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def basic_auth_matches(header: str | None, secret: Secret) -> bool:
    """``Authorization: Basic base64(login:password)`` equal to ``secret``, compared in constant time."""
    if not header or header[:6].lower() != "basic ":
        return False
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    login, sep, password = decoded.partition(":")
    # both compared, always: no early exit that would tell a wrong login from a wrong password
    return bool(sep) & _same(login, secret.login) & _same(password, secret.password)


def bearer_matches(header: str | None, secret: Secret) -> bool:
    """``Authorization: Bearer <token>`` equal to the connection's password, in constant time."""
    if not header or header[:7].lower() != "bearer ":
        return False
    return _same(header[7:].strip(), secret.password)


# ------------------------------------------------------------------------------------- triggering
def ensure_queued_run(dag_id: str) -> str | None:
    """Make sure a run of ``dag_id`` is queued, through Airflow's own in-process trigger.

    Returns the new run's id, or ``None`` when one was already queued (a queued run has not
    started, so it will read every event stored before it starts: that is the coalescing).
    Needs the metadata database, which the API server has.
    """
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType
    from sqlalchemy import func, select

    with create_session() as session:
        queued = session.scalar(
            select(func.count()).select_from(DagRun)
            .where(DagRun.dag_id == dag_id, DagRun.state == DagRunState.QUEUED)
        )
        if queued:
            return None
        now = datetime.now(UTC)
        run = trigger_dag(
            dag_id,
            run_id=f"webhook__{now.isoformat()}",
            run_type=DagRunType.MANUAL,
            triggered_by=DagRunTriggeredByType.REST_API,
            run_after=now,
            conf={},
            note="triggered by a stored webhook event",
            session=session,
        )
        return run.run_id if run is not None else None


class RunCoalescer:
    """Pokes one DAG after stored events, one check at a time, however many events arrive.

    ``notify()`` only sets a flag and wakes a worker thread, so the request is never held up. The
    worker clears the flag, then calls ``ensure_run``; events stored meanwhile set the flag again
    and cause exactly one more check. Since every stored event is followed by a check that
    starts after it was stored, no event is left without a queued or future run.
    """

    def __init__(self, dag_id: str, ensure_run: Callable[[str], Any] = ensure_queued_run):
        self.dag_id = dag_id
        self._ensure_run = ensure_run
        self._cond = threading.Condition()
        self._dirty = False
        self._busy = False
        self._thread: threading.Thread | None = None
        self.checks = 0
        self.failures = 0

    def notify(self) -> None:
        with self._cond:
            self._dirty = True
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name=f"webhook-trigger-{self.dag_id}",
                                                daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._dirty:
                    self._busy = False
                    self._cond.notify_all()
                    if not self._cond.wait(timeout=60):
                        self._thread = None
                        return
                self._dirty = False
                self._busy = True
            try:
                self.checks += 1
                run_id = self._ensure_run(self.dag_id)
                if run_id:
                    log.info("webhook receiver: queued run %s of %s", run_id, self.dag_id)
            except Exception as exc:  # stored events wait for the next trigger; never fail the sender
                self.failures += 1
                log.warning("webhook receiver: could not trigger %s (%s: %s); the stored events wait for "
                            "the next trigger", self.dag_id, type(exc).__name__, exc)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no check is pending or running (tests and shutdown)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._dirty or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(timeout=left)
        return True


# -------------------------------------------------------------------------------------- receivers
@dataclass(frozen=True)
class Source:
    """What differs between the two receivers."""

    name: str  # webhook_store source
    conn_id: str
    dag_id: str
    scheme: str  # "basic" | "bearer"

    def authorised(self, header: str | None, secret: Secret) -> bool:
        return (basic_auth_matches if self.scheme == "basic" else bearer_matches)(header, secret)

    def events(self, body: Any) -> list[tuple[dict[str, Any], str]]:
        """The bodies to store, one per event, with their event ids; :class:`PayloadError` if unknown."""
        if self.name == "pipedrive":
            return [(body, parse_pipedrive(body).event_id)]
        return [(dict(item), parse_brevo(item).event_id) for item in brevo_items(body)]


PIPEDRIVE = Source("pipedrive", PIPEDRIVE_CONN_ID, PIPEDRIVE_DAG_ID, "basic")
BREVO = Source("brevo", BREVO_CONN_ID, BREVO_DAG_ID, "bearer")


def _answer(status: int, message: str, **extra: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Basic realm="pipedrive-webhooks"'} if status == 401 else None
    return JSONResponse({"status": status, "message": message, **extra}, status_code=status, headers=headers)


def create_app(
    source: Source,
    *,
    store: DataLocation | None = None,
    secrets: CachedSecrets | None = None,
    trigger: Callable[[str], Any] | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> FastAPI:
    """A FastAPI app with ``POST /webhooks`` for ``source``.

    ``store`` defaults to the configured data location (read on first use, so the api-server's
    environment decides); ``trigger(dag_id)`` defaults to :func:`ensure_queued_run`. Tests inject
    both. The app's ``state.coalescer`` exposes the trigger worker (``wait_idle()``, ``checks``).
    """
    app = FastAPI(title=f"{source.name.capitalize()} webhook receiver", docs_url=None, redoc_url=None,
                  openapi_url=None)
    secrets = secrets or CachedSecrets()
    coalescer = RunCoalescer(source.dag_id, trigger or ensure_queued_run)
    app.state.coalescer = coalescer
    holder: dict[str, DataLocation] = {}

    def data() -> DataLocation:
        if "store" not in holder:
            holder["store"] = store or DataLocation()
        return holder["store"]

    def check(header: str | None) -> str | None:
        """None when the credentials are valid, else why they are not (answered 401)."""
        secret = secrets.get(source.conn_id)
        if secret is None:
            return (f"the receiver is not configured: connection {source.conn_id!r} with a password is needed, "
                    "so no credentials are valid")
        return None if source.authorised(header, secret) else "missing or wrong credentials"

    def accept(raw: bytes) -> JSONResponse:
        received_at = datetime.now(UTC)
        try:
            body = json.loads(raw)
            events = source.events(body)
        except (ValueError, RecursionError) as exc:
            reason = (f"body is not JSON: {exc}" if not isinstance(exc, PayloadError)
                      else f"unknown {source.name} payload: {exc}")
            key = webhook_store.quarantine(data(), source.name, raw, reason, received_at=received_at)
            log.info("webhook receiver: %s body quarantined as %s (%s)", source.name, key, reason)
            return _answer(400, reason, quarantined=key)
        # the events of one batched body are stamped 1 µs apart, so their keys keep the body's order
        stored = [webhook_store.append_event(data(), source.name, event,
                                             received_at=received_at + timedelta(microseconds=n))
                  for n, (event, _) in enumerate(events)]
        return _answer(200, "stored", stored=len(stored), event_ids=[event_id for _, event_id in events])

    @app.post("/webhooks")
    async def receive(request: Request) -> JSONResponse:
        refused = await run_in_threadpool(check, request.headers.get("authorization"))
        if refused is not None:
            return _answer(401, refused)
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                return _answer(400, f"Content-Length {declared!r} is not a number")
            if int(declared) > max_body_bytes:
                return _answer(413, f"the body is over {max_body_bytes} bytes")
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > max_body_bytes:
                return _answer(413, f"the body is over {max_body_bytes} bytes")
        try:
            response = await run_in_threadpool(accept, bytes(raw))
        except Exception as exc:  # storage down: not acknowledged, so the sender retries
            log.error("webhook receiver: could not store a %s event (%s: %s)", source.name,
                      type(exc).__name__, exc)
            return _answer(500, "the event could not be stored; retry later")
        if response.status_code == 200:
            coalescer.notify()
        return response

    return app


def create_pipedrive_app(**kwargs: Any) -> FastAPI:
    """``POST /webhooks`` for Pipedrive v1/v2 bodies, basic auth from connection ``pipedrive_webhook``."""
    return create_app(PIPEDRIVE, **kwargs)


def create_brevo_app(**kwargs: Any) -> FastAPI:
    """``POST /webhooks`` for Brevo marketing events, bearer token = password of ``brevo_webhook``."""
    return create_app(BREVO, **kwargs)
