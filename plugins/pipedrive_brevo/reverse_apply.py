"""Brevo → Pipedrive, the I/O part: read what changed in Brevo, write the mapped person fields.

Two steps, one per task of ``brevo_to_pipedrive`` (they share nothing but the data location):

:func:`read_changes` (Brevo reads)
    ``GET /v3/contacts?modifiedSince=`` from the watermark minus :data:`OVERLAP`, 1,000 a page,
    de-duplicated by id, plus the stored Brevo webhooks (:mod:`.webhook_store`): an event made by
    our own API key (``api_key_name``) is skipped, an event the product does not know is reported
    in the rejects, and the contact of every other event is re-read, so the freshest state is
    applied, never a stale payload. Written to ``runs/<run_id>/reverse/changes.json``.

:func:`apply_changes` (Pipedrive writes)
    Finds each contact's person (EXT_ID, else email through ``snapshots/persons.parquet``),
    decides every mapped field (:func:`.reverse_changes.plan_changes`), writes
    ``runs/<run_id>/reverse_plan.parquet`` and ``rejects/<run_id>.parquet``, and, unless
    a dry run, sends one ``PATCH /api/v2/persons/{id}`` per person whose mapped values differ,
    paced by the hook and stopping cleanly when the daily token budget is spent. Every committed
    write is recorded (``state/reverse/writes/<run_id>-<n>.parquet``) and reflected where the
    forward sync looks: the person record goes into the persons snapshot and a field mapped both
    ways gets Brevo's value in the forward sync state, so ``pipedrive_to_brevo`` sees nothing to
    send back. Then the watermark, the applied contacts (``state/reverse/seen.parquet``: contact
    id → the ``modifiedAt`` applied, so the overlap is not applied twice) and the events advance.

``run_id`` here is the run's key (:func:`pipedrive_brevo.storage.run_key`:
``brevo_to_pipedrive.<run_id>``), so its files never mix with the sync's run of the same hour.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

import pandas as pd

from pipedrive_brevo import reverse_changes as rc
from pipedrive_brevo import snapshots, sync_lease, sync_state
from pipedrive_brevo.config import Mapping as SyncMapping
from pipedrive_brevo.http import BadRequestError, BudgetExhaustedError, NotFoundError, PermissionDeniedError
from pipedrive_brevo.storage import DataLocation, safe

STATE = "state/reverse"
WATERMARK = f"{STATE}/watermark.json"
SEEN = f"{STATE}/seen.parquet"
WRITES = f"{STATE}/writes"
PERSONS_SNAPSHOT = "snapshots/persons.parquet"
#: How far before the watermark a scheduled read starts again (a contact modified while the
#: previous scan paged may have been missed; re-reading costs little, the ``seen`` set drops repeats).
OVERLAP = timedelta(minutes=10)
#: Persons written between two commits of the write log and the reflected state.
COMMIT_EVERY = 100


def changes_path(run_id: str) -> str:
    return f"runs/{safe(run_id)}/reverse/changes.json"


def plan_path(run_id: str) -> str:
    return f"runs/{safe(run_id)}/reverse_plan.parquet"


def rejects_path(run_id: str) -> str:
    return f"rejects/{safe(run_id)}.parquet"


def summary_path(run_id: str) -> str:
    return f"runs/{safe(run_id)}/summary.json"


def read_watermark(store: DataLocation) -> pd.Timestamp | None:
    mark = (store.read_json(WATERMARK, default={}) or {}).get("modified_since")
    return rc.parse_time(mark)


def read_seen(store: DataLocation) -> dict[int, str]:
    if not store.exists(SEEN):
        return {}
    frame = store.read_parquet(SEEN)
    return dict(zip(frame["contact_id"].astype(int), frame["modified_at"].astype(str), strict=True))


# ------------------------------------------------------------------------------ step 1: Brevo

def read_changes(hook: Any, store: DataLocation, mapping: SyncMapping, run_id: str, *,
                 full_refresh: bool = False) -> dict[str, Any]:
    """Read the changed contacts and the pending Brevo webhooks; returns counts and the file."""
    from pipedrive_brevo import webhook_store

    mark = None if full_refresh else read_watermark(store)
    since = (mark - OVERLAP).to_pydatetime() if mark is not None else None
    scanned: list[dict[str, Any]] = []
    for page in hook.iter_contacts(modified_since=since):
        scanned.extend(page)
    contacts = rc.latest_by_id(scanned)

    events = webhook_store.pending_events(store, "brevo")
    reading = rc.read_events(((e.key, e.body) for e in events), mapping.options.reverse.api_key_name)
    by_email = {str(c.get("email") or "").lower(): c for c in contacts.values()}
    refreshed: list[dict[str, Any]] = []
    gone: list[str] = []
    for email, flags in reading.refresh.items():
        contact = by_email.get(email) or hook.get_contact(email)
        if contact is None:  # deleted since: nothing to apply
            gone.append(email)
            continue
        refreshed.append({**contact, **flags})
    merged = rc.latest_by_id([*contacts.values(), *refreshed])
    times = [t for t in (rc.parse_time(c.get("modifiedAt")) for c in contacts.values()) if t is not None]
    next_mark = max(times) if times else mark
    path = changes_path(run_id)
    store.write_json(path, {
        "contacts": list(merged.values()),
        "webhook_contacts": sorted(int(c["id"]) for c in refreshed),
        "events": [e.key for e in events], "own_events": list(reading.own), "ignored_events": list(reading.ignored),
        "event_rejects": reading.rejects.to_dict("records"), "gone": gone,
        "watermark": next_mark.isoformat() if next_mark is not None else None,
        "modified_since": since.isoformat() if since is not None else None,
    })
    return {"changes": path, "scanned": len(scanned), "contacts": len(merged), "events": len(events),
            "own_events": len(reading.own), "ignored_events": len(reading.ignored),
            "unknown_events": len(reading.rejects)}


# -------------------------------------------------------------------------- step 2: Pipedrive

def apply_changes(hook: Any, store: DataLocation, mapping: SyncMapping, run_id: str, changes: str, *,
                  dry_run: bool = False, full_refresh: bool = False) -> dict[str, Any]:
    """Plan and (unless ``dry_run``) write the mapped person fields; returns the run's summary."""
    started = time.monotonic()
    read = store.read_json(changes)
    contacts = {int(c["id"]): c for c in read["contacts"]}
    forced = set(read.get("webhook_contacts") or [])
    seen = {} if full_refresh else read_seen(store)
    fresh = rc.unseen(contacts, {k: v for k, v in seen.items() if k not in forced})

    targets = rc.resolve_targets(mapping, hook.get_fields("person") if _needs_fields(mapping) else [])
    by_id, by_email = rc.person_index(_snapshot_persons(store))
    person_ids = {cid: rc.person_of(c, by_id, by_email) for cid, c in fresh.items()}
    persons = _complete(hook, by_id, {p for p in person_ids.values() if p is not None}, targets)
    sent = _sent_by_email(store, {t.forward_attribute for t in targets if t.forward_attribute})
    plan = rc.plan_changes(fresh, targets, persons, person_ids, sent, conflict=mapping.options.reverse.conflict)

    rejects = [rc.rejects_frame(read.get("event_rejects") or []), plan.rejects]
    store.write_parquet(plan_path(run_id), plan.rows)
    summary: dict[str, Any] = {"run_id": run_id, "dry_run": dry_run, "full_refresh": full_refresh,
                               "contacts_read": len(contacts), "contacts_changed": len(fresh),
                               "events": len(read.get("events") or []),
                               "own_events_skipped": len(read.get("own_events") or []),
                               "ignored_events": len(read.get("ignored_events") or []),
                               "plan": plan.summary()}
    if dry_run:
        _write_rejects(store, run_id, rejects)
        summary.update(written=0, incomplete=False, duration_s=round(time.monotonic() - started, 2))
        summary["rejects"] = _count(rejects)
        store.write_json(summary_path(run_id), summary)
        return summary

    bodies = rc.patch_bodies(plan, targets, persons)
    written: list[int] = []
    refused: list[dict[str, str]] = []
    incomplete = False
    pending: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
    batch = 0
    for pid, body in bodies.items():
        try:
            record = hook.update_person(pid, body)
        except BudgetExhaustedError:
            incomplete = True  # the rest waits for the next run (the watermark does not move)
            break
        except (BadRequestError, NotFoundError, PermissionDeniedError) as exc:  # this person only
            refused.append({"entity": "person", "id": str(pid), "field": ",".join(sorted(body)),
                            "reason": "refused_by_pipedrive", "value": "", "detail": str(exc)})
            continue
        written.append(pid)
        pending.append((pid, body, record or {}))
        if len(pending) >= COMMIT_EVERY:
            _commit(store, run_id, batch, pending, plan, targets)
            batch, pending = batch + 1, []
    if pending:
        _commit(store, run_id, batch, pending, plan, targets)
    rejects.append(rc.rejects_frame(refused))
    _write_rejects(store, run_id, rejects)

    if not incomplete:
        _advance(store, read, fresh)
    summary.update(written=len(written), fields_written=int(plan.writes()["person_id"].isin(written).sum()),
                   refused=len(refused), incomplete=incomplete, rejects=_count(rejects),
                   api={"pipedrive": dict(hook.stats.snapshot())}, duration_s=round(time.monotonic() - started, 2))
    store.write_json(summary_path(run_id), summary)
    return summary


def _needs_fields(mapping: SyncMapping) -> bool:
    return any(e.target.kind != "field" for e in mapping.reverse_mapping)


def _snapshot_persons(store: DataLocation) -> list[dict[str, Any]]:
    if not store.exists(PERSONS_SNAPSHOT):
        return []
    return snapshots.records_frame(store.read_parquet(PERSONS_SNAPSHOT)).to_dict("records")


def _complete(hook: Any, by_id: dict[int, dict[str, Any]], wanted: Iterable[int],
              targets: Iterable[rc.ReverseTarget]) -> dict[int, dict[str, Any]]:
    """The persons to decide on, each holding every target field: one read of a person the snapshot
    lacks, or whose record lacks a field (``marketing_status`` is opt-in on reads)."""
    targets = list(targets)
    optional = sorted({t.field for t in targets if t.kind == "builtin" and t.field == "marketing_status"})
    out: dict[int, dict[str, Any]] = {}
    for pid in sorted(wanted):
        record = by_id.get(pid)
        if record is None or any(rc.current_value(record, t) is rc.UNKNOWN for t in targets):
            try:
                params = {"include_fields": ",".join(optional)} if optional else {}
                fetched = hook.get_person(pid, **params)
            except NotFoundError:
                fetched = None
            if fetched:
                record = {**(record or {}), **fetched}
        if record is not None:
            out[pid] = record
    return out


def _sent_by_email(store: DataLocation, attributes: set[str]) -> dict[str, dict[str, Any]]:
    """The forward sync state's rows (only the attributes mapped both ways), by email."""
    sent = sync_state.read_contacts(store)
    if sent is None or not attributes:
        return {}
    columns = [c for c in attributes if c in sent.columns]
    frame = sent[["email", *columns]].dropna(subset=["email"])
    return {str(row["email"]).lower(): {c: row[c] for c in columns} for row in frame.to_dict("records")}


def _commit(store: DataLocation, run_id: str, batch: int, done: list[tuple[int, dict[str, Any], dict[str, Any]]],
            plan: rc.ReversePlan, targets: Iterable[rc.ReverseTarget]) -> None:
    """Record a batch of committed PATCHes and reflect them where the forward sync looks."""
    ids = {pid for pid, _, _ in done}
    rows = plan.writes()[plan.writes()["person_id"].isin(ids)]
    store.write_parquet(f"{WRITES}/{safe(run_id)}-{batch:05d}.parquet",
                        rows.assign(run_id=run_id, written_at=pd.Timestamp.now(tz="UTC").isoformat()))
    records = [r for _, _, r in done if r.get("id") is not None]
    if records:
        with sync_lease.snapshot_lock(store, "persons"):  # the sync's merge writes it too
            before = store.read_parquet(PERSONS_SNAPSHOT) if store.exists(PERSONS_SNAPSHOT) else None
            store.write_parquet(PERSONS_SNAPSHOT, snapshots.merge(before, [snapshots.page_frame(records)]))
    both = {t.name: t.forward_attribute for t in targets if t.forward_attribute}
    reflected = rows[rows["target"].isin(list(both))]
    sent = sync_state.read_contacts(store)
    if sent is None or not len(reflected):
        return
    sent = sent.copy()
    for row in reflected.itertuples(index=False):
        attribute = both[row.target]
        if attribute not in sent.columns:
            continue
        value = json.loads(row.brevo_value) if row.brevo_value is not None and row.brevo_value is not pd.NA else None
        at = sent.index[sent["email"].astype("string").str.lower() == row.email]
        for index in at:
            sent.at[index, attribute] = tuple(value) if isinstance(value, list) else value
    sync_state.write_contacts(store, sent)


def _advance(store: DataLocation, read: Mapping[str, Any], applied: Mapping[int, Mapping[str, Any]]) -> None:
    """Move the watermark, remember the applied contacts' ``modifiedAt``, mark the events applied."""
    from pipedrive_brevo import webhook_store

    seen = read_seen(store)
    seen.update({cid: str(c.get("modifiedAt") or "") for cid, c in applied.items()})
    store.write_parquet(SEEN, pd.DataFrame({"contact_id": pd.Series(list(seen), dtype="int64"),
                                            "modified_at": pd.Series(list(seen.values()), dtype="string")}))
    if read.get("watermark"):
        store.write_json(WATERMARK, {"modified_since": read["watermark"]})
    if read.get("events"):
        webhook_store.mark_applied(store, "brevo", read["events"])


def _write_rejects(store: DataLocation, run_id: str, frames: list[pd.DataFrame]) -> None:
    parts = [f for f in frames if len(f)]
    frame = pd.concat(parts, ignore_index=True) if parts else rc.rejects_frame([])
    store.write_parquet(rejects_path(run_id), frame.astype("string"))


def _count(frames: list[pd.DataFrame]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for frame in frames:
        for reason, n in frame["reason"].value_counts().items():
            counts[str(reason)] = counts.get(str(reason), 0) + int(n)
    return dict(sorted(counts.items()))
