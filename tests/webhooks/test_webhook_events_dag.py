"""pipedrive_webhook_events on the sandboxes (dag.test()), after a sync; and the sync-state lease.

The first sync is made by the library calls the sync's tasks make (bench.bench_sync.sync_run); the
hourly sync that follows the webhook run is a real pipedrive_to_brevo run (it takes the lease too).

The events are stored as the receiver stores them (webhook_store.append_event); the receiver
itself and the sandbox's own delivery are exercised by test_webhook_end_to_end.py.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipedrive_brevo import sync_lease, webhook_store
from pipedrive_brevo.storage import DataLocation
from sandbox.generator import generate_account
from tests.support.dag_runs import brevo_contacts, delta, run_dag, seed_lists, summary_of, writes

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def account():
    return generate_account(40, seed=11, now=datetime.now(UTC) - timedelta(hours=1))


def v2(action: str, entity: str, record: dict[str, Any] | None, *, previous: dict[str, Any] | None = None,
       event_id: str | None = None) -> dict[str, Any]:
    rid = (record or previous or {})["id"]
    return {"meta": {"action": action, "entity": entity, "entity_id": str(rid), "id": event_id or str(uuid.uuid4()),
                     "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"), "version": "2.0",
                     "attempt": 1, "webhook_id": "1", "change_source": "app"},
            "data": record, "previous": previous}


def watermark(data, stream: str) -> str:
    mark = json.loads((data / "state" / "watermarks" / f"{stream}.json").read_text())["watermark"]
    return datetime.fromisoformat(mark).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def first_sync(store: DataLocation) -> None:
    """The first pipedrive_to_brevo run, as its tasks call the library (faster than dag.test())."""
    from bench.bench_sync import sync_run
    from pipedrive_brevo.config import load_mapping

    sync_run(store, load_mapping(), "first_sync", datetime.now(UTC))


@pytest.fixture
def synced(airflow_db, pipedrive, brevo, data, account):
    """Both sandboxes after a first sync: Pipedrive, Brevo, the data location and the contacts by ext_id."""
    p = pipedrive(account)
    b = brevo()
    seed_lists(b)
    store = DataLocation(str(data))
    first_sync(store)
    return p, b, store, {c["ext_id"]: c for c in brevo_contacts(b).values()}


def upsert(sandbox, entity: str, record: dict[str, Any]) -> dict[str, Any]:
    return sandbox.admin("POST", f"/records/{entity}", record)["data"][0]


def test_events_reach_brevo_once_and_the_next_sync_sends_nothing(synced, data, account):
    p, b, store, by_ext = synced

    # In Pipedrive: a person renamed, an open deal moved from stage 1/2 (list 61) to 3 (list 62), another
    # contact's deal won, an activity logged, a contact's person deleted. Times inside the next sync's window.
    stamp_p, stamp_d, stamp_a = watermark(data, "persons"), watermark(data, "deals"), watermark(data, "activities")
    renamed = next(q for q in account.persons if str(q["id"]) in by_ext)
    moved = next(d for d in account.deals if d["status"] == "open" and d["stage_id"] in (1, 2)
                 and not d.get("is_archived") and str(d.get("person_id")) in by_ext
                 and d["person_id"] != renamed["id"])
    won = next(d for d in account.deals if d["status"] == "open" and not d.get("is_archived")
               and str(d.get("person_id")) in by_ext and d["person_id"] not in (renamed["id"], moved["person_id"]))
    emails = [e["value"].strip().lower() for q in account.persons for e in q.get("emails") or []]
    gone = next(c for c in by_ext.values() if int(c["ext_id"]) not in (renamed["id"], moved["person_id"],
                                                                       won["person_id"])
                and len(c["listIds"]) >= 2 and emails.count(c["email"]) == 1)  # no other person has its email
    added = json.loads((data / "state" / "brevo" / "meta.json").read_text())["events_since"]  # after the first sync
    person = upsert(p, "persons", {"id": renamed["id"], "first_name": "Webhooked", "update_time": stamp_p})
    deal = upsert(p, "deals", {"id": moved["id"], "stage_id": 3, "update_time": stamp_d, "stage_change_time": stamp_d})
    closed = upsert(p, "deals", {"id": won["id"], "status": "won", "won_time": stamp_d, "close_time": stamp_d,
                                 "update_time": stamp_d})
    activity = upsert(p, "activities", {"id": 9001, "subject": "Webhook call", "type": "call", "done": True,
                                        "due_date": stamp_a[:10], "person_id": won["person_id"], "deal_id": won["id"],
                                        "add_time": added, "update_time": stamp_a, "owner_id": 1})
    last = p.admin("GET", f"/records/persons/{gone['ext_id']}")["data"]
    p.admin("POST", "/records/persons/delete", {"ids": [int(gone["ext_id"])]})
    retried = v2("change", "person", person, previous={"first_name": renamed["first_name"]})
    for body in (retried,
                 v2("change", "deal", {"id": deal["id"], "stage_id": 3, "update_time": stamp_d},
                    previous={"stage_id": moved["stage_id"]}),  # partial: fetched in full
                 v2("change", "deal", closed, previous={"status": "open"}),
                 v2("create", "activity", activity),
                 v2("delete", "person", None, previous=last),
                 retried):  # Pipedrive's retry of the first event: the same meta.id
        webhook_store.append_event(store, "pipedrive", body)

    before = b.counters()
    dag_run = run_dag(dag_id="pipedrive_webhook_events")
    assert dag_run.state == "success"
    sent = writes(delta(before, b.counters()))
    summary = summary_of(data, dag_run)
    assert summary["webhooks"]["events"] == 6 and summary["webhooks"]["duplicates"] == 1
    assert summary["webhooks"]["fetched"] == 1 and summary["webhooks"]["applied"] == 5
    # only the affected contacts: the renamed one and the won deal's (counts, LTV); the deleted one unlisted
    assert summary["plan"]["created"] == 0 and summary["plan"]["unlisted"] == 1
    assert summary["plan"]["updated"] == 2
    assert summary["plan"]["unchanged"] == summary["contacts_desired"] - 3  # the moved one's lists changed
    assert sent["write:POST /v3/events/batch"] == 1
    after = {c["ext_id"]: c for c in brevo_contacts(b).values()}
    assert after[str(renamed["id"])]["attributes"]["FIRSTNAME"] == "Webhooked"
    assert 62 in after[str(moved["person_id"])]["listIds"]
    assert 63 in after[str(won["person_id"])]["listIds"]  # deal_stage_mapping: won -> 63
    kept = brevo_contacts(b)[gone["email"]]  # delete_behavior: soft keeps the contact, out of every mapped list
    assert set(kept["listIds"]) & set(range(60, 66)) == set()
    events = b.admin("GET", "/brevo/events")["events"]
    names = sorted(e["event_name"] for e in events)
    assert names == ["activity_logged", "deal_stage_changed", "deal_won"]
    assert webhook_store.pending_events(store, "pipedrive") == []
    assert sync_lease.current(store) is None  # released after the load

    # The hourly sync reads the same changes: nothing is written or sent a second time.
    before = b.counters()
    sync = run_dag()
    assert sync.state == "success"
    assert summary_of(data, sync)["extracted"]["persons"] >= 1  # it did read them (identical: unchanged)
    assert writes(delta(before, b.counters())) == {}
    assert len(b.admin("GET", "/brevo/events")["events"]) == 3

    # A run with nothing pending finishes with nothing sent.
    before = b.counters()
    idle = run_dag(dag_id="pipedrive_webhook_events")
    assert idle.state == "success"
    assert writes(delta(before, b.counters())) == {}
    assert {ti.task_id: ti.state for ti in idle.get_task_instances()}["apply_events"] == "skipped"


def test_a_failed_run_leaves_its_events_pending_and_the_next_applies_them_once(synced, data, account):
    p, b, store, by_ext = synced
    moved = next(d for d in account.deals if d["status"] == "open" and d["stage_id"] in (1, 2)
                 and not d.get("is_archived") and str(d.get("person_id")) in by_ext)
    target = next(c for c in by_ext.values() if c["ext_id"] != str(moved["person_id"]))
    person = upsert(p, "persons", {"id": int(target["ext_id"]), "first_name": "Retried",
                                   "update_time": watermark(data, "persons")})
    stamp = watermark(data, "deals")
    deal = upsert(p, "deals", {"id": moved["id"], "stage_id": 3, "update_time": stamp, "stage_change_time": stamp})
    webhook_store.append_event(store, "pipedrive", v2("change", "person", person, previous={"first_name": "x"}))
    webhook_store.append_event(store, "pipedrive", v2("change", "deal", deal, previous={"stage_id": moved["stage_id"]}))

    b.faults(error_rate=1.0)  # Brevo answers 5xx to everything: the run fails after applying the events
    assert run_dag(dag_id="pipedrive_webhook_events").state == "failed"
    assert len(webhook_store.pending_events(store, "pipedrive")) == 2  # nothing lost
    assert sync_lease.current(store) is None  # a final failure frees the lease

    b.faults(error_rate=0.0)
    before = b.counters()
    recovered = run_dag(dag_id="pipedrive_webhook_events")
    assert recovered.state == "success"
    assert summary_of(data, recovered)["webhooks"]["stale"] == 2  # the snapshots already hold them ...
    sent = writes(delta(before, b.counters()))
    assert sent["write:POST /v3/contacts"] == 1 and sent["write:POST /v3/events/batch"] == 1
    assert brevo_contacts(b)[target["email"]]["attributes"]["FIRSTNAME"] == "Retried"
    assert 62 in brevo_contacts(b)[by_ext[str(moved["person_id"])]["email"]]["listIds"]
    events = b.admin("GET", "/brevo/events")["events"]  # ... and the stage change still becomes its event, once
    assert [e["event_name"] for e in events] == ["deal_stage_changed"]
    assert webhook_store.pending_events(store, "pipedrive") == []


def test_the_lease_is_one_holder_at_a_time_reentrant_and_expires(data):
    store = DataLocation(str(data))
    now = datetime(2026, 11, 24, 9, tzinfo=UTC)
    sync = sync_lease.holder_of("pipedrive_to_brevo", "scheduled__1")
    hooks = sync_lease.holder_of("pipedrive_webhook_events", "manual__1")
    first = sync_lease.acquire(store, sync, ttl=timedelta(minutes=10), now=now)
    assert sync_lease.acquire(store, sync, now=now + timedelta(minutes=1)).acquired_at == first.acquired_at
    with pytest.raises(sync_lease.LeaseHeldError, match="leased to pipedrive_to_brevo/scheduled__1 until"):
        sync_lease.acquire(store, hooks, now=now + timedelta(minutes=2))
    assert not sync_lease.release(store, hooks)  # not its lease: left alone
    # a holder killed mid-load blocks the other DAG only until its lease expires
    assert sync_lease.acquire(store, hooks, now=now + timedelta(hours=2)).holder == hooks
    assert sync_lease.release(store, hooks) and sync_lease.current(store) is None
    sync_lease.acquire(store, sync)
    with pytest.raises(sync_lease.LeaseHeldError):
        sync_lease.wait_and_acquire(store, hooks, timeout_s=0.3, poll_s=0.1)


def test_before_the_first_sync_the_run_does_nothing_and_keeps_the_events(airflow_db, pipedrive, brevo, data):
    pipedrive(None)
    b = brevo()
    store = DataLocation(str(data))
    webhook_store.append_event(store, "pipedrive", v2("create", "person", {"id": 1, "name": "Early"}))
    before = b.counters()
    dag_run = run_dag(dag_id="pipedrive_webhook_events")
    assert dag_run.state == "success"
    assert {ti.task_id: ti.state for ti in dag_run.get_task_instances()} == dict.fromkeys(
        ("apply_events", "prepare_brevo", "plan", "load", "mark_applied", "summary"), "skipped")
    assert writes(delta(before, b.counters())) == {} and not (data / "snapshots").exists()
    assert len(webhook_store.pending_events(store, "pipedrive")) == 1  # applied after the first sync
