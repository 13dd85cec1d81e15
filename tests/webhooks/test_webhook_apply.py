"""Applying Pipedrive webhook events to the snapshots (webhook_apply), on the Pipedrive sandbox.

Each test writes a small snapshot by hand, stores events with the event store, applies them with
a real PipedriveHook against the sandbox (for the records that must be fetched) and reads the
snapshot back: dedupe, out-of-order, stale, partial change fetched, merge, delete.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest

from pipedrive_brevo import webhook_store
from pipedrive_brevo.hooks.pipedrive import PipedriveHook
from pipedrive_brevo.snapshots import merge, page_frame
from pipedrive_brevo.storage import DataLocation
from pipedrive_brevo.webhook_apply import (
    Change,
    apply_events,
    dedupe,
    is_stale,
    keys_to_mark,
    needs_fetch,
    order,
    parse_event,
)
from tests.support.sandboxes import FAST_RETRY

T0 = "2026-11-24T08:00:00Z"


def person(pid: int, *, first: str = "Ada", update_time: str = T0, **extra: Any) -> dict[str, Any]:
    return {"id": pid, "name": f"{first} Person{pid}", "first_name": first, "last_name": f"Person{pid}",
            "owner_id": 1, "org_id": None, "add_time": "2026-01-01T00:00:00Z", "update_time": update_time,
            "emails": [{"value": f"p{pid}@example.com", "primary": True, "label": "work"}], "phones": [],
            "is_deleted": False, "visible_to": 3, "label_ids": [], "custom_fields": {}, **extra}


def deal(did: int, *, stage: int = 1, update_time: str = T0, **extra: Any) -> dict[str, Any]:
    return {"id": did, "title": f"Deal {did}", "person_id": 1, "org_id": None, "pipeline_id": 1, "stage_id": stage,
            "status": "open", "value": 100, "currency": "EUR", "add_time": "2026-01-01T00:00:00Z",
            "update_time": update_time, "stage_change_time": update_time, "is_deleted": False, "owner_id": 1,
            "creator_user_id": 1, "custom_fields": {}, **extra}


def v2(action: str, entity: str, record: dict[str, Any] | None, *, previous: dict[str, Any] | None = None,
       event_id: str | None = None, timestamp: str = T0, entity_id: Any = None, **meta: Any) -> dict[str, Any]:
    rid = entity_id if entity_id is not None else (record or previous or {})["id"]
    return {"meta": {"action": action, "entity": entity, "entity_id": str(rid), "id": event_id or str(uuid.uuid4()),
                     "timestamp": timestamp, "version": "2.0", "attempt": 1, "webhook_id": "1", **meta},
            "data": record, "previous": previous}


def seed(store: DataLocation, entity: str, records: list[dict[str, Any]]) -> None:
    store.write_parquet(f"snapshots/{entity}.parquet", merge(None, [page_frame(records)]))


def snapshot(store: DataLocation, entity: str) -> dict[str, dict[str, Any]]:
    frame = store.read_parquet(f"snapshots/{entity}.parquet")
    out = {}
    for row in frame.itertuples(index=False):
        record = json.loads(row.record)
        record["_deleted"] = bool(row.is_deleted)
        out[row.id] = record
    return out


def store_events(store: DataLocation, bodies: list[dict[str, Any]]) -> list[webhook_store.StoredEvent]:
    start = datetime(2026, 11, 24, 9, tzinfo=UTC)
    for i, body in enumerate(bodies):
        webhook_store.append_event(store, "pipedrive", body, received_at=start.replace(second=i))
    return webhook_store.pending_events(store, "pipedrive")


@pytest.fixture
def store(data) -> DataLocation:
    return DataLocation(str(data))


@pytest.fixture
def hook(pipedrive) -> PipedriveHook:
    pipedrive(None)  # an empty account: a test upserts what it fetches
    return PipedriveHook(retry=FAST_RETRY)


def test_parse_dedupe_and_order_are_pure():
    a = parse_event("k1", v2("change", "person", person(1, update_time="2026-11-24T08:05:00Z"), event_id="e1"))
    b = parse_event("k2", v2("change", "person", person(1, update_time="2026-11-24T08:01:00Z"), event_id="e2"))
    again = parse_event("k3", v2("change", "person", person(1, update_time="2026-11-24T08:05:00Z"), event_id="e1",
                                 attempt=2))
    assert a == Change(key="k1", event_id="e1", action="change", entity="persons", record_id="1",
                       occurred_at="2026-11-24T08:05:00.000Z", data=a.data, previous=None)
    assert parse_event("k", v2("create", "note", {"id": 3, "content": "x"})) is None  # notes are not synced
    kept, dropped = dedupe([a, b, again])
    assert [c.key for c in kept] == ["k1", "k2"] and dropped == 1
    assert [c.key for c in order(kept)] == ["k2", "k1"]  # by update time, not by arrival
    assert is_stale(a, "2026-11-24T08:05:00.000Z") and not is_stale(a, "2026-11-24T08:04:59.000Z")
    partial = parse_event("k4", v2("change", "person", {"id": 1, "name": "X", "update_time": T0},
                                   previous={"name": "Y"}))
    assert needs_fetch(partial) and not needs_fetch(a)
    won = parse_event("k5", v2("change", "deal", deal(2, status="won")))  # won, but no won_time: partial
    assert needs_fetch(won) and not needs_fetch(parse_event("k6", v2("change", "deal", deal(2))))


def test_duplicates_and_out_of_order_events_end_at_the_latest_version(store, hook):
    seed(store, "persons", [person(1, first="Ada")])
    late = v2("change", "person", person(1, first="Late", update_time="2026-11-24T08:10:00Z"), event_id="late")
    early = v2("change", "person", person(1, first="Early", update_time="2026-11-24T08:05:00Z"), event_id="early")
    events = store_events(store, [late, early, late, late])  # the later change arrives first, and is retried
    result = apply_events(hook, store, events, "run_a")

    assert result["counts"]["duplicates"] == 2 and result["counts"]["superseded"] == 1
    assert result["counts"]["applied"] == 1 and result["counts"]["fetched"] == 0  # full v2 data: no API call
    assert snapshot(store, "persons")["1"]["first_name"] == "Late"
    assert hook.stats.snapshot()["calls"] == 0


def test_an_event_older_than_the_snapshot_is_ignored(store, hook):
    seed(store, "persons", [person(1, first="Newer", update_time="2026-11-24T08:30:00Z")])
    before = store.read_bytes("snapshots/persons.parquet")
    events = store_events(store, [v2("change", "person", person(1, first="Older", update_time="2026-11-24T08:20:00Z")),
                                  v2("change", "person", person(1, first="Same", update_time="2026-11-24T08:30:00Z"))])
    result = apply_events(hook, store, events, "run_b")
    assert result["counts"]["stale"] == 1 and result["counts"]["applied"] == 0
    assert store.read_bytes("snapshots/persons.parquet") == before  # not rewritten


def test_a_partial_change_is_fetched_in_full_and_the_deal_history_is_kept(store, hook, pipedrive):
    sandbox = pipedrive(None)
    full = deal(7, stage=3, update_time="2026-11-24T08:40:00Z", stage_change_time="2026-11-24T08:40:00Z")
    sandbox.admin("POST", "/records/deals", full)
    seed(store, "deals", [deal(7, stage=1), deal(8, stage=2)])
    partial = {"id": 7, "stage_id": 3, "update_time": "2026-11-24T08:40:00Z"}  # only what changed
    events = store_events(store, [v2("change", "deal", partial, previous={"stage_id": 1})])
    result = apply_events(PipedriveHook(retry=FAST_RETRY), store, events, "run_c")

    assert result["counts"]["fetched"] == 1
    now = snapshot(store, "deals")
    assert now["7"]["stage_id"] == 3 and now["7"]["title"] == "Deal 7" and now["7"]["pipeline_id"] == 1
    assert now["8"]["stage_id"] == 2  # untouched
    # the deal's earlier version, as the sync's merge keeps it, for the plan's deal events
    previous = store.read_parquet("runs/run_c/previous/deals.parquet")
    assert list(previous["id"]) == ["7"] and json.loads(previous["record"][0])["stage_id"] == 1
    assert store.read_json("runs/run_c/merged/deals.json")["changed"] == 1


def test_a_merge_deletes_the_loser_and_refreshes_the_winner_and_its_deals(store, pipedrive):
    sandbox = pipedrive(None)
    winner = person(1, first="Winner", update_time="2026-11-24T08:50:00Z")
    sandbox.admin("POST", "/records/persons", winner)
    sandbox.admin("POST", "/records/deals", deal(9, update_time="2026-11-24T08:50:00Z", person_id=1))
    seed(store, "persons", [person(1, first="Before"), person(2, first="Loser")])
    seed(store, "deals", [deal(9, person_id=2)])
    # v2: the winner's change (merged_from_id) arrives first, the loser's delete (merged_to_id) later
    events = store_events(store, [
        v2("change", "person", {"id": 1, "update_time": "2026-11-24T08:50:00Z"}, previous={}, merged_from_id="2",
           timestamp="2026-11-24T08:50:00Z"),
        v2("delete", "person", None, previous={**person(2, first="Loser"), "merged_to_id": 1}, entity_id=2,
           timestamp="2026-11-24T08:50:00Z"),
    ])
    apply_events(PipedriveHook(retry=FAST_RETRY), store, events, "run_d")
    persons = snapshot(store, "persons")
    assert persons["1"]["first_name"] == "Winner" and not persons["1"]["_deleted"]
    assert persons["2"]["_deleted"] and persons["2"]["merged_to_id"] == 1
    assert snapshot(store, "deals")["9"]["person_id"] == 1  # Pipedrive moved the loser's deal to the winner


def test_a_v1_merge_alone_also_deletes_the_loser(store, pipedrive):
    sandbox = pipedrive(None)
    sandbox.admin("POST", "/records/persons", person(1, first="Winner", update_time="2026-11-24T08:50:00Z"))
    seed(store, "persons", [person(1), person(2)])
    body = {"v": 1, "event": "merged.person", "retry": 0,
            "meta": {"v": 1, "action": "merged", "object": "person", "id": 1, "timestamp": 1795942200,
                     "timestamp_micro": 1795942200000000, "company_id": 1, "webhook_id": 3},
            "current": {"id": 1, "name": "Winner Person1"}, "previous": {"id": 2, "name": "Loser"}}
    result = apply_events(PipedriveHook(retry=FAST_RETRY), store, store_events(store, [body]), "run_e")
    persons = snapshot(store, "persons")
    assert result["counts"]["fetched"] == 1  # a v1 body is in the v1 record shape: read the v2 record
    assert persons["1"]["first_name"] == "Winner" and persons["2"]["_deleted"]


def test_a_delete_flags_the_record_with_the_event_time(store, hook):
    seed(store, "persons", [person(3)])
    events = store_events(store, [v2("delete", "person", None, previous=person(3), timestamp="2026-11-24T09:00:00Z")])
    result = apply_events(hook, store, events, "run_f")
    row = store.read_parquet("snapshots/persons.parquet").set_index("id").loc["3"]
    assert bool(row["is_deleted"]) and row["update_time"] == "2026-11-24T09:00:00.000Z"
    assert result["counts"]["applied"] == 1
    # the same delete again (a retry of the webhook in a later run) changes nothing
    again = apply_events(hook, store, store_events(store, [v2("delete", "person", None, previous=person(3),
                                                              timestamp="2026-11-24T09:00:00Z")]), "run_g")
    assert again["counts"]["stale"] >= 1 and again["entities"] == {}


def test_an_unreadable_body_is_skipped_and_counted(store, hook):
    seed(store, "persons", [person(1)])
    events = store_events(store, [{"meta": {"action": "exploded", "entity": "person", "id": "x"}},
                                  v2("create", "person", person(4, update_time="2026-11-24T08:01:00Z"))])
    result = apply_events(hook, store, events, "run_h")
    assert result["counts"]["invalid"] == 1 and result["counts"]["applied"] == 1
    assert set(snapshot(store, "persons")) == {"1", "4"}
    assert isinstance(store.read_parquet("snapshots/persons.parquet"), pd.DataFrame)


def test_a_change_a_concurrent_sync_merge_wrote_over_stays_pending(store, hook):
    seed(store, "persons", [person(1), person(2)])
    events = store_events(store, [v2("change", "person", person(1, first="Hooked", update_time="2026-11-24T08:10:00Z")),
                                  v2("change", "person", person(2, first="Kept", update_time="2026-11-24T08:10:00Z"))])
    apply_events(hook, store, events, "run_i")
    keys = [e.key for e in events]
    assert keys_to_mark(store, "run_i", keys) == (keys, [])
    # the hourly sync's merge read the snapshot before this run wrote it, and wrote its own afterwards
    seed(store, "persons", [person(1), person(2, first="Kept", update_time="2026-11-24T08:10:00Z")])
    assert keys_to_mark(store, "run_i", keys) == ([keys[1]], [keys[0]])
    # left pending, the change is applied again by the next run: not lost
    again = apply_events(hook, store, [events[0]], "run_j")
    assert again["counts"]["applied"] == 1 and snapshot(store, "persons")["1"]["first_name"] == "Hooked"


def test_an_entity_the_mapping_does_not_sync_is_ignored(store, hook):
    seed(store, "persons", [person(1)])
    events = store_events(store, [v2("create", "lead", {"id": "5b1e2c3d-0000-4000-8000-000000000001",
                                                         "title": "A lead", "update_time": T0, "is_archived": False}),
                                  v2("change", "person", person(1, first="Synced", update_time="2026-11-24T08:01:00Z"))])
    result = apply_events(hook, store, events, "run_k", entities=("persons", "deals"))
    assert result["counts"]["ignored"] == 1 and result["counts"]["applied"] == 1
    assert not store.exists("snapshots/leads.parquet")
