"""The webhook event store: every accepted webhook body, kept before the sender hears 200.

Pipedrive and Brevo retry a few times and then give up (Brevo even discards an event on most 4xx/5xx),
so the receivers persist each body first and leave the work to a DAG. The store lives under the
data location, so the api-server that receives and the workers that apply share nothing else.

Layout::

    webhooks/<source>/YYYY/MM/DD/HH/<YYYYMMDDTHHMMSSffffff>Z-<uuid>.json   one event, the body as received
    webhooks/<source>/quarantine/YYYY/MM/DD/<name>.body (+ <name>.json)     rejected bodies and why
    state/webhooks/<source>/watermark.json                                 {"closed_through": "YYYY/MM/DD/HH"}
    state/webhooks/<source>/applied/YYYY/MM/DD/HH.json                      applied names of an open hour

Keys sort by receive time (the file name starts with it), so "oldest first" is a sort of names.
Events are append-only: nothing here rewrites or deletes an event file.

Why a watermark *and* per-hour applied sets: ``pending_events`` must stay cheap when years of events
pile up, so it only opens hour partitions after the watermark (pruning year/month/day folders by
name). An hour is only *closed* (moved under the watermark) when every event in it is applied and
the hour ended at least :data:`CLOSE_AFTER` ago: a slow writer that stamped its event with an
earlier receive time still lands in an open hour and is found. Until then the hour's applied names
are kept in its own small marker file.

``mark_applied`` is meant to be called by one applier at a time per source (the applying DAGs run
with ``max_active_runs=1``); concurrent receivers only ever create new event files.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pipedrive_brevo.storage import DataLocation

SOURCES = ("pipedrive", "brevo")
EVENTS_PREFIX = "webhooks"
STATE_PREFIX = "state/webhooks"
#: how long after an hour ends its partition may still receive a late write before it can close
CLOSE_AFTER = timedelta(hours=1)

_STAMP = "%Y%m%dT%H%M%S%f"


@dataclass(frozen=True)
class StoredEvent:
    """One accepted webhook as it was stored."""

    source: str  # "pipedrive" | "brevo"
    key: str  # its path under the data location
    received_at: datetime  # UTC, aware
    body: dict[str, Any]  # the JSON payload exactly as received


# ----------------------------------------------------------------------------------------- paths
def _check_source(source: str) -> str:
    if source not in SOURCES:
        raise ValueError(f"unknown webhook source {source!r}; valid: {', '.join(SOURCES)}")
    return source


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError(f"received_at {moment.isoformat()} has no time zone; pass an aware UTC datetime")
    return moment.astimezone(UTC)


def _hour(moment: datetime) -> str:
    return moment.strftime("%Y/%m/%d/%H")


def _name(moment: datetime) -> str:
    return f"{moment.strftime(_STAMP)}Z-{uuid.uuid4().hex}"


def event_key(source: str, received_at: datetime, name: str) -> str:
    """Where an event received at ``received_at`` lives (``name`` without ``.json``)."""
    return f"{EVENTS_PREFIX}/{source}/{_hour(received_at)}/{name}.json"


def received_at_of(key: str) -> datetime:
    """The receive time encoded in an event key's file name."""
    stamp = key.rsplit("/", 1)[-1].split("Z-", 1)[0]
    return datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC)


def _hour_of_key(key: str) -> str:
    # webhooks/<source>/YYYY/MM/DD/HH/<name>.json
    return "/".join(key.split("/")[2:6])


def _applied_path(source: str, hour: str) -> str:
    return f"{STATE_PREFIX}/{source}/applied/{hour}.json"


def _watermark_path(source: str) -> str:
    return f"{STATE_PREFIX}/{source}/watermark.json"


# ----------------------------------------------------------------------------------------- write
def append_event(
    store: DataLocation, source: str, body: Mapping[str, Any], *, received_at: datetime | None = None
) -> StoredEvent:
    """Store one accepted event atomically; returns it with its key. Never overwrites anything."""
    _check_source(source)
    moment = _utc(received_at)
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    key = event_key(source, moment, _name(moment))
    store.write_bytes(key, data)
    return StoredEvent(source=source, key=key, received_at=moment, body=json.loads(data))


def quarantine(
    store: DataLocation, source: str, raw: bytes, reason: str, *, received_at: datetime | None = None
) -> str:
    """Keep a rejected body for inspection: ``<name>.body`` holds the bytes, ``<name>.json`` why.

    Returns the key of the ``.body`` file. Quarantined bodies are never applied.
    """
    _check_source(source)
    moment = _utc(received_at)
    base = f"{EVENTS_PREFIX}/{source}/quarantine/{moment.strftime('%Y/%m/%d')}/{_name(moment)}"
    store.write_bytes(f"{base}.body", bytes(raw))
    store.write_json(f"{base}.json", {
        "reason": reason, "received_at": moment.isoformat(), "size": len(raw), "body_key": f"{base}.body",
    })
    return f"{base}.body"


# ------------------------------------------------------------------------------------------ read
def _children(store: DataLocation, relpath: str) -> list[str]:
    """Names of the entries directly under ``relpath`` (files and folders), sorted."""
    try:
        entries = store.fs.ls(store.path(relpath), detail=False)
    except FileNotFoundError:
        return []
    return sorted(str(e).rstrip("/").rsplit("/", 1)[-1] for e in entries)


def _watermark(store: DataLocation, source: str) -> str:
    return (store.read_json(_watermark_path(source), default={}) or {}).get("closed_through", "")


def _open_hours(store: DataLocation, source: str, watermark: str) -> list[str]:
    """Hour partitions (``YYYY/MM/DD/HH``) after the watermark, oldest first, folders pruned by name."""
    hours: list[str] = []

    def walk(prefix: str, depth: int) -> None:
        base = f"{EVENTS_PREFIX}/{source}" + (f"/{prefix}" if prefix else "")
        for name in _children(store, base):
            if not name.isdigit() or len(name) != (4 if depth == 0 else 2):
                continue  # quarantine/, temporary files
            path = f"{prefix}/{name}" if prefix else name
            if depth == 3:
                if path > watermark:
                    hours.append(path)
            elif path >= watermark[: len(path)]:
                walk(path, depth + 1)

    walk("", 0)
    return hours


def _events_in(store: DataLocation, source: str, hour: str) -> list[str]:
    base = f"{EVENTS_PREFIX}/{source}/{hour}"
    return [f"{base}/{name}" for name in _children(store, base)
            if name.endswith(".json") and not name.startswith(".tmp-")]


def _applied(store: DataLocation, source: str, hour: str) -> set[str]:
    return set(store.read_json(_applied_path(source, hour), default=[]) or [])


def pending_events(store: DataLocation, source: str, *, limit: int | None = None) -> list[StoredEvent]:
    """Events not yet marked applied, oldest received first (at most ``limit``)."""
    _check_source(source)
    if limit is not None and limit <= 0:
        return []
    keys: list[str] = []
    for hour in _open_hours(store, source, _watermark(store, source)):
        applied = _applied(store, source, hour)
        keys.extend(k for k in _events_in(store, source, hour) if k.rsplit("/", 1)[-1] not in applied)
        if limit is not None and len(keys) >= limit:
            keys = keys[:limit]
            break
    if not keys:
        return []
    contents = store.fs.cat([store.path(k) for k in keys])
    return [
        StoredEvent(source=source, key=k, received_at=received_at_of(k),
                    body=json.loads(contents[store.path(k)]))
        for k in keys
    ]


def mark_applied(
    store: DataLocation, source: str, keys: Iterable[str], *, now: datetime | None = None
) -> None:
    """Record ``keys`` as applied, then close the hours that are complete and old enough.

    Idempotent: marking a key twice is harmless. A key that is not an event of ``source`` is an error
    (naming it), so a typo can't silently leave an event pending forever.
    """
    _check_source(source)
    prefix = f"{EVENTS_PREFIX}/{source}/"
    by_hour: dict[str, set[str]] = {}
    for key in keys:
        parts = key.split("/")
        if not key.startswith(prefix) or len(parts) != 7 or not parts[-1].endswith(".json"):
            raise ValueError(f"{key!r} is not a stored {source} webhook event key "
                             f"(expected {prefix}YYYY/MM/DD/HH/<name>.json)")
        by_hour.setdefault(_hour_of_key(key), set()).add(parts[-1])
    watermark = _watermark(store, source)
    for hour, names in sorted(by_hour.items()):
        if hour <= watermark:
            continue  # already closed: everything in it was applied
        applied = _applied(store, source, hour)
        if not names <= applied:
            store.write_json(_applied_path(source, hour), sorted(applied | names))
    _close_hours(store, source, watermark, _utc(now))


def _close_hours(store: DataLocation, source: str, watermark: str, now: datetime) -> None:
    """Advance the watermark over the leading run of fully applied hours that ended ``CLOSE_AFTER`` ago."""
    closed = watermark
    for hour in _open_hours(store, source, watermark):
        end = datetime.strptime(hour, "%Y/%m/%d/%H").replace(tzinfo=UTC) + timedelta(hours=1)
        if end + CLOSE_AFTER > now:
            break
        applied = _applied(store, source, hour)
        if any(k.rsplit("/", 1)[-1] not in applied for k in _events_in(store, source, hour)):
            break
        closed = hour
    if closed != watermark:
        store.write_json(_watermark_path(source), {"closed_through": closed})
        for hour in _open_hours(store, source, watermark):
            if hour > closed:
                break
            store.delete(_applied_path(source, hour))
