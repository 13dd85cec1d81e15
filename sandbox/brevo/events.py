"""Custom events: what Brevo accepts (``POST /events``, ``/events/batch``) and what it keeps.

Rules from Brevo's event docs (research/brevo-api.md §6): ``event_name`` is 1-255 characters of
letters, digits, ``-`` and ``_``; ``identifiers`` must name the contact (``contact_id`` wins over
the others); ``event_properties`` are at most 50 KB. A batch holds at most 200 events and 512 KB.
The messages for a missing name and missing identifiers are the ones Brevo's spec shows.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from typing import Any

from sandbox.brevo.values import iso_ms, parse_time_ms

EVENT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
IDENTIFIER_KEYS = ("contact_id", "email_id", "ext_id", "phone_id", "whatsapp_id", "landline_number_id")
MAX_PROPERTIES_BYTES = 50 * 1024
MAX_BATCH_EVENTS = 200
MAX_BATCH_BYTES = 512 * 1024


def _size(obj: Any) -> int:
    return len(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def event_error(event: Any) -> str | None:
    """Why Brevo refuses one event, or None when it is accepted."""
    if not isinstance(event, dict):
        return "event should be an object"
    name = event.get("event_name")
    if name is None or name == "":
        return "undefined event_name"
    if not isinstance(name, str) or not EVENT_NAME.match(name):
        return "event_name should be 1-255 characters: letters, digits, '-' and '_' only"
    identifiers = event.get("identifiers")
    if not isinstance(identifiers, dict) or not any(identifiers.get(k) not in (None, "") for k in IDENTIFIER_KEYS):
        return "Please pass at least one identifier or contact id"
    contact_id = identifiers.get("contact_id")
    if contact_id is not None and (not isinstance(contact_id, int) or isinstance(contact_id, bool)):
        return "identifiers.contact_id should be type integer"
    for key in IDENTIFIER_KEYS[1:]:
        if identifiers.get(key) is not None and not isinstance(identifiers[key], str):
            return f"identifiers.{key} should be type string"
    date = event.get("event_date")
    if date is not None and (not isinstance(date, str) or parse_time_ms(date) is None):
        return "event_date should be an ISO 8601 date-time"
    properties = event.get("event_properties")
    if properties is not None:
        if not isinstance(properties, dict):
            return "event_properties should be type object"
        if any(not isinstance(k, str) or not EVENT_NAME.match(k) for k in properties):
            return "event_properties keys should be 1-255 characters: letters, digits, '-' and '_' only"
        if _size(properties) > MAX_PROPERTIES_BYTES:
            return "event_properties should not exceed 50KB"
    contact_properties = event.get("contact_properties")
    if contact_properties is not None:
        if not isinstance(contact_properties, dict):
            return "contact_properties should be type object"
        if any(not isinstance(v, str | int | float | bool) for v in contact_properties.values()):
            return "contact_properties values should be string, number or boolean"
    return None


def batch_errors(events: list[Any]) -> list[dict[str, Any]]:
    """Brevo's ``errors``: one entry per message with the indexes of the events it refused."""
    by_message: dict[str, list[int]] = {}
    for index, event in enumerate(events):
        message = event_error(event)
        if message is not None:
            by_message.setdefault(message, []).append(index)
    return [{"eventIndex": indexes, "message": message} for message, indexes in by_message.items()]


def batch_size_error(events: list[Any], body_bytes: int) -> str | None:
    if not events:
        return "events should NOT have fewer than 1 items"
    if len(events) > MAX_BATCH_EVENTS:
        return f"events should NOT have more than {MAX_BATCH_EVENTS} items"
    if body_bytes > MAX_BATCH_BYTES:
        return "The request body should not exceed 512KB"
    return None


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    event_name: str
    event_date_ms: int
    identifiers: dict[str, Any]
    contact_id: int | None  # the contact the identifiers named, when it exists
    event_properties: dict[str, Any] | None
    contact_properties: dict[str, Any] | None
    object: dict[str, Any] | None
    received_ms: int
    batch: bool

    def view(self) -> dict[str, Any]:
        """As ``GET /events`` shows it."""
        body: dict[str, Any] = {"event_name": self.event_name, "event_date": iso_ms(self.event_date_ms)}
        if self.contact_id is not None:
            body["contact_id"] = self.contact_id
        if self.event_properties is not None:
            body["event_properties"] = self.event_properties
        if self.contact_properties is not None:
            body["contact_properties"] = self.contact_properties
        if self.object and isinstance(self.object.get("type"), str):
            body["object_type"] = self.object["type"]
        return body

    def dump(self) -> dict[str, Any]:
        """Everything that was sent (admin endpoint)."""
        return {**self.view(), "seq": self.seq, "identifiers": self.identifiers, "object": self.object,
                "received_at": iso_ms(self.received_ms), "via_batch": self.batch}


class EventLog:
    """Every accepted event, in arrival order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[StoredEvent] = []

    def add(self, event: dict[str, Any], contact_id: int | None, now_ms: int, *, batch: bool) -> StoredEvent:
        date = event.get("event_date")
        with self._lock:
            stored = StoredEvent(
                seq=len(self._events) + 1,
                event_name=event["event_name"],
                event_date_ms=parse_time_ms(date) if date else now_ms,  # type: ignore[arg-type]
                identifiers=dict(event["identifiers"]),
                contact_id=contact_id,
                event_properties=event.get("event_properties"),
                contact_properties=event.get("contact_properties"),
                object=event.get("object"),
                received_ms=now_ms,
                batch=batch,
            )
            self._events.append(stored)
            return stored

    def all(self) -> list[StoredEvent]:
        with self._lock:
            return list(self._events)

    def select(self, *, contact_ids: set[int] | None = None, names: set[str] | None = None,
               start_ms: int | None = None, end_ms: int | None = None) -> list[StoredEvent]:
        """Matching events, newest ``event_date`` first (as Brevo orders them)."""
        found = [e for e in self.all()
                 if (contact_ids is None or e.contact_id in contact_ids)
                 and (names is None or e.event_name in names)
                 and (start_ms is None or e.event_date_ms >= start_ms)
                 and (end_ms is None or e.event_date_ms <= end_ms)]
        found.sort(key=lambda e: (e.event_date_ms, e.seq), reverse=True)
        return found
