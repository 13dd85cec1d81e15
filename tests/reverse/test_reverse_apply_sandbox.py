"""The reverse steps called directly on the sandboxes (no Airflow): webhooks applied once, our own
key's events skipped, an unknown event reported, a dry run that writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import requests

from pipedrive_brevo import webhook_store
from pipedrive_brevo.config import load_mapping
from pipedrive_brevo.hooks.brevo import BrevoHook
from pipedrive_brevo.hooks.pipedrive import PipedriveHook
from pipedrive_brevo.reverse_apply import apply_changes, plan_path, read_changes, rejects_path
from pipedrive_brevo.storage import DataLocation
from sandbox.generator import generate_account
from tests.reverse.reverse_support import KEY_NAMES, MARKETING_KEY, reverse_mapping_file
from tests.support.dag_runs import delta, writes
from tests.support.sandboxes import BREVO_KEY


def _run(store, mapping, run_id, **flags):
    changes = read_changes(BrevoHook(), store, mapping, run_id)
    return apply_changes(PipedriveHook(), store, mapping, run_id, changes["changes"], **flags)


def test_stored_webhooks_are_applied_once_and_our_own_echoes_never(pipedrive, brevo, data, tmp_path):
    mapping = load_mapping(reverse_mapping_file(tmp_path))
    account = generate_account(4, seed=5, now=datetime.now(UTC) - timedelta(hours=1))
    p = pipedrive(account)
    b = brevo(api_keys=[BREVO_KEY, MARKETING_KEY], api_key_names=dict(KEY_NAMES))
    assert requests.post(f"{b.url}/v3/contacts/attributes/normal/NEWSLETTER", json={"type": "boolean"},
                         headers={"api-key": MARKETING_KEY}, timeout=10).status_code == 201
    newsletter = next(f for f in p.app.store.fields["persons"] if f["field_name"] == "Newsletter opt-in")
    yes = next(o["id"] for o in newsletter["options"] if o["label"] == "Yes")
    bob_says = p.admin("GET", "/records/persons/2")["data"]["custom_fields"].get(newsletter["field_code"]) != yes
    ada = {"email": "ada@example.com", "ext_id": "1"}
    bob = {"email": "bob@example.com", "ext_id": "2", "attributes": {"NEWSLETTER": bob_says}}  # differs
    b.admin("POST", "/brevo/contacts", {"contacts": [ada, bob]})
    store = DataLocation(str(data))
    webhook_store.append_event(store, "brevo", {"event": "unsubscribed", "email": "ada@example.com", "ts_event": 1})
    own = webhook_store.append_event(store, "brevo", {"event": "contact_updated", "email": "bob@example.com",
                                                      "api_key_name": "pipedrive-brevo-sync", "content": []})
    odd = webhook_store.append_event(store, "brevo", {"event": "teleported", "email": "ada@example.com"})

    # a dry run: the plan says what would be written, nothing is, the events stay pending
    before = p.counters()
    summary = _run(store, mapping, "dry", dry_run=True)
    assert writes(delta(before, p.counters())) == {}
    plan = pd.read_parquet(data / plan_path("dry"))
    assert summary["plan"]["persons_to_write"] == 2 and summary["written"] == 0
    assert len(webhook_store.pending_events(store, "brevo")) == 3

    # the real run: both persons once (the scan found them; ada's unsubscribe came by webhook)
    summary = _run(store, mapping, "r1")
    assert writes(delta(before, p.counters())) == {"write:PATCH /api/v2/persons/{id}": 2}
    assert summary["own_events_skipped"] == 1 and summary["written"] == 2
    person_1 = p.admin("GET", "/records/persons/1")["data"]
    assert person_1["marketing_status"] == "unsubscribed"
    assert webhook_store.pending_events(store, "brevo") == []
    rejects = pd.read_parquet(data / rejects_path("r1"))
    assert rejects[["id", "reason", "value"]].values.tolist() == [[odd.key, "unknown_event", "teleported"]]
    assert own.key not in rejects["id"].tolist()
    assert set(plan.loc[plan["action"] == "write", "person_id"]) == {1, 2}

    # nothing changed since: the next run reads the overlap again and writes nothing
    before = p.counters()
    summary = _run(store, mapping, "r2")
    assert writes(delta(before, p.counters())) == {} and summary["written"] == 0
    assert summary["contacts_changed"] == 0
