"""A load killed between batches and retried ends with Brevo as an uninterrupted load leaves it.

The plan comes from a dry run of the DAG on the sandboxes (extract, merge, plan; nothing sent);
then :func:`pipedrive_brevo.load.load_run` runs with a hook that dies after its first batch, and
again with a sound one.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from sandbox.generator import generate_account

pytestmark = pytest.mark.slow


class Killed(Exception):
    """Stands for the worker dying mid-task."""


class DiesAfter:
    """A BrevoHook that dies on the ``n``-th call of one method (later calls pass through)."""

    def __init__(self, hook, method: str, n: int):
        self.hook, self.method, self.n, self.seen = hook, method, n, 0

    def __getattr__(self, name):
        real = getattr(self.hook, name)
        if name != self.method:
            return real

        def call(*args, **kwargs):
            self.seen += 1
            if self.seen == self.n:
                raise Killed(f"killed during {name} call {self.n}")
            return real(*args, **kwargs)

        return call


def _planned_run(pipedrive, brevo, data, monkeypatch):
    monkeypatch.setenv("PIPEDRIVE_BREVO_DATA", str(data))
    pipedrive(generate_account(40, seed=9, now=datetime.now(UTC) - timedelta(hours=1)))
    sandbox = brevo()
    from pipedrive_brevo.config import load_mapping

    for list_id in sorted(load_mapping().list_ids()):
        sandbox.admin("POST", "/brevo/lists", {"id": list_id, "name": f"List {list_id}", "folderId": 1})
    from airflow.models import DagBag

    dag = DagBag(dag_folder="dags/pipedrive_to_brevo.py").dags["pipedrive_to_brevo"]
    for t in dag.tasks:
        t.retries = 0
    dag_run = dag.test(run_conf={"dry_run": True})
    assert dag_run.state == "success"
    return sandbox, dag_run.run_id


def _queue_events(store, contacts: pd.DataFrame, n: int) -> None:
    from pipedrive_brevo import sync_state

    rows = contacts.head(n)
    events = pd.DataFrame({
        "event_id": [f"activity_logged:{900 + i}" for i in range(len(rows))],
        "event_name": "activity_logged", "kind": "activity_logged",
        "email": rows["email"].to_numpy(), "ext_id": rows["ext_id"].to_numpy(),
        "event_date": "2026-11-20T10:00:00Z",
        "properties": [json.dumps({"activity_id": 900 + i}) for i in range(len(rows))],
        "entity": "activity", "record_id": [str(900 + i) for i in range(len(rows))],
    }).astype("string")
    sync_state.queue_events(store, events)


def test_a_killed_load_resumes_without_sending_anything_twice(airflow_db, pipedrive, brevo, tmp_path, monkeypatch):
    from pipedrive_brevo import load, sync_state
    from pipedrive_brevo.config import load_mapping
    from pipedrive_brevo.hooks.brevo import BrevoHook
    from pipedrive_brevo.planning import desired_path
    from pipedrive_brevo.storage import DataLocation

    sandbox, run_id = _planned_run(pipedrive, brevo, tmp_path, monkeypatch)
    store = DataLocation(str(tmp_path))
    desired = store.read_parquet(desired_path(run_id, "contacts.parquet"))
    _queue_events(store, desired, 5)
    monkeypatch.setattr(load, "EVENTS_PER_CALL_GROUP", 2)
    mapping = load_mapping()

    def hook():
        return BrevoHook(process_poll_s=0.02, process_poll_max_s=0.1)

    # 1. dies on the second import: the first batch of 10 is in Brevo and in the sync state
    with pytest.raises(Killed):
        load.load_run(DiesAfter(hook(), "import_contacts", 2), store, mapping, run_id, batch_size=10,
                      single_upserts_up_to=0)
    assert len(sync_state.read_contacts(store)) == 10
    assert sandbox.admin("GET", "/brevo/contacts")["count"] == 10

    # 2. the retry imports only the rest, then dies on the second events call (2 events went out)
    imports_before = sandbox.counters().get("write:POST /v3/contacts/import", 0)
    with pytest.raises(Killed):
        load.load_run(DiesAfter(hook(), "send_events", 2), store, mapping, run_id, batch_size=10,
                      single_upserts_up_to=0)
    remaining = len(desired) - 10
    assert sandbox.counters()["write:POST /v3/contacts/import"] - imports_before == -(-remaining // 10)
    assert sandbox.admin("GET", "/brevo/events")["count"] == 2

    # 3. the last retry sends the three other events and nothing else
    before = sandbox.counters()
    counts = load.load_run(hook(), store, mapping, run_id, batch_size=10, single_upserts_up_to=0)
    after = sandbox.counters()
    assert after.get("write:POST /v3/contacts/import", 0) == before.get("write:POST /v3/contacts/import", 0)
    assert counts["created"] == len(desired) and counts["events_sent"] == 5

    # Brevo ends as an uninterrupted load leaves it: every desired contact, its mapped lists, each event once
    contacts = {c["email"]: c for c in sandbox.admin("GET", "/brevo/contacts")["contacts"]}
    assert set(contacts) == set(desired["email"])
    mapped = set(mapping.list_ids())
    for row in desired.itertuples():
        assert set(contacts[row.email]["listIds"]) & mapped == {int(i) for i in row.list_ids}
        assert contacts[row.email]["ext_id"] == row.ext_id
    events = sandbox.admin("GET", "/brevo/events")["events"]
    ids = sorted(e["event_properties"]["activity_id"] for e in events)
    assert ids == [900, 901, 902, 903, 904]
    assert sync_state.read_outbox(store).empty
