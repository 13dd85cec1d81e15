"""Extract Pipedrive entities into raw pages, resumably, and merge them into snapshots.

An entity is read through one or more *streams* (deals: the live ones, ``status=deleted`` and
``/deals/archived``; leads: live and archived), each with its own watermark. Every page is written
to ``raw/<entity>/<run_id>/<stream>-NNNNN.parquet`` and then a checkpoint records the cursor after
it, so a retried task continues where the last try stopped and a page is never fetched twice (a
crash between the two writes re-fetches one page, which overwrites itself).

When Pipedrive's daily token budget is spent the stream stops cleanly: what was read is kept, the
watermark advances only as far as the data is complete (pages come sorted by ``update_time``), and
the next run continues from there. These functions take a hook and a :class:`DataLocation`;
Airflow only schedules them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipedrive_brevo.http import BudgetExhaustedError
from pipedrive_brevo.snapshots import changed_ids, max_update_time, merge, page_frame
from pipedrive_brevo.storage import DataLocation, safe
from pipedrive_brevo.sync_lease import snapshot_lock
from pipedrive_brevo.windows import Window, parse_time

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stream:
    """One listing of one entity. ``windowing``: how the endpoint filters by update time."""

    name: str
    entity: str
    collection: str  # the hook's collection name (see hooks/pipedrive_endpoints.py)
    filters: dict[str, Any] = field(default_factory=dict)
    deleted: bool = False  # every record listed is deleted
    windowing: str = "since_until"  # "since_until" (v2), "since" (v1 leads: no upper bound), "none"

    def params(self, window: Window) -> dict[str, Any]:
        params = dict(self.filters)
        if self.windowing == "since_until":
            params.update(updated_until=window.until, sort_by="update_time", sort_direction="asc")
            if window.since is not None:
                params["updated_since"] = window.since
        elif self.windowing == "since":
            params["sort"] = "update_time ASC"
            if window.since is not None:
                params["updated_since"] = window.since
        return params

    @property
    def v1(self) -> bool:
        return self.collection.startswith("leads")


STREAMS: dict[str, tuple[Stream, ...]] = {
    "persons": (Stream("persons", "persons", "persons"),),
    "organizations": (Stream("organizations", "organizations", "organizations"),),
    "activities": (Stream("activities", "activities", "activities"),),
    # source_lead_id is opt-in: the pipeline report attributes a deal to the lead it came from.
    "deals": (
        Stream("deals", "deals", "deals", {"include_fields": "source_lead_id"}),
        Stream("deals.deleted", "deals", "deals", {"status": "deleted"}, deleted=True),
        Stream("deals.archived", "deals", "deals_archived", {"include_fields": "source_lead_id"}),
    ),
    "leads": (
        Stream("leads", "leads", "leads", windowing="since"),
        # /v1/leads/archived has no time filter: a full scan each run (archived leads are few).
        Stream("leads.archived", "leads", "leads_archived", windowing="none"),
    ),
}


def watermark_path(stream: str) -> str:
    return f"state/watermarks/{stream}.json"


def read_watermark(store: DataLocation, stream: str) -> datetime | None:
    data = store.read_json(watermark_path(stream))
    return parse_time(data["watermark"], "watermark") if data else None


def checkpoint_path(run_id: str, stream: str) -> str:
    return f"state/checkpoints/{safe(run_id)}/{stream}.json"


def extract_stream(hook: Any, store: DataLocation, stream: Stream, window: Window, run_id: str) -> dict[str, Any]:
    """Read one stream's window into raw pages, resuming from the run's checkpoint."""
    cp_path = checkpoint_path(run_id, stream.name)
    cp = store.read_json(cp_path) or {"stream": stream.name, "window": window.to_dict(), "pages": 0,
                                      "records": 0, "cursor": None, "start": 0, "done": False,
                                      "budget_exhausted": False, "max_update_time": None}
    if cp["done"]:
        return cp
    if cp["window"] != window.to_dict():
        raise RuntimeError(f"{stream.name}: the checkpoint of run {run_id} is for window {cp['window']}, "
                           f"not {window.to_dict()}; delete {store.path(cp_path)} to start this run's extraction anew")
    params = stream.params(window)
    if stream.v1:
        pages = hook.iter_v1_pages(stream.collection, start=cp["start"], **params)
    else:
        pages = hook.iter_pages(stream.collection, cursor=cp["cursor"], **params)
    try:
        for page in pages:
            frame = page_frame(page.items, deleted=stream.deleted)
            number = cp["pages"] + 1
            store.write_parquet(f"raw/{stream.entity}/{safe(run_id)}/{stream.name}-{number:05d}.parquet", frame)
            latest = max_update_time([frame])
            if latest and (cp["max_update_time"] is None or latest > cp["max_update_time"]):
                cp["max_update_time"] = latest
            cp.update(pages=number, records=cp["records"] + len(frame), cursor=page.next_cursor,
                      start=page.next_start or 0)
            store.write_json(cp_path, cp)
    except BudgetExhaustedError:
        log.warning("%s: Pipedrive's daily token budget is spent after %d pages; the next run resumes",
                    stream.name, cp["pages"])
        cp["budget_exhausted"] = True
        store.write_json(cp_path, cp)
        return cp
    cp["done"] = True
    store.write_json(cp_path, cp)
    return cp


def extract_entity(hook: Any, store: DataLocation, entity: str, windows: dict[str, Window],
                   run_id: str) -> dict[str, Any]:
    """Every stream of ``entity``; stops at the first one that ran out of budget."""
    results = {}
    for stream in STREAMS[entity]:
        result = extract_stream(hook, store, stream, windows[stream.name], run_id)
        results[stream.name] = result
        if result["budget_exhausted"]:
            break
    return {"entity": entity, "run_id": run_id, "streams": results,
            "records": sum(r["records"] for r in results.values()),
            "complete": all(r["done"] for r in results.values()) and len(results) == len(STREAMS[entity])}


def next_watermark(window: Window, result: dict[str, Any] | None, stream: Stream) -> datetime | None:
    """How far this run's data for a stream is complete, for the next run to start there."""
    if result is None or not window.moves_watermark:
        return None
    if result["done"]:
        return window.until
    if stream.windowing == "none" or not result["max_update_time"]:
        return None
    # Sorted by update_time ascending: everything before the latest time read is in.
    return parse_time(result["max_update_time"], "max_update_time")


def merge_entity(store: DataLocation, extraction: dict[str, Any]) -> dict[str, Any]:
    """Apply a run's raw pages of one entity to its snapshot, then advance its watermarks.

    Idempotent: a marker file says the merge of this run is done. The deals' versions before the
    merge (of the deals it changed) are kept for change detection (stage changes, won/lost).
    """
    entity, run_id = extraction["entity"], extraction["run_id"]
    marker = f"runs/{safe(run_id)}/merged/{entity}.json"
    done = store.read_json(marker)
    if done:
        return done
    snap_path = f"snapshots/{entity}.parquet"
    with snapshot_lock(store, entity):  # the webhook and reverse runs write this snapshot too
        before = store.read_parquet(snap_path) if store.exists(snap_path) else None
        after = merge(before, store.iter_parquet(f"raw/{entity}/{safe(run_id)}"))
        changed = changed_ids(before, after)
        if entity == "deals":
            previous = f"runs/{safe(run_id)}/previous/deals.parquet"
            if not store.exists(previous):  # a retried merge must not replace it with merged rows
                rows = before[before["id"].isin(changed)] if before is not None else after.iloc[0:0]
                store.write_parquet(previous, rows)
        store.write_parquet(snap_path, after)
    for stream in STREAMS[entity]:
        result = extraction["streams"].get(stream.name)
        window = Window.from_dict(result["window"]) if result else None
        mark = next_watermark(window, result, stream) if window else None
        if mark is not None:
            store.write_json(watermark_path(stream.name), {"watermark": mark.isoformat(), "run_id": run_id})
    summary = {"entity": entity, "run_id": run_id, "records_read": extraction["records"],
               "changed": len(changed), "snapshot_size": len(after),
               "deleted_in_snapshot": int(after["is_deleted"].sum()), "complete": extraction["complete"]}
    store.write_json(marker, summary)
    return summary


# What a reconciliation scan lists to see which ids still exist (deleted ones are absent from these).
RECONCILE_STREAMS: dict[str, tuple[str, ...]] = {
    "persons": ("persons",), "organizations": ("organizations",), "activities": ("activities",),
    "deals": ("deals", "deals.archived"), "leads": ("leads", "leads.archived"),
}


def reconcile_due(store: DataLocation, entity: str, today: str, requested: bool) -> bool:
    """Reconcile when asked, and otherwise once a UTC day (the first run of the day does it)."""
    last = store.read_json(f"state/reconcile/{entity}.json", default={})
    return requested or last.get("day") != today


def record_reconciled(store: DataLocation, entity: str, today: str, run_id: str, found: int) -> None:
    store.write_json(f"state/reconcile/{entity}.json", {"day": today, "run_id": run_id, "deleted_found": found})


def reconcile_deletes(hook: Any, store: DataLocation, entity: str, run_id: str, deleted_at: datetime) -> int:
    """Find records deleted in Pipedrive that no update window will ever show, and mark them.

    Pipedrive lists no deleted persons, organizations, activities or leads (and deleted deals only
    for 30 days), so the snapshot's live ids are compared with a full scan of the ids that still
    exist: ``ceil(N / 500)`` list calls per stream. Each vanished record is written as a raw page of
    this run (its last version, flagged deleted, stamped ``deleted_at``) for the merge to apply
    like any other change. Returns how many were found.
    """
    snap_path = f"snapshots/{entity}.parquet"
    if not store.exists(snap_path):
        return 0
    snapshot = store.read_parquet(snap_path)
    live = snapshot[~snapshot["is_deleted"]]
    if live.empty:
        return 0
    present: set[str] = set()
    streams = {s.name: s for s in STREAMS[entity]}
    for name in RECONCILE_STREAMS[entity]:
        stream = streams[name]
        pages = (hook.iter_v1_pages(stream.collection, **stream.filters) if stream.v1
                 else hook.iter_pages(stream.collection, **stream.filters))
        for page in pages:
            present.update(str(item["id"]) for item in page.items)
    vanished = live[~live["id"].isin(present)]
    if vanished.empty:
        return 0
    stamp = deleted_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    markers = []
    for text in vanished["record"]:
        record = json.loads(text)
        record.update(is_deleted=True, update_time=stamp)
        markers.append(record)
    store.write_parquet(f"raw/{entity}/{safe(run_id)}/reconcile-00001.parquet", page_frame(markers, deleted=True))
    return len(markers)


REFERENCE = ("person_fields", "deal_fields", "organization_fields", "pipelines", "stages", "users",
             "activity_types", "lead_labels")


def extract_reference(hook: Any, store: DataLocation) -> dict[str, int]:
    """Field definitions, pipelines, stages, users, activity and lead label types, fetched once a run."""
    fetched = {
        "person_fields": hook.get_fields("person"),
        "deal_fields": hook.get_fields("deal"),
        "organization_fields": hook.get_fields("organization"),
        "pipelines": hook.get_pipelines(),
        "stages": hook.get_stages(),
        "users": hook.get_users(),
        "activity_types": hook.get_activity_types(),
        "lead_labels": hook.get_lead_labels(),
    }
    for name, items in fetched.items():
        store.write_json(f"snapshots/reference/{name}.json", items)
    return {name: len(items) for name, items in fetched.items()}
