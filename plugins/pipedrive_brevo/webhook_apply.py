"""Applying stored Pipedrive webhook events to the entity snapshots, the way a sync's merge does.

The webhook path must end in the same Brevo state as the hourly sync, so it shares every step
after extraction: the events become raw pages of the run (``raw/<entity>/<run_id>/webhook-00001.parquet``)
and :func:`pipedrive_brevo.extraction.merge_entity` merges them into ``snapshots/<entity>.parquet``,
keeping the deals' earlier versions in ``runs/<run_id>/previous/deals.parquet`` exactly as for a
sync (no watermark moves: the streams of the extraction are not involved). The plan and load that
follow are the sync's own (:func:`.planning.plan_run`, :func:`.load.load_run`).

What happens to a batch of events (pure functions, then :func:`apply_events` does the I/O):

1. **parse** (:func:`parse_event`, through :func:`.webhooks.payloads.parse_pipedrive`): v2 and v1
   bodies in v2's terms. Entities the sync does not keep (notes, products, ...) are skipped.
2. **dedupe** by event id: Pipedrive retries after 3, 30 and 150 s when an answer is late or fails
   (v2: ``meta.id``; v1: an id derived from the meta fields a retry keeps).
3. **order** by entity, record and time; per record only the last change counts (the snapshot, like
   a sync, sees where a record ended, not every step of its way).
4. **stale** events are dropped: one not newer than the ``update_time`` the snapshot already holds
   (a retry arriving after a later change, or a change the hourly sync already read).
5. **fetch** (:func:`needs_fetch`): a v1 body (v1 record shape), a v2 ``change`` whose ``data``
   lacks a field the transforms read, and the winner of a merge are read again from the API, by ids,
   100 a call. A record gone from the listing keeps the payload laid over its stored version.
6. **deletes** become the record's last version flagged ``is_deleted`` and stamped with the event time,
   so ``options.delete_behavior`` applies as for a delete the sync finds; a **merge** (v2: a delete
   with ``merged_to_id`` plus a change with ``merged_from_id``; v1: ``merged``) deletes the loser (also
   when only the winner's event has arrived yet) and refreshes the winner and its deals and
   activities, which Pipedrive moved to it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from pipedrive_brevo.snapshots import _time as snapshot_time
from pipedrive_brevo.snapshots import page_frame
from pipedrive_brevo.storage import DataLocation, safe

log = logging.getLogger(__name__)

#: Pipedrive's webhook object → the snapshot (entity) it changes.
ENTITIES: dict[str, str] = {"person": "persons", "deal": "deals", "activity": "activities",
                            "organization": "organizations", "lead": "leads"}
#: The hook's v2 collection to re-read records of an entity by ids (leads have no v2 listing).
FETCH_COLLECTIONS: dict[str, tuple[str, ...]] = {"persons": ("persons",), "deals": ("deals", "deals_archived"),
                                                 "activities": ("activities",), "organizations": ("organizations",)}
#: Fields every full record carries that the transforms read: a v2 ``change`` whose ``data`` lacks
#: one is fetched in full. (Optional fields such as ``org_id`` or ``deal_id`` may be absent from a
#: full record too; a won or lost deal must carry its ``won_time``/``lost_time``.)
REQUIRED_FIELDS: dict[str, frozenset[str]] = {
    "persons": frozenset({"id", "update_time", "name", "first_name", "last_name", "emails", "phones", "owner_id",
                          "custom_fields"}),
    "deals": frozenset({"id", "update_time", "title", "pipeline_id", "stage_id", "status", "value", "currency",
                        "add_time"}),
    "activities": frozenset({"id", "update_time", "type", "subject", "done", "due_date", "add_time"}),
    "organizations": frozenset({"id", "update_time", "name", "custom_fields"}),
    "leads": frozenset({"id", "update_time", "is_archived"}),
}
_CLOSED_TIME = {"won": "won_time", "lost": "lost_time"}
STREAM = "webhook"


class WebhookPayloadError(ValueError):
    """A stored body that is no Pipedrive webhook (the message names its key and what is missing)."""


@dataclass(frozen=True)
class Change:
    """One Pipedrive webhook event, normalised for applying."""

    key: str  # the stored event's key
    event_id: str
    action: str  # create | change | delete (a v1 merge is the winner's change, with merged_from_id)
    entity: str  # the snapshot name: persons, deals, ...
    record_id: str
    occurred_at: str  # snapshot time text (see snapshots._time): the record's update_time, else the event's
    data: dict[str, Any] | None = None  # the record now (None for a delete)
    previous: dict[str, Any] | None = None
    version: str = "2.0"
    merged_to_id: str | None = None  # this record (the loser) was merged into that one
    merged_from_id: str | None = None  # that record was merged into this one (the winner)


@dataclass
class Outcome:
    """What :func:`resolve` decided: records to write per entity, and the counts for the summary."""

    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    deleted: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("events", "duplicates", "ignored", "stale", "superseded", "fetched", "not_found", "unusable", "applied"), 0))


# ---------------------------------------------------------------------------------------- parse

def parse_event(key: str, body: Mapping[str, Any]) -> Change | None:
    """The :class:`Change` of one stored body (read by :func:`.webhooks.payloads.parse_pipedrive`);
    None for an object the sync does not keep (notes, products, users, ...)."""
    from pipedrive_brevo.webhooks.payloads import PayloadError, parse_pipedrive

    try:
        event = parse_pipedrive(body)
    except PayloadError as exc:
        raise WebhookPayloadError(f"{key}: {exc}") from exc
    if event.entity not in ENTITIES:
        return None
    moment = event.update_time if event.update_time is not None and event.action != "delete" else event.timestamp
    return Change(key=key, event_id=event.event_id, action=event.action, entity=ENTITIES[event.entity],
                  record_id=str(event.entity_id), occurred_at=_snapshot_text(moment),
                  data=dict(event.data) if event.data is not None else None,
                  previous=dict(event.previous) if event.previous is not None else None,
                  version=event.version, merged_to_id=_text(event.merged_to_id),
                  merged_from_id=_text(event.merged_from_id))


def _snapshot_text(moment: datetime | None) -> str:
    """A UTC time as the snapshots write it (``2026-11-20T10:15:00.000Z``), so the two compare as text."""
    if moment is None:
        return ""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


# ------------------------------------------------------------------------------ dedupe & order

def dedupe(changes: Iterable[Change]) -> tuple[list[Change], int]:
    """The changes with each event id once (the first received), and how many repeats were dropped."""
    seen: set[str] = set()
    kept: list[Change] = []
    dropped = 0
    for change in changes:
        if change.event_id in seen:
            dropped += 1
            continue
        seen.add(change.event_id)
        kept.append(change)
    return kept, dropped


def order(changes: Iterable[Change]) -> list[Change]:
    """By entity, record and time; at equal times the later received (its key sorts later) last."""
    return sorted(changes, key=lambda c: (c.entity, c.record_id, c.occurred_at, c.key))


def latest_per_record(changes: Sequence[Change]) -> tuple[list[Change], int]:
    """The last change of each record (``changes`` ordered), and how many earlier ones it superseded.

    A merge's winner keeps ``merged_from_id`` even when a later plain change supersedes it.
    """
    last: dict[tuple[str, str], Change] = {}
    merged_from: dict[tuple[str, str], str] = {}
    for change in changes:
        ident = (change.entity, change.record_id)
        last[ident] = change
        if change.merged_from_id:
            merged_from[ident] = change.merged_from_id
    out = []
    for ident, change in last.items():
        if ident in merged_from and not change.merged_from_id and change.action != "delete":
            change = replace(change, merged_from_id=merged_from[ident])
        out.append(change)
    return out, len(changes) - len(out)


def is_stale(change: Change, held_update_time: str | None, held_deleted: bool = False) -> bool:
    """True when the snapshot already holds this change or a later one.

    A create or change is stale when its ``update_time`` is not after the stored one; a delete when
    the stored record is already deleted (or stored with a later time).
    """
    if held_update_time is None:
        return False
    if change.action == "delete":
        return held_deleted or (bool(change.occurred_at) and change.occurred_at < held_update_time)
    return bool(change.occurred_at) and change.occurred_at <= held_update_time


def needs_fetch(change: Change) -> bool:
    """Whether the record must be read from the API: v1 shape, partial v2 data, a merge's winner."""
    if change.action == "delete" or change.entity not in FETCH_COLLECTIONS:
        return False
    if change.version != "2.0" or change.merged_from_id or change.data is None:
        return True
    if not REQUIRED_FIELDS[change.entity] <= change.data.keys():
        return True
    closed = _CLOSED_TIME.get(str(change.data.get("status"))) if change.entity == "deals" else None
    return closed is not None and closed not in change.data


# -------------------------------------------------------------------------------------- resolve

def resolve(changes: Sequence[Change], *, held: Mapping[str, Mapping[str, tuple[str, bool, dict[str, Any] | None]]],
            fetched: Mapping[str, Mapping[str, dict[str, Any]]]) -> Outcome:
    """The records to write, per entity, from deduplicated, ordered changes.

    ``held``: per entity, id → (stored update_time, stored is_deleted, stored record) for the ids
    concerned; ``fetched``: per entity, id → the record as the API returns it now.
    """
    outcome = Outcome()
    latest, superseded = latest_per_record(changes)
    outcome.counts["superseded"] = superseded
    for change in latest:
        stored_time, stored_deleted, stored = held.get(change.entity, {}).get(change.record_id, (None, False, None))
        if is_stale(change, stored_time, stored_deleted):
            outcome.counts["stale"] += 1
            continue
        if change.action == "delete":
            last = dict(stored or {}) | dict(change.previous or {}) or {"id": _id_value(change.record_id)}
            stamp = change.occurred_at or last.get("update_time")
            last.update(is_deleted=True, update_time=_api_time(stamp))
            if change.merged_to_id:
                last["merged_to_id"] = _id_value(change.merged_to_id)
            outcome.deleted.setdefault(change.entity, []).append(last)
            outcome.counts["applied"] += 1
            continue
        record = fetched.get(change.entity, {}).get(change.record_id)
        if record is None:
            if needs_fetch(change) and change.entity in FETCH_COLLECTIONS:
                outcome.counts["not_found"] += 1
            if change.data is None or change.version != "2.0":
                outcome.counts["unusable"] += 1  # no v2 record to store: the hourly sync reads it
                continue
            record = dict(stored or {}) | dict(change.data)
        else:
            outcome.counts["fetched"] += 1
        if stored_time is not None and snapshot_time(record.get("update_time")) < stored_time:
            outcome.counts["stale"] += 1
            continue
        outcome.records.setdefault(change.entity, []).append(record)
        outcome.counts["applied"] += 1
    _delete_merged_losers(latest, held, outcome)
    for entity, extra in fetched.get("_related", {}).items():  # a merge winner's deals and activities
        known = {str(r["id"]) for r in outcome.records.get(entity, [])}
        outcome.records.setdefault(entity, []).extend(r for r in extra.values() if str(r["id"]) not in known)
    return outcome


def _delete_merged_losers(latest: Sequence[Change], held: Mapping[str, Mapping[str, Any]], outcome: Outcome) -> None:
    """A winner's change names the loser (``merged_from_id``): the loser is deleted, even before its own
    delete event arrives (v1 sends none)."""
    for change in latest:
        if not change.merged_from_id or change.action == "delete":
            continue
        deleted = {str(r.get("id")) for r in outcome.deleted.get(change.entity, [])}
        stored = held.get(change.entity, {}).get(change.merged_from_id)
        if change.merged_from_id in deleted or stored is None or stored[1]:
            continue
        loser = dict(stored[2] or {"id": _id_value(change.merged_from_id)})
        loser.update(is_deleted=True, merged_to_id=_id_value(change.record_id),
                     update_time=_api_time(max(change.occurred_at, stored[0])))
        outcome.deleted.setdefault(change.entity, []).append(loser)
        outcome.counts["applied"] += 1


def _id_value(text: str) -> Any:
    return int(text) if text.isdigit() else text


def _api_time(stamp: str | None) -> str | None:
    """The time a deleted marker carries (snapshot text, which reads back to the same sort key)."""
    return stamp or None


# ------------------------------------------------------------------------------------------ I/O

def batch_path(run_id: str) -> str:
    """The run's batch: the keys of the events it took (a retried task takes the same ones)."""
    return f"runs/{safe(run_id)}/webhooks/batch.json"


def take_batch(store: DataLocation, run_id: str, pending: Sequence[Any]) -> list[str]:
    """The run's event keys: those a previous try of the run took, else the pending ones (recorded)."""
    taken = store.read_json(batch_path(run_id))
    if taken is not None:
        return list(taken["keys"])
    keys = [event.key for event in pending]
    store.write_json(batch_path(run_id), {"keys": keys})
    return keys


def apply_events(hook: Any, store: DataLocation, events: Sequence[Any], run_id: str, *,
                 entities: Iterable[str] | None = None) -> dict[str, Any]:
    """Apply stored events (objects with ``key`` and ``body``) to the snapshots; returns the counts.

    ``hook``: a :class:`~pipedrive_brevo.hooks.pipedrive.PipedriveHook` for the records to fetch;
    ``entities``: the snapshots the mapping syncs (``connectors.pipedrive.sync``; default all):
    an event of another entity is ignored, as the sync would never read it.
    A body that is no Pipedrive webhook is counted as ``invalid`` and logged (the receiver already
    refuses those; a file edited by hand is not worth stopping every later event for).
    """
    from pipedrive_brevo.extraction import merge_entity

    wanted = set(entities) if entities is not None else set(ENTITIES.values())
    parsed: list[Change] = []
    invalid = ignored = 0
    for event in events:
        try:
            change = parse_event(event.key, event.body)
        except WebhookPayloadError as exc:
            log.warning("Skipping an unreadable webhook event: %s", exc)
            invalid += 1
            continue
        if change is None or (entities is not None and change.entity not in wanted):
            ignored += 1
        else:
            parsed.append(change)
    unique, duplicates = dedupe(parsed)
    changes = order(unique)
    held = _held(store, changes)
    fetched = _fetch(hook, changes, held)
    if "_related" in fetched:  # a merge winner's deals and activities, if the sync keeps them
        fetched["_related"] = {e: found for e, found in fetched["_related"].items() if e in wanted}
    outcome = resolve(changes, held=held, fetched=fetched)
    outcome.counts.update(events=len(events), duplicates=duplicates, ignored=ignored)
    outcome.counts["invalid"] = invalid
    merged: dict[str, Any] = {}
    for entity in sorted(set(outcome.records) | set(outcome.deleted)):
        pages = [page_frame(outcome.records.get(entity, [])), page_frame(outcome.deleted.get(entity, []), deleted=True)]
        rows = [p for p in pages if len(p)]
        for number, page in enumerate(rows, start=1):
            store.write_parquet(f"raw/{entity}/{safe(run_id)}/{STREAM}-{number:05d}.parquet", page)
        merged[entity] = merge_entity(store, {"entity": entity, "run_id": run_id, "streams": {},
                                              "records": sum(len(p) for p in rows), "complete": True})
    carry_deals(store, run_id)
    _record_applied(store, run_id, parsed, outcome)
    return {"counts": outcome.counts, "entities": {e: m["changed"] for e, m in merged.items()}}


def applied_path(run_id: str) -> str:
    return f"runs/{safe(run_id)}/webhooks/applied.json"


def _record_applied(store: DataLocation, run_id: str, parsed: Sequence[Change], outcome: Outcome) -> None:
    """Which version of which record the run wrote, and the events behind it (see :func:`keys_to_mark`)."""
    keys: dict[tuple[str, str], list[str]] = {}
    for change in parsed:
        keys.setdefault((change.entity, change.record_id), []).append(change.key)
    written: dict[str, dict[str, Any]] = {}
    for entity, items in [*outcome.records.items(), *outcome.deleted.items()]:
        for item in items:
            rid = str(item["id"])
            written.setdefault(entity, {})[rid] = {"update_time": snapshot_time(item.get("update_time")),
                                                   "keys": keys.get((entity, rid), [])}
    store.write_json(applied_path(run_id), written)


def keys_to_mark(store: DataLocation, run_id: str, keys: Sequence[str]) -> tuple[list[str], list[str]]:
    """The run's event keys to mark applied, and those held back for the next run.

    Held back: the events of a record the snapshot no longer holds at the version this run wrote,
    because the hourly sync's merge of the same entity, running at the same moment, wrote its own
    snapshot over it. Left pending, they are applied again by the next run (no longer stale), so
    the change is not lost.
    """
    applied = store.read_json(applied_path(run_id)) or {}
    held_back: set[str] = set()
    for entity, records in applied.items():
        path = f"snapshots/{entity}.parquet"
        stored = store.read_parquet(path, columns=["id", "update_time"]) if store.exists(path) else None
        times = dict(zip(stored["id"], stored["update_time"], strict=True)) if stored is not None else {}
        for rid, info in records.items():
            if str(times.get(rid) or "") < info["update_time"]:
                held_back.update(info["keys"])
    return [k for k in keys if k not in held_back], sorted(held_back)


CARRIED_DEALS = "state/webhooks/pipedrive/carried_previous_deals.parquet"


def carry_deals(store: DataLocation, run_id: str) -> None:
    """Keep the deals' earlier versions until a run has loaded them.

    A run that applied events and then failed before its plan leaves the snapshot changed but its
    deal events unmade; the next run finds those events stale (the snapshot holds them). So the
    earlier versions wait in :data:`CARRIED_DEALS` and every run's ``previous/deals.parquet`` holds
    them too (the oldest version of a deal wins): the events are made then, with the same ids, so
    they are still sent once. :func:`forget_carried_deals` drops them once a run's load succeeded.
    """
    import pandas as pd

    previous = f"runs/{safe(run_id)}/previous/deals.parquet"
    frames = [store.read_parquet(p) for p in (CARRIED_DEALS, previous) if store.exists(p)]
    if not frames:
        return
    combined = pd.concat(frames, ignore_index=True).drop_duplicates("id", keep="first").reset_index(drop=True)
    if len(combined):
        store.write_parquet(CARRIED_DEALS, combined)
    store.write_parquet(previous, combined)


def forget_carried_deals(store: DataLocation) -> None:
    store.delete(CARRIED_DEALS)


def _held(store: DataLocation, changes: Sequence[Change]) -> dict[str, dict[str, tuple[str, bool, dict | None]]]:
    """The stored version of every record the changes touch (time, deleted flag, record)."""
    import json

    held: dict[str, dict[str, tuple[str, bool, dict | None]]] = {}
    for entity in sorted({c.entity for c in changes}):
        path = f"snapshots/{entity}.parquet"
        if not store.exists(path):
            continue
        ids = {i for c in changes if c.entity == entity for i in (c.record_id, c.merged_from_id) if i}
        snapshot = store.read_parquet(path)
        rows = snapshot[snapshot["id"].isin(ids)]
        held[entity] = {str(r.id): (str(r.update_time), bool(r.is_deleted), json.loads(r.record))
                        for r in rows.itertuples(index=False)}
    return held


def _fetch(hook: Any, changes: Sequence[Change], held: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Read from the API the records :func:`needs_fetch` names, and a merge winner's deals and activities."""
    latest, _ = latest_per_record(changes)
    wanted: dict[str, set[str]] = {}
    winners: set[str] = set()
    for change in latest:
        stored = held.get(change.entity, {}).get(change.record_id)
        if stored is not None and is_stale(change, stored[0], stored[1]):
            continue
        if needs_fetch(change):
            wanted.setdefault(change.entity, set()).add(change.record_id)
        if change.entity == "persons" and change.merged_from_id:
            winners.add(change.record_id)
    fetched: dict[str, Any] = {}
    for entity, ids in sorted(wanted.items()):
        found: dict[str, dict[str, Any]] = {}
        for collection in FETCH_COLLECTIONS[entity]:
            missing = sorted(ids - found.keys(), key=_sort_key)
            if not missing:
                break
            for page in hook.iter_pages(collection, ids=[_id_value(i) for i in missing]):
                found.update({str(item["id"]): item for item in page.items})
        fetched[entity] = found
    if winners:
        related: dict[str, dict[str, dict[str, Any]]] = {"deals": {}, "activities": {}}
        for winner in sorted(winners, key=_sort_key):
            for entity, collection in (("deals", "deals"), ("activities", "activities")):
                for page in hook.iter_pages(collection, person_id=_id_value(winner)):
                    related[entity].update({str(item["id"]): item for item in page.items})
        fetched["_related"] = related
    return fetched


def _sort_key(text: str) -> tuple[int, str]:
    return (0, f"{int(text):020d}") if text.isdigit() else (1, text)
