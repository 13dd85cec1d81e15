"""Recognising webhook bodies: Pipedrive v1 and v2, Brevo marketing events.

Pure functions, no Airflow and no I/O: the receivers call them to decide 200 or 400 (an unknown
shape is quarantined, never half-applied), and the applying DAGs call them again on the stored
body to get one small, version-independent description of each event.

Pipedrive sends two generations side by side (research §6): v2 (``meta.action`` create/change/
delete, ``meta.entity``, ``data``, ``previous`` holding only the changed fields, ``meta.id`` a uuid,
ids as strings) and v1 (``meta.action`` added/updated/deleted/merged, ``meta.object``, ``current``,
``previous``, ``retry``). Both are normalised to v2's vocabulary. v1 has no event id; one is derived
from the meta fields that do not change between retries, so a retried v1 delivery dedupes.

A v2 merge arrives as two events: the loser's ``delete`` with ``merged_to_id`` and the winner's
``change`` with ``merged_from_id`` (in ``meta``; also looked up in ``data``/``previous``). A v1
``merged`` event becomes the winner's ``change`` with ``merged_from_id`` = the id in ``previous``.

Brevo sends its marketing events in snake_case (``contact_updated``, ``list_addition``, ...), one
JSON object per request, or a JSON array when the webhook is ``batched``. Brevo has no event id
either: the id is a hash of the whole body (a retry resends the same body).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


class PayloadError(ValueError):
    """A body that is not a known webhook payload; the message says which field and what is valid."""


# ------------------------------------------------------------------------------------- Pipedrive
V2_ACTIONS = ("create", "change", "delete")
V1_ACTIONS = {"added": "create", "updated": "change", "deleted": "delete", "merged": "change"}
#: v1 object names that differ from v2 entity names
V1_OBJECTS = {"activityType": "activity_type"}
_ENTITY = re.compile(r"^[a-z][a-z_]{0,39}$")


@dataclass(frozen=True)
class PipedriveEvent:
    """One Pipedrive webhook, v1 or v2, described in v2's terms."""

    version: str  # "1.0" | "2.0"
    action: str  # create | change | delete
    entity: str  # person, deal, organization, activity, lead, ... (v2 names)
    entity_id: int | str | None  # int when numeric (persons, deals, ...); leads have uuids
    event_id: str  # v2 meta.id; v1: derived from meta fields, stable across retries
    timestamp: datetime | None  # when Pipedrive says the change happened (meta.timestamp), UTC
    update_time: datetime | None  # the record's update_time after the change (None on delete)
    data: dict[str, Any] | None  # state after the change (v2 data / v1 current); None on delete
    previous: dict[str, Any] | None  # v2 change: only the changed fields' old values; delete: last state
    merged_to_id: int | str | None = None  # on the loser's delete of a merge
    merged_from_id: int | str | None = None  # on the winner's change of a merge
    attempt: int = 1  # 1..4 (v2 meta.attempt; v1 retry + 1)
    change_source: str | None = None  # "app", "api", ...
    is_bulk: bool = False
    original_action: str = ""  # as sent (v1 "merged", "added", ...)


def _id(value: Any) -> int | str | None:
    """Ids are strings in v2 meta and ints elsewhere; numeric ones become ints so both versions agree."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise PayloadError(f"an id must be a number or a string, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return int(value) if value.isdigit() else value
    raise PayloadError(f"an id must be a number or a string, got {type(value).__name__}")


def _record_id(declared: Any, record: Mapping[str, Any] | None, field: str) -> int | str:
    """The event's record id: the one ``meta`` declares (``field``), else the record's own ``id``."""
    found = _id(declared)
    if found is None:
        found = _id((record or {}).get("id"))
    if found is None:
        raise PayloadError(f"`{field}` is missing and the record has no `id`")
    return found


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 (``...Z``), Pipedrive v1's ``YYYY-MM-DD HH:MM:SS`` (UTC) or epoch seconds -> aware UTC."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value), tz=UTC)
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return None


def _dict_or_none(body: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise PayloadError(f"`{name}` must be an object or null, got {type(value).__name__}")
    return value


def _merge_id(meta: Mapping[str, Any], records: list[dict[str, Any] | None], name: str) -> int | str | None:
    for holder in (meta, *records):
        if holder and holder.get(name) not in (None, ""):
            return _id(holder.get(name))
    return None


def parse_pipedrive(body: Any) -> PipedriveEvent:
    """Describe a Pipedrive webhook body; :class:`PayloadError` names what is wrong with an unknown one."""
    if not isinstance(body, Mapping):
        raise PayloadError(f"a Pipedrive webhook body is a JSON object, got {type(body).__name__}")
    meta = body.get("meta")
    if not isinstance(meta, Mapping):
        raise PayloadError("`meta` is missing or not an object; Pipedrive v1 and v2 bodies both have one")
    if "object" in meta or str(meta.get("v", "")) == "1" or body.get("v") == 1:
        return _parse_v1(body, meta)
    return _parse_v2(body, meta)


def _entity(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _ENTITY.match(V1_OBJECTS.get(value, value)):
        raise PayloadError(f"`{where}` must name an entity such as person, deal, organization; got {value!r}")
    return V1_OBJECTS.get(value, value)


def _parse_v2(body: Mapping[str, Any], meta: Mapping[str, Any]) -> PipedriveEvent:
    action = meta.get("action")
    if action not in V2_ACTIONS:
        raise PayloadError(f"`meta.action` must be one of {', '.join(V2_ACTIONS)} (v2) "
                           f"or added/updated/deleted/merged with `meta.object` (v1); got {action!r}")
    entity = _entity(meta.get("entity"), "meta.entity")
    event_id = meta.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise PayloadError("`meta.id` (the v2 event id) is missing or not a string")
    data = _dict_or_none(body, "data")
    previous = _dict_or_none(body, "previous")
    if action in ("create", "change") and data is None:
        raise PayloadError(f"a v2 `{action}` event carries the record in `data`; it is missing")
    if action == "delete" and data is None and previous is None:
        raise PayloadError("a v2 `delete` event carries the last state in `previous`; it is missing")
    entity_id = _record_id(meta.get("entity_id"), data or previous, "meta.entity_id")
    attempt = meta.get("attempt", 1)
    return PipedriveEvent(
        version="2.0",
        action=action,
        entity=entity,
        entity_id=entity_id,
        event_id=event_id,
        timestamp=parse_time(meta.get("timestamp")),
        update_time=parse_time((data or {}).get("update_time")),
        data=data,
        previous=previous,
        merged_to_id=_merge_id(meta, [previous, data], "merged_to_id"),
        merged_from_id=_merge_id(meta, [data, previous], "merged_from_id"),
        attempt=attempt if isinstance(attempt, int) and not isinstance(attempt, bool) else 1,
        change_source=meta.get("change_source"),
        is_bulk=bool(meta.get("is_bulk_edit", False)),
        original_action=action,
    )


def _parse_v1(body: Mapping[str, Any], meta: Mapping[str, Any]) -> PipedriveEvent:
    original = meta.get("action")
    if original not in V1_ACTIONS:
        raise PayloadError(f"`meta.action` must be one of {', '.join(V1_ACTIONS)} (v1); got {original!r}")
    entity = _entity(meta.get("object"), "meta.object")
    current = body.get("current")
    if entity == "user" and isinstance(current, list):  # v1 user events put the object at current[0]
        current = current[0] if current else None
    if current is not None and not isinstance(current, dict):
        raise PayloadError(f"`current` must be an object or null, got {type(current).__name__}")
    previous = body.get("previous")
    if entity == "user" and isinstance(previous, list):
        previous = previous[0] if previous else None
    if previous is not None and not isinstance(previous, dict):
        raise PayloadError(f"`previous` must be an object or null, got {type(previous).__name__}")
    action = V1_ACTIONS[original]
    if action != "delete" and current is None:
        raise PayloadError(f"a v1 `{original}` event carries the record in `current`; it is missing")
    entity_id = _record_id(meta.get("id"), current or previous, "meta.id")
    merged_from = None
    if original == "merged" and previous and _id(previous.get("id")) not in (None, entity_id):
        merged_from = _id(previous.get("id"))
    stamp = meta.get("timestamp_micro") or meta.get("timestamp")
    identity = json.dumps(["v1", original, entity, entity_id, stamp, meta.get("company_id"),
                           meta.get("webhook_id")], default=str)
    retry = body.get("retry", 0)
    return PipedriveEvent(
        version="1.0",
        action=action,
        entity=entity,
        entity_id=entity_id,
        event_id="v1-" + hashlib.sha256(identity.encode()).hexdigest()[:32],
        timestamp=parse_time(meta.get("timestamp")),
        update_time=parse_time((current or {}).get("update_time")),
        data=current if action != "delete" else None,
        previous=previous,
        merged_to_id=_merge_id(meta, [], "merged_to_id"),
        merged_from_id=merged_from,
        attempt=(retry + 1) if isinstance(retry, int) and not isinstance(retry, bool) else 1,
        change_source=meta.get("change_source"),
        is_bulk=bool(meta.get("is_bulk_update", False)),
        original_action=original,
    )


# ----------------------------------------------------------------------------------------- Brevo
#: marketing events as Brevo sends them (snake_case); the camelCase names used when registering map here
BREVO_EVENTS = ("unsubscribed", "contact_updated", "contact_deleted", "list_addition", "hard_bounce",
                "soft_bounce", "spam", "opened", "unique_opened", "click", "delivered", "proxy_open")
_CAMEL = {"contactUpdated": "contact_updated", "contactDeleted": "contact_deleted",
          "listAddition": "list_addition", "hardBounce": "hard_bounce", "softBounce": "soft_bounce",
          "uniqueOpened": "unique_opened", "proxyOpen": "proxy_open"}
_CONTACT_EVENTS = ("contact_updated", "contact_deleted", "list_addition", "unsubscribed")


@dataclass(frozen=True)
class BrevoEvent:
    """One Brevo marketing webhook event."""

    event: str  # snake_case, one of BREVO_EVENTS
    email: str | None  # lower-cased
    contact_id: int | None  # Brevo's contact id (`id`) when sent
    event_id: str  # sha256 of the canonical body: a retry resends the same body
    timestamp: datetime | None  # ts_event, else ts (UTC epoch seconds)
    list_ids: tuple[int, ...] = ()
    attributes: dict[str, Any] = field(default_factory=dict)  # contact_updated: the changed attributes
    api_key_name: str | None = None  # 2026-11: the API key that made the change ("" = not via the API)


def brevo_items(body: Any) -> list[Mapping[str, Any]]:
    """The events in a body: one object, or a JSON array when the webhook is ``batched``."""
    if isinstance(body, Mapping):
        return [body]
    if isinstance(body, list) and body and all(isinstance(item, Mapping) for item in body):
        return list(body)
    raise PayloadError("a Brevo webhook body is a JSON object (or a non-empty array of them for a batched "
                       f"webhook), got {type(body).__name__ if not isinstance(body, list) else 'another array'}")


def parse_brevo(body: Any) -> BrevoEvent:
    """Describe one Brevo marketing event; :class:`PayloadError` for anything else."""
    if not isinstance(body, Mapping):
        raise PayloadError(f"a Brevo webhook event is a JSON object, got {type(body).__name__}")
    raw_event = body.get("event")
    event = _CAMEL.get(raw_event, raw_event) if isinstance(raw_event, str) else raw_event
    if event not in BREVO_EVENTS:
        raise PayloadError(f"`event` must be one of {', '.join(BREVO_EVENTS)}; got {raw_event!r}")
    email = body.get("email")
    if email is not None and (not isinstance(email, str) or "@" not in email):
        raise PayloadError(f"`email` must be an email address, got {email!r}")
    if event in _CONTACT_EVENTS and not email and body.get("id") in (None, ""):
        raise PayloadError(f"a `{event}` event names its contact by `email` or `id`; both are missing")
    lists = body.get("list_id", [])
    if isinstance(lists, (int, str)) and not isinstance(lists, bool):
        lists = [lists]
    if not isinstance(lists, list):
        raise PayloadError(f"`list_id` must be a list of list ids, got {type(lists).__name__}")
    try:
        list_ids = tuple(int(x) for x in lists)
    except (TypeError, ValueError):
        raise PayloadError(f"`list_id` must hold integers, got {lists!r}") from None
    attributes: dict[str, Any] = {}
    content = body.get("content")
    if isinstance(content, list):
        for item in content:
            if isinstance(item, Mapping):
                attributes.update(item)
    elif isinstance(content, Mapping):
        attributes.update(content)
    contact_id = body.get("id") if event in _CONTACT_EVENTS else body.get("contact_id")
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    api_key_name = body.get("api_key_name")
    return BrevoEvent(
        event=event,
        email=email.strip().lower() if email else None,
        contact_id=contact_id if isinstance(contact_id, int) and not isinstance(contact_id, bool) else None,
        event_id="brevo-" + hashlib.sha256(canonical.encode()).hexdigest()[:32],
        timestamp=parse_time(body.get("ts_event", body.get("ts"))),
        list_ids=list_ids,
        attributes=attributes,
        api_key_name=api_key_name if isinstance(api_key_name, str) else None,
    )
