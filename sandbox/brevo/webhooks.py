"""``/v3/webhooks`` and their delivery: Brevo's marketing webhooks, as research/brevo-api.md §10 says.

* ``POST /v3/webhooks`` (201 ``{id}``), ``GET /v3/webhooks`` (``type``, ``sort``), ``GET``/``PUT``/
  ``DELETE /v3/webhooks/{webhookId}``. A webhook has ``url``, ``type`` (marketing, transactional,
  inbound), ``events`` (camelCase names), ``auth {type: bearer, token}``, ``headers [{key, value}]``,
  ``batched`` and ``channel``. At most 40 per account.
* Delivery: every contact change the account reports (store.py ``listeners``) becomes a payload with
  Brevo's snake_case event name, queued for each marketing webhook subscribed to it and POSTed by a
  background thread with ``Authorization: Bearer <token>`` and the custom headers. ``contact_updated``
  and ``list_addition`` carry ``api_key_name``: the name of the key that made the change
  (``BrevoConfig.api_key_names``), "" for a change made in the UI (the admin routes). ``date`` is
  Paris time (CET/CEST), ``ts``/``ts_event`` epoch seconds (UTC).
* Retries: a 429 or no answer is retried after each of ``BrevoConfig.webhook_retry_delays_s``
  (Brevo: +10 min, +1 h, +2 h, +8 h); any other 4xx and every 5xx discard the event, as Brevo's
  retry page says. A batched webhook gets a JSON array of one event per request.
* Admin: ``GET /__admin/brevo/webhooks/deliveries`` (every attempt and its outcome),
  ``POST /__admin/brevo/webhooks/wait`` (``{"timeout": s}``: until the queue is empty),
  ``POST /__admin/brevo/campaign_events`` (``{"event": "unsubscribed"|"hardBounce", "email": ...}``:
  what a recipient does in a campaign; an unsubscribe blocklists the contact).
"""

from __future__ import annotations

import collections
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.brevo import errors
from sandbox.brevo.params import path_int, sort_arg
from sandbox.brevo.state import BrevoState
from sandbox.brevo.store import Contact
from sandbox.brevo.values import iso_ms, now_ms
from sandbox.server import Handler, Request, Response

MAX_WEBHOOKS = 40
TYPES = ("transactional", "marketing", "inbound")
MARKETING_EVENTS = ("spam", "opened", "click", "hardBounce", "softBounce", "unsubscribed", "listAddition",
                    "delivered", "contactUpdated", "contactDeleted")
TRANSACTIONAL_EVENTS = ("sent", "request", "delivered", "hardBounce", "softBounce", "blocked", "spam", "invalid",
                        "deferred", "click", "opened", "uniqueOpened", "unsubscribed")
INBOUND_EVENTS = ("inboundEmailProcessed", "reply")
#: The account's change kinds (store.py) and the campaign events, by the event a webhook subscribes to.
SUBSCRIBED_AS = {"contact_updated": "contactUpdated", "list_addition": "listAddition",
                 "contact_deleted": "contactDeleted", "unsubscribed": "unsubscribed", "hard_bounce": "hardBounce"}
AUTHORED = frozenset({"contact_updated", "list_addition"})
PARIS = ZoneInfo("Europe/Paris")


@dataclass
class Webhook:
    id: int
    url: str
    type: str
    events: list[str]
    description: str
    auth: dict[str, Any] | None
    headers: list[dict[str, str]]
    batched: bool
    channel: str
    created_ms: int
    modified_ms: int
    key: str = field(default_factory=lambda: uuid.uuid4().hex)

    def view(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.id, "url": self.url, "description": self.description,
                                "events": list(self.events), "type": self.type, "batched": self.batched,
                                "createdAt": iso_ms(self.created_ms), "modifiedAt": iso_ms(self.modified_ms)}
        if self.auth:
            body["auth"] = dict(self.auth)
        if self.headers:
            body["headers"] = [dict(h) for h in self.headers]
        return body


@dataclass
class Delivery:
    """One event on its way to one webhook: every attempt's status (0: no answer) and the outcome."""

    webhook_id: int
    url: str
    event: str
    body: Any
    due: float
    attempts: list[int] = field(default_factory=list)
    outcome: str = "pending"  # pending | delivered | discarded | gave_up

    def view(self) -> dict[str, Any]:
        return {"webhook_id": self.webhook_id, "url": self.url, "event": self.event, "body": self.body,
                "attempts": list(self.attempts), "outcome": self.outcome}


class WebhookHub:
    """The account's webhooks and a delivery queue served by one daemon thread while it has work."""

    def __init__(self, state: BrevoState):
        self.state = state
        self.lock = threading.Condition()
        self.webhooks: dict[int, Webhook] = {}
        self.deliveries: list[Delivery] = []
        self._queue: collections.deque[Delivery] = collections.deque()
        self._busy = 0
        self._worker: threading.Thread | None = None
        self._next_id = 1

    # ------------------------------------------------------------------ the registry
    def create(self, body: dict[str, Any]) -> Webhook:
        kind = body.get("type", "transactional")
        if kind not in TYPES:
            errors.invalid(f"type should be one of {', '.join(TYPES)}")
        url = body.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            errors.invalid("url should be a valid http(s) URL")
        events = self._events(kind, body.get("events"))
        with self.lock:
            if len(self.webhooks) >= MAX_WEBHOOKS:
                errors.invalid(f"You have reached the maximum of {MAX_WEBHOOKS} webhooks")
            now = now_ms()
            webhook = Webhook(self._next_id, url, kind, events, str(body.get("description") or ""),
                              self._auth(body.get("auth")), self._headers(body.get("headers")),
                              bool(body.get("batched", False)), str(body.get("channel") or "email"), now, now)
            self._next_id += 1
            self.webhooks[webhook.id] = webhook
            return webhook

    def update(self, webhook: Webhook, body: dict[str, Any]) -> None:
        with self.lock:
            if "url" in body:
                if not isinstance(body["url"], str) or not body["url"].startswith(("http://", "https://")):
                    errors.invalid("url should be a valid http(s) URL")
                webhook.url = body["url"]
            if "events" in body:
                webhook.events = self._events(webhook.type, body["events"])
            if "description" in body:
                webhook.description = str(body["description"] or "")
            if "auth" in body:
                webhook.auth = self._auth(body["auth"])
            if "headers" in body:
                webhook.headers = self._headers(body["headers"])
            if "batched" in body:
                webhook.batched = bool(body["batched"])
            webhook.modified_ms = now_ms()

    @staticmethod
    def _events(kind: str, events: Any) -> list[str]:
        valid = {"marketing": MARKETING_EVENTS, "transactional": TRANSACTIONAL_EVENTS, "inbound": INBOUND_EVENTS}[kind]
        if kind == "inbound" and events is None:
            return ["inboundEmailProcessed"]
        if not isinstance(events, list) or not events:
            errors.missing(f"events is required for a {kind} webhook")
        unknown = [e for e in events if e not in valid]
        if unknown:
            errors.invalid(f"events: {unknown} are not valid for a {kind} webhook; valid: {', '.join(valid)}")
        return list(dict.fromkeys(events))

    @staticmethod
    def _auth(auth: Any) -> dict[str, Any] | None:
        if auth is None:
            return None
        if not isinstance(auth, dict) or auth.get("type") != "bearer" or not isinstance(auth.get("token"), str):
            errors.invalid('auth should be {"type": "bearer", "token": "..."}')
        return {"type": "bearer", "token": auth["token"]}

    @staticmethod
    def _headers(headers: Any) -> list[dict[str, str]]:
        if headers is None:
            return []
        if not isinstance(headers, list) or not all(isinstance(h, dict) and isinstance(h.get("key"), str)
                                                    and isinstance(h.get("value"), str) for h in headers):
            errors.invalid('headers should be a list of {"key": ..., "value": ...}')
        return [{"key": h["key"], "value": h["value"]} for h in headers]

    # ------------------------------------------------------------------ events
    def on_change(self, kind: str, contact: Contact, detail: dict[str, Any]) -> None:
        """The account's listener: a change becomes a payload for every webhook subscribed to it."""
        if not self.webhooks:
            return
        actor = self.state.account.actor()
        if kind == "contact_updated":
            detail = {"content": [detail["content"]]}
        self.emit(kind, contact.id, contact.email, detail, actor)

    def emit(self, kind: str, contact_id: int, email: str | None, detail: dict[str, Any], actor: str = "") -> None:
        moment = datetime.now(UTC)
        local = moment.astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S")
        ts = int(moment.timestamp())
        with self.lock:
            subscribed = [w for w in self.webhooks.values()
                          if w.type == "marketing" and SUBSCRIBED_AS.get(kind) in w.events]
            for webhook in subscribed:
                payload: dict[str, Any] = {"id": contact_id, "email": email, "event": kind, "key": webhook.key,
                                           **detail, "date": local, "ts": ts}
                if kind in AUTHORED:
                    payload["api_key_name"] = actor
                if kind in ("unsubscribed", "hard_bounce"):
                    payload.update({"camp_id": detail.get("camp_id", 0), "date_event": local, "date_sent": local,
                                    "ts_event": ts, "ts_sent": ts, "tag": "", "sending_ip": "127.0.0.1"})
                body = [payload] if webhook.batched else payload
                delivery = Delivery(webhook.id, webhook.url, kind, body, time.monotonic())
                self.deliveries.append(delivery)
                self._queue.append(delivery)
            if subscribed and (self._worker is None or not self._worker.is_alive()):
                self._worker = threading.Thread(target=self._work, name="brevo-webhooks", daemon=True)
                self._worker.start()
            self.lock.notify_all()

    # ------------------------------------------------------------------ delivery
    def wait(self, timeout: float) -> bool:
        """Block until nothing is queued or being sent (tests); False on timeout."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.lock.wait(min(left, 0.05))
        return True

    def _work(self) -> None:
        while True:
            with self.lock:
                if not self._queue:
                    self._worker = None
                    self.lock.notify_all()
                    return
                delivery = min(self._queue, key=lambda d: d.due)
                pause = delivery.due - time.monotonic()
                if pause > 0:
                    self.lock.wait(min(pause, 0.05))
                    continue
                self._queue.remove(delivery)
                self._busy += 1
                webhook = self.webhooks.get(delivery.webhook_id)
            try:
                self._attempt(delivery, webhook)
            finally:
                with self.lock:
                    self._busy -= 1
                    self.lock.notify_all()

    def _attempt(self, delivery: Delivery, webhook: Webhook | None) -> None:
        if webhook is None:  # deleted meanwhile
            delivery.outcome = "discarded"
            return
        headers = {"Content-Type": "application/json", "User-Agent": "Brevo-Sandbox-Webhook"}
        headers.update({h["key"]: h["value"] for h in webhook.headers})
        if webhook.auth:
            headers["Authorization"] = f"Bearer {webhook.auth['token']}"
        request = urllib.request.Request(webhook.url, data=json.dumps(delivery.body).encode(), headers=headers,
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                status = answer.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (urllib.error.URLError, OSError):
            status = 0
        delivery.attempts.append(status)
        if 200 <= status < 300:
            delivery.outcome = "delivered"
            return
        retryable = status in (0, 429)
        delays = self.state.config.webhook_retry_delays_s
        if retryable and len(delivery.attempts) <= len(delays):
            delivery.due = time.monotonic() + delays[len(delivery.attempts) - 1]
            with self.lock:
                self._queue.append(delivery)
            return
        delivery.outcome = "gave_up" if retryable else "discarded"


def register(app: Any, state: BrevoState) -> WebhookHub:
    """The routes, the account listener, and a middleware naming the key behind each API change."""
    hub = WebhookHub(state)
    account = state.account
    account.listeners.append(hub.on_change)

    def attribute_changes(request: Request, call_next: Handler) -> Response:
        name = state.config.api_key_names.get(request.state.get("api_key", ""), "")
        with account.acting_as(name):
            return call_next(request)

    app.middlewares.append(attribute_changes)

    def the_webhook(request: Request) -> Webhook:
        webhook = hub.webhooks.get(path_int(request, "webhookId"))
        if webhook is None:
            errors.not_found("Webhook not found")
        return webhook

    @app.route("POST", "/v3/webhooks")
    def create_webhook(request: Request) -> Response:
        return Response.json({"id": hub.create(errors.json_body(request)).id}, status=201)

    @app.route("GET", "/v3/webhooks")
    def list_webhooks(request: Request) -> Response:
        kind = request.arg("type") or "transactional"
        if kind not in TYPES:
            errors.invalid(f"type should be one of {', '.join(TYPES)}")
        descending = sort_arg(request)
        with hub.lock:
            found = sorted((w for w in hub.webhooks.values() if w.type == kind), key=lambda w: w.id,
                           reverse=descending)
            return Response.json({"webhooks": [w.view() for w in found]})

    @app.route("GET", "/v3/webhooks/{webhookId}")
    def get_webhook(request: Request) -> Response:
        with hub.lock:
            return Response.json(the_webhook(request).view())

    @app.route("PUT", "/v3/webhooks/{webhookId}")
    def update_webhook(request: Request) -> Response:
        body = errors.json_body(request)
        hub.update(the_webhook(request), body)
        return Response.empty(204)

    @app.route("DELETE", "/v3/webhooks/{webhookId}")
    def delete_webhook(request: Request) -> Response:
        with hub.lock:
            del hub.webhooks[the_webhook(request).id]
        return Response.empty(204)

    @app.admin("GET", "/brevo/webhooks/deliveries")
    def deliveries(_: Request) -> Response:
        with hub.lock:
            return Response.json({"deliveries": [d.view() for d in hub.deliveries]})

    @app.admin("POST", "/brevo/webhooks/wait")
    def wait(request: Request) -> Response:
        body = request.json() or {}
        return Response.json({"idle": hub.wait(float(body.get("timeout", 10)))})

    @app.admin("POST", "/brevo/campaign_events")
    def campaign_event(request: Request) -> Response:
        body = request.json() or {}
        event, email = body.get("event"), str(body.get("email") or "").strip().lower()
        if event not in ("unsubscribed", "hardBounce"):
            raise ValueError('event should be "unsubscribed" or "hardBounce"')
        with account.lock:
            contact = account.by_identifier("email", email)
            if contact is None:
                raise ValueError(f"no contact has the email {email!r}")
            if event == "unsubscribed":
                account.set_flags(contact, email_blacklisted=True)  # the listener sends "unsubscribed"
            else:
                hub.emit("hard_bounce", contact.id, contact.email, {"camp_id": int(body.get("camp_id", 1))})
        return Response.json({"id": contact.id})

    return hub
