"""End to end: Pipedrive sandbox → its webhooks → the receiver → pipedrive_webhook_events → Brevo,
against a plain scheduled sync of the same changes into a second Brevo sandbox.

Two data locations share one Pipedrive account: A (the webhook path, Brevo sandbox 1) and B (the
hourly sync only, Brevo sandbox 2). Both first sync at the same moment; then records change in
Pipedrive (a rename, a new person, a deal moved, a deal won, an activity, a merge, a delete), the
sandbox POSTs its webhooks (registered by webhook_registration from the mapping) to the project's
receiver served by uvicorn, A runs ``pipedrive_webhook_events`` (dag.test) and B a scheduled sync
(with its daily delete scan, which is how a sync learns of deletes). The two Brevo accounts must
then hold the same contacts, lists and events, and A's next hourly sync must send nothing.
The syncs are called as the DAG's tasks call them (bench.bench_sync.sync_run), without Airflow.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipedrive_brevo import webhook_store
from pipedrive_brevo.config import load_mapping
from pipedrive_brevo.hooks.pipedrive import PipedriveHook
from pipedrive_brevo.storage import DataLocation
from pipedrive_brevo.webhook_registration import register_webhooks
from sandbox.brevo import BrevoConfig
from sandbox.brevo import create_app as create_brevo
from sandbox.generator import generate_account
from tests.support.dag_runs import brevo_contacts, delta, run_dag, seed_lists, summary_of, writes
from tests.support.sandboxes import BREVO_KEY, FAST_RETRY, Sandbox

pytestmark = pytest.mark.slow

USER, PASSWORD = "pipedrive-hooks", "e2e-webhook-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def receiver(data):
    """The project's Pipedrive receiver on loopback, storing into the test's data location."""
    import uvicorn

    from pipedrive_brevo.webhooks.receivers import CachedSecrets, Secret, create_pipedrive_app

    triggered: list[str] = []
    app = create_pipedrive_app(store=DataLocation(str(data)), secrets=CachedSecrets(lambda _: Secret(USER, PASSWORD)),
                               trigger=triggered.append)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/webhooks", triggered
    server.should_exit = True
    thread.join(timeout=10)


def use_brevo(monkeypatch, sandbox: Sandbox) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_BREVO_DEFAULT", json.dumps(
        {"conn_type": "http", "host": sandbox.url, "password": BREVO_KEY}))


def state(sandbox: Sandbox) -> dict[str, Any]:
    """What a marketer sees: contacts (attributes, ext_id, lists) and events, without sandbox ids."""
    contacts = {email: (c["ext_id"], sorted(c["listIds"]), json.dumps(c["attributes"], sort_keys=True, default=str))
                for email, c in brevo_contacts(sandbox).items()}
    events = sorted(json.dumps([e["event_name"], e["identifiers"], e["event_properties"]], sort_keys=True)
                    for e in sandbox.admin("GET", "/brevo/events")["events"])
    return {"contacts": contacts, "events": events}


def test_webhooks_reach_brevo_as_a_scheduled_sync_would(airflow_db, pipedrive, brevo, serve, data, tmp_path,
                                                         monkeypatch, receiver):
    from bench.bench_sync import sync_run

    url, triggered = receiver
    now = datetime.now(UTC).replace(microsecond=0)
    account = generate_account(30, seed=21, now=now - timedelta(hours=1))
    p = pipedrive(account, webhook_retry_delays=(0.05, 0.05, 0.05))
    b1 = brevo()
    b2 = Sandbox(serve(create_brevo(BrevoConfig(import_delay_s=0.05))), None)
    for sandbox in (b1, b2):
        seed_lists(sandbox)
    mapping = load_mapping()
    store_a, store_b = DataLocation(str(data)), DataLocation(str(tmp_path / "plain"))
    first = now - timedelta(minutes=1)
    sync_run(store_a, mapping, "first_a", first)
    use_brevo(monkeypatch, b2)
    sync_run(store_b, mapping, "first_b", first)
    use_brevo(monkeypatch, b1)
    assert state(b1) == state(b2)

    assert register_webhooks(PipedriveHook(retry=FAST_RETRY), mapping.webhooks, url, http_auth_user=USER,
                             http_auth_password=PASSWORD)["created"] == 6

    # Changes in Pipedrive, as users make them (times after the first syncs' window).
    contacts = {c["ext_id"]: c for c in brevo_contacts(b1).values()}
    emails = [e["value"].strip().lower() for q in account.persons for e in q.get("emails") or []]
    single = [c for c in contacts.values() if emails.count(c["email"]) == 1]  # no other person shares its email
    renamed, loser, winner, deleted = (int(c["ext_id"]) for c in single[:4])
    busy = {renamed, loser, winner, deleted}
    moved = next(d for d in account.deals if d["status"] == "open" and d["stage_id"] in (1, 2) and not d.get("is_archived")
                 and str(d.get("person_id")) in contacts and d["person_id"] not in busy)
    won = next(d for d in account.deals if d["status"] == "open" and not d.get("is_archived") and d["id"] != moved["id"]
               and str(d.get("person_id")) in contacts and d["person_id"] not in busy | {moved["person_id"]})
    stamp = (now + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def upsert(entity: str, record: dict[str, Any]) -> None:
        p.admin("POST", f"/records/{entity}", {**record, "update_time": stamp})

    upsert("persons", {"id": renamed, "first_name": "Hooked", "name": "Hooked Person"})
    upsert("persons", {"id": 5001, "name": "New Person", "first_name": "New", "last_name": "Person", "owner_id": 1,
                       "emails": [{"value": "new.person@example.com", "primary": True, "label": "work"}],
                       "phones": [], "add_time": stamp, "custom_fields": {}})
    upsert("deals", {"id": moved["id"], "stage_id": 3, "stage_change_time": stamp})
    upsert("deals", {"id": won["id"], "status": "won", "won_time": stamp, "close_time": stamp})
    upsert("activities", {"id": 7001, "subject": "Call after the webinar", "type": "call", "done": True,
                          "due_date": stamp[:10], "person_id": moved["person_id"], "deal_id": moved["id"],
                          "add_time": stamp, "owner_id": 1})
    p.admin("POST", "/records/persons/merge", {"loser_id": loser, "winner_id": winner})
    p.admin("POST", "/records/persons/delete", {"ids": [deleted]})
    assert p.admin("POST", "/pipedrive/webhook_deliveries/wait", {"timeout": 20}) is not None
    stored = webhook_store.pending_events(store_a, "pipedrive")
    assert len(stored) >= 8 and triggered  # every change arrived; the receiver asked for a run

    before = b1.counters()
    dag_run = run_dag(dag_id="pipedrive_webhook_events")
    assert dag_run.state == "success"
    summary = summary_of(data, dag_run)
    assert summary["webhooks"]["events"] == len(stored) and summary["webhooks"]["invalid"] == 0
    assert writes(delta(before, b1.counters()))  # it sent something
    assert webhook_store.pending_events(store_a, "pipedrive") == []

    later = now + timedelta(minutes=3)  # the next hourly run: its window holds the changes
    use_brevo(monkeypatch, b2)
    for entity in ("persons",):  # the daily delete scan, which is how the sync sees deletes and merges
        store_b.delete(f"state/reconcile/{entity}.json")
    sync_run(store_b, mapping, "hourly_b", later)
    use_brevo(monkeypatch, b1)

    webhook_state, plain_state = state(b1), state(b2)
    assert webhook_state == plain_state
    names = sorted(json.loads(e)[0] for e in webhook_state["events"])
    assert names == ["activity_logged", "deal_stage_changed", "deal_won"]
    assert "new.person@example.com" in webhook_state["contacts"]
    assert webhook_state["contacts"][contacts[str(renamed)]["email"]][2].count('"FIRSTNAME": "Hooked"') == 1

    # A's own next hourly sync reads the same changes and sends nothing.
    before = b1.counters()
    hourly = sync_run(store_a, mapping, "hourly_a", later)
    assert hourly["load"]["events_sent"] == 0
    assert writes(delta(before, b1.counters())) == {}
