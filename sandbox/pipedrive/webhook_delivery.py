"""The Pipedrive sandbox sends its webhooks, as Pipedrive does, whenever a record changes.

Every record change goes through ``PipedriveStore.upsert`` (admin upserts and deletes, the v2
API's writes, merges), so :meth:`WebhookDelivery.attach` observes that one method and turns each
change into an event: a new record is ``create``, ``is_deleted`` turning true is ``delete``, any
other change of a field is ``change`` (a write that changes nothing but ``update_time`` sends
nothing). Each stored webhook (``POST /v1/webhooks``) whose ``event_action``/``event_object``
match gets a POST to its ``subscription_url`` with its basic-auth credentials, in its version
(research pipedrive-api.md §6):

- v2 (``"2.0"``, the default): ``meta`` (``id`` a uuid per event, ``action``, ``entity``,
  ``entity_id`` and the other ids as strings, ``timestamp``, ``attempt`` 1..4, ...), ``data`` the
  record after the change (null on delete), ``previous`` null on create, only the changed fields'
  old values on change, the last state on delete. A merge of persons sends the loser's ``delete``
  with ``meta.merged_to_id`` and the winner's ``change`` with ``meta.merged_from_id``.
- v1 (``"1.0"``): ``event`` ``added.person`` ..., ``meta`` with ``action``/``object``/int ``id``,
  ``retry`` 0..3, ``current`` and ``previous`` as whole records (the sandbox's records, which are
  v2-shaped); a merge is one ``merged`` event (current: the winner, previous: the loser).

Delivery runs on one background thread, never inside the request that made the change. A non-2xx
answer or a timeout is retried after ``PipedriveConfig.webhook_retry_delays`` (Pipedrive: 3, 30 and
150 s). Only loopback targets are called; any other URL is refused and recorded (the sandbox never
reaches the network). Bans after repeated failures are not modelled.

Admin routes: ``GET /__admin/pipedrive/webhook_deliveries`` (every attempt, pending count),
``POST /__admin/pipedrive/webhook_deliveries/wait`` (``{"timeout": s}``: until the queue is empty),
``POST /__admin/records/persons/merge`` (``{"loser_id": ..., "winner_id": ...}``).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import heapq
import ipaddress
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sandbox.pipedrive import times
from sandbox.server import HTTPError, Request, Response

if TYPE_CHECKING:
    from sandbox.pipedrive.app import PipedriveApp

ENTITY_NAMES = {"persons": "person", "organizations": "organization", "deals": "deal",
                "activities": "activity", "leads": "lead"}
V1_ACTIONS = {"create": "added", "change": "updated", "delete": "deleted"}
_HOOK_ACTIONS = {"added": "create", "updated": "change", "deleted": "delete", "merged": "change"}


def is_loopback_url(url: str) -> bool:
    """http(s) to 127.0.0.0/8, ::1 or localhost: the only targets the sandbox calls."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def changed_fields(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The old values of the fields ``new`` changed (``custom_fields`` key by key), ``update_time`` aside."""
    previous: dict[str, Any] = {}
    for key in sorted(set(old) | set(new)):
        if key == "update_time" or old.get(key) == new.get(key):
            continue
        if key == "custom_fields" and isinstance(old.get(key), dict) and isinstance(new.get(key), dict):
            before, after = old[key], new[key]
            previous[key] = {k: before.get(k) for k in sorted(set(before) | set(after))
                             if before.get(k) != after.get(k)}
        else:
            previous[key] = copy.deepcopy(old.get(key))
    return previous


class WebhookDelivery:
    """Observes the store, builds the webhook bodies and delivers them on a background thread."""

    def __init__(self, app: PipedriveApp):
        self.app = app
        self.store = app.store
        self.attempts: list[dict[str, Any]] = []
        self._queue: list[tuple[float, int, dict[str, Any]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._in_flight = 0
        self._local = threading.local()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ observing
    def attach(self) -> None:
        """Route the store's writes through :meth:`_observed_upsert`."""
        original = self.store.upsert

        def upsert(entity: str, changes: dict[str, Any], *, create: bool = True) -> dict[str, Any]:
            with self.store.lock:
                if not self.store.webhooks:  # the common case (syncs, benchmarks): no cost at all
                    return original(entity, changes, create=create)
                record_id = changes.get("id") if isinstance(changes, dict) else None
                table = self.store.tables.get(entity)
                before = table.get(record_id) if table is not None and record_id is not None else None
                before = copy.deepcopy(before)
                after = original(entity, changes, create=create)
                self.record_change(entity, before, after)
                return after

        self.store.upsert = upsert  # type: ignore[method-assign]

    @contextlib.contextmanager
    def change_source(self, source: str) -> Iterator[None]:
        """Changes made inside are reported with this ``change_source`` ("api"; default "app")."""
        previous = getattr(self._local, "source", None)
        self._local.source = source
        try:
            yield
        finally:
            self._local.source = previous

    def record_change(self, entity: str, before: dict[str, Any] | None, after: dict[str, Any]) -> None:
        """Queue the webhooks one store write causes (nothing when no field but update_time changed)."""
        name = ENTITY_NAMES.get(entity)
        if name is None:
            return
        merge = getattr(self._local, "merge", None) or {}
        if before is None:
            action, data, previous = "create", after, None
        elif after.get("is_deleted") and not before.get("is_deleted"):
            action, data, previous = "delete", None, before
        else:
            previous = changed_fields(before, after)
            if not previous:
                return
            action, data = "change", after
        meta_extra: dict[str, Any] = {}
        record_id = after.get("id")
        if merge and name == "person":
            if action == "delete" and record_id == merge["loser_id"]:
                meta_extra["merged_to_id"] = str(merge["winner_id"])
            elif action == "change" and record_id == merge["winner_id"]:
                meta_extra["merged_from_id"] = str(merge["loser_id"])
        event = {
            "id": str(uuid.uuid4()), "action": action, "entity": name, "entity_id": record_id,
            "epoch": self.app.clock(), "data": copy.deepcopy(data), "previous": copy.deepcopy(previous),
            "before": copy.deepcopy(before), "after": copy.deepcopy(after), "meta_extra": meta_extra,
            "change_source": getattr(self._local, "source", None) or "app",
        }
        with self.store.lock:
            hooks = [copy.deepcopy(h) for h in self.store.webhooks.values() if self._matches(h, action, name)]
        for hook in hooks:
            if str(hook.get("version") or "2.0").startswith("1") and meta_extra.get("merged_to_id"):
                continue  # v1 reports a merge once, as the winner's `merged` event
            self._enqueue({"hook": hook, "event": event, "attempt": 1}, delay=0.0)

    @staticmethod
    def _matches(hook: dict[str, Any], action: str, entity: str) -> bool:
        hook_action = hook.get("event_action")
        hook_object = hook.get("event_object")
        return (hook_action == "*" or _HOOK_ACTIONS.get(hook_action, hook_action) == action) and \
            hook_object in ("*", entity)

    # --------------------------------------------------------------- merges
    def merge_persons(self, loser_id: int, winner_id: int) -> dict[str, Any]:
        """Merge ``loser_id`` into ``winner_id`` as Pipedrive does: the loser's deals, activities and
        emails/phones move to the winner, the loser is deleted. Returns the winner."""
        store = self.store
        with store.lock:
            loser = store.get("persons", loser_id)
            winner = store.get("persons", winner_id)
            if loser.get("is_deleted") or winner.get("is_deleted") or loser_id == winner_id:
                raise ValueError("merge needs two different persons that are not deleted")
            self._local.merge = {"loser_id": loser_id, "winner_id": winner_id}
            try:
                for entity in ("deals", "activities"):
                    for record in list(store.tables[entity].referencing("person_id", loser_id)):
                        store.upsert(entity, {"id": record["id"], "person_id": winner_id})
                store.upsert("persons", {"id": loser_id, "is_deleted": True}, create=False)
                changes: dict[str, Any] = {"id": winner_id}
                for key in ("emails", "phones"):
                    have = list(winner.get(key) or [])
                    known = {item.get("value") for item in have if isinstance(item, dict)}
                    extra = [dict(item, primary=False) for item in loser.get(key) or []
                             if isinstance(item, dict) and item.get("value") not in known]
                    if extra:
                        changes[key] = have + extra
                return store.upsert("persons", changes, create=False)
            finally:
                self._local.merge = None

    # -------------------------------------------------------------- bodies
    def body(self, hook: dict[str, Any], event: dict[str, Any], attempt: int) -> dict[str, Any]:
        """The JSON a webhook of ``hook``'s version receives for ``event`` at ``attempt`` (1-based)."""
        config = self.app.config
        host = f"{self.store.company_domain}.pipedrive.com"
        if str(hook.get("version") or "2.0").startswith("1"):
            merged = bool(event["meta_extra"].get("merged_from_id"))
            action = "merged" if merged else V1_ACTIONS[event["action"]]
            previous = event["before"]
            if merged:
                previous = self.store.get("persons", int(event["meta_extra"]["merged_from_id"]))
            epoch = event["epoch"]
            return {
                "v": 1, "event": f"{action}.{event['entity']}", "retry": attempt - 1,
                "matches_filters": {"current": []},
                "meta": {"v": 1, "action": action, "object": event["entity"], "id": event["entity_id"],
                         "company_id": config.company_id, "user_id": config.user_id, "host": host,
                         "timestamp": int(epoch), "timestamp_micro": int(epoch * 1_000_000),
                         "permitted_user_ids": [config.user_id], "trans_pending": False,
                         "is_bulk_update": False, "pipedrive_service_name": False,
                         "matches_filters": {"current": [], "previous": []}, "webhook_id": hook["id"],
                         "change_source": event["change_source"]},
                "current": None if event["action"] == "delete" else event["after"],
                "previous": previous,
            }
        meta = {
            "action": event["action"], "entity": event["entity"], "entity_id": str(event["entity_id"]),
            "id": event["id"], "company_id": str(config.company_id), "user_id": str(config.user_id),
            "correlation_id": event["id"], "is_bulk_edit": False,
            "timestamp": times.millis_timestamp(event["epoch"]), "type": hook.get("type") or "general",
            "version": "2.0", "webhook_id": str(hook["id"]), "webhook_owner_id": str(hook.get("owner_id")),
            "change_source": event["change_source"], "attempt": attempt, "host": host,
            "permitted_user_ids": [str(config.user_id)], **event["meta_extra"],
        }
        return {"meta": meta, "data": event["data"], "previous": event["previous"]}

    # ------------------------------------------------------------- delivery
    def _enqueue(self, job: dict[str, Any], delay: float) -> None:
        with self._cond:
            heapq.heappush(self._queue, (time.monotonic() + delay, next(self._seq), job))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="pipedrive-webhooks", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def _work(self) -> None:
        while True:
            with self._cond:
                while True:
                    if not self._queue:
                        self._cond.notify_all()
                        if not self._cond.wait(timeout=30):
                            self._thread = None
                            return
                        continue
                    due = self._queue[0][0] - time.monotonic()
                    if due <= 0:
                        break
                    self._cond.wait(timeout=due)
                _, _, job = heapq.heappop(self._queue)
                self._in_flight += 1
            try:
                self._deliver(job)
            finally:
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()

    def _deliver(self, job: dict[str, Any]) -> None:
        hook, event, attempt = job["hook"], job["event"], job["attempt"]
        url = hook.get("subscription_url") or ""
        record = {"webhook_id": hook["id"], "event_id": event["id"], "action": event["action"],
                  "entity": event["entity"], "entity_id": event["entity_id"], "attempt": attempt,
                  "url": url, "version": str(hook.get("version") or "2.0"), "at": self.app.clock()}
        if not is_loopback_url(url):
            self._record({**record, "status": None, "error": "refused: the sandbox only calls loopback URLs"})
            return
        payload = json.dumps(self.body(hook, event, attempt)).encode("utf-8")
        request = urllib.request.Request(url, data=payload, method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "User-Agent": "Pipedrive Webhooks (sandbox)"})
        if hook.get("http_auth_user") or hook.get("http_auth_password"):
            pair = f"{hook.get('http_auth_user') or ''}:{hook.get('http_auth_password') or ''}".encode()
            request.add_header("Authorization", "Basic " + base64.b64encode(pair).decode())
        status: int | None = None
        error = None
        try:
            with urllib.request.urlopen(request, timeout=self.app.config.webhook_timeout_s) as answer:
                status = answer.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (OSError, urllib.error.URLError) as exc:  # refused, timeout
            error = type(exc).__name__
        self._record({**record, "status": status, "error": error})
        with self.store.lock:
            live = self.store.webhooks.get(hook["id"])
            if live is not None:
                live["last_delivery_time"] = times.millis_timestamp(self.app.clock())
                live["last_http_status"] = status
        delays = tuple(self.app.config.webhook_retry_delays)
        if (status is None or not 200 <= status < 300) and attempt <= len(delays):
            self._enqueue({**job, "attempt": attempt + 1}, delay=float(delays[attempt - 1]))

    def _record(self, attempt: dict[str, Any]) -> None:
        with self._cond:
            self.attempts.append(attempt)

    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + self._in_flight

    def wait(self, timeout: float = 10.0) -> bool:
        """Block until every queued delivery (retries included) is done; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(timeout=min(left, 0.05))
        return True


def register(app: PipedriveApp) -> WebhookDelivery:
    """Attach delivery to ``app``'s store and add its admin routes; returns it (also ``app.webhook_delivery``)."""
    delivery = WebhookDelivery(app)
    delivery.attach()

    @app.admin("GET", "/pipedrive/webhook_deliveries")
    def deliveries(_: Request) -> Response:
        with delivery._cond:
            attempts = list(delivery.attempts)
        return Response.json({"attempts": attempts, "pending": delivery.pending()})

    @app.admin("POST", "/pipedrive/webhook_deliveries/wait")
    def wait(request: Request) -> Response:
        try:
            body = request.json() or {}
            timeout = float(body.get("timeout", 10.0))
        except (ValueError, TypeError, AttributeError):
            raise HTTPError(Response.json({"error": 'the body must be {"timeout": seconds}'}, status=400)) from None
        drained = delivery.wait(min(timeout, 300.0))
        return Response.json({"drained": drained, "pending": delivery.pending()})

    @app.admin("POST", "/records/persons/merge")
    def merge(request: Request) -> Response:
        try:
            body = request.json() or {}
            loser_id, winner_id = int(body["loser_id"]), int(body["winner_id"])
        except (ValueError, TypeError, KeyError, AttributeError):
            raise HTTPError(Response.json({"error": 'the body must be {"loser_id": int, "winner_id": int}'},
                                          status=400)) from None
        try:
            winner = delivery.merge_persons(loser_id, winner_id)
        except LookupError as exc:
            return Response.json({"error": f"no such person: {exc}"}, status=404)
        except ValueError as exc:
            return Response.json({"error": str(exc)}, status=400)
        return Response.json({"data": winner})

    app.webhook_delivery = delivery  # type: ignore[attr-defined]
    return delivery
