"""brevo_to_pipedrive on the sandboxes, through Airflow's own runner (dag.test()).

One change on each side of the loop: an unsubscribe and an edit made in Brevo reach the Pipedrive
persons; then running both DAGs again writes nothing on either side (no ping-pong).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from sandbox.generator import generate_account
from tests.reverse.reverse_support import KEY_NAMES, MARKETING_KEY, reverse_mapping_file
from tests.support.dag_runs import brevo_contacts, delta, run_dag, seed_lists, writes
from tests.support.sandboxes import BREVO_KEY

pytestmark = pytest.mark.slow


def test_brevo_changes_reach_pipedrive_and_both_directions_converge(airflow_db, pipedrive, brevo, data, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setenv("PIPEDRIVE_BREVO_MAPPING", str(reverse_mapping_file(tmp_path)))
    p = pipedrive(generate_account(30, seed=5, now=datetime.now(UTC) - timedelta(hours=1)))
    b = brevo(api_keys=[BREVO_KEY, MARKETING_KEY], api_key_names=dict(KEY_NAMES))
    seed_lists(b)
    marketing = {"api-key": MARKETING_KEY}
    assert requests.post(f"{b.url}/v3/contacts/attributes/normal/NEWSLETTER", json={"type": "boolean"},
                         headers=marketing, timeout=10).status_code == 201
    assert run_dag().state == "success"
    contacts = brevo_contacts(b)
    jessica, other = sorted(contacts.values(), key=lambda c: int(c["ext_id"]))[:2]
    jessica_id, other_id = int(jessica["ext_id"]), int(other["ext_id"])

    # a person unsubscribes; marketing renames another contact and ticks its newsletter box
    assert requests.put(f"{b.url}/v3/contacts/{jessica['email']}", json={"emailBlacklisted": True},
                        headers=marketing, timeout=10).status_code == 204
    assert requests.put(f"{b.url}/v3/contacts/{other['email']}", headers=marketing, timeout=10,
                        json={"attributes": {"FULLNAME": "Renamed In Brevo", "NEWSLETTER": True}}).status_code == 204

    before = p.counters()
    assert run_dag(dag_id="brevo_to_pipedrive").state == "success"
    # exactly two PATCHes: one per changed person
    assert writes(delta(before, p.counters())) == {"write:PATCH /api/v2/persons/{id}": 2}
    person_1 = p.admin("GET", f"/records/persons/{jessica_id}")["data"]
    assert person_1["marketing_status"] == "unsubscribed"
    renamed = p.admin("GET", f"/records/persons/{other_id}")["data"]
    assert renamed["name"] == "Renamed In Brevo"
    newsletter = next(f for f in p.app.store.fields["persons"] if f["field_name"] == "Newsletter opt-in")
    yes = next(o["id"] for o in newsletter["options"] if o["label"] == "Yes")
    assert renamed["custom_fields"][newsletter["field_code"]] == yes

    # the forward sync sends nothing back, and the reverse sync has nothing left to write
    before_b, before_p = b.counters(), p.counters()
    assert run_dag().state == "success"
    assert writes(delta(before_b, b.counters())) == {}
    assert run_dag(dag_id="brevo_to_pipedrive").state == "success"
    assert writes(delta(before_p, p.counters())) == {}
    assert brevo_contacts(b)[other["email"]]["attributes"]["FULLNAME"] == "Renamed In Brevo"
