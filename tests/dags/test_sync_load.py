"""pipedrive_to_brevo sends the difference (dag.test() on the sandboxes).

A first run creates the contacts the mapping implies; a rerun with no change writes nothing to
Brevo; a change in Pipedrive sends exactly that change (and one ``deal_stage_changed``); a dry run
writes its plan and sends nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from sandbox.generator import generate_account
from tests.support.dag_runs import brevo_contacts, delta, run_dag, seed_lists, summary_of, writes

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def account():
    return generate_account(60, seed=5, now=datetime.now(UTC) - timedelta(hours=1))


def test_first_run_creates_the_contacts_and_a_rerun_writes_nothing(airflow_db, pipedrive, brevo, data, account):
    pipedrive(account)
    b = brevo()
    seed_lists(b)
    first = run_dag()
    assert first.state == "success"
    summary = summary_of(data, first)
    found = brevo_contacts(b)
    assert len(found) == summary["contacts_desired"] == summary["load"]["created"] > 40

    # hand-checked: person 1 is "Jessica Smith", Jessicasmith@GMAIL.EXAMPLE, (415) 825-0858, org 1
    jessica = found["jessicasmith@gmail.example"]
    assert jessica["ext_id"] == "1"
    assert jessica["attributes"]["FIRSTNAME"] == "Jessica" and jessica["attributes"]["LASTNAME"] == "Smith"
    assert jessica["attributes"]["FULLNAME"] == "Jessica Smith"
    assert 60 in jessica["listIds"]  # lists.all_contacts
    # every contact is in all_contacts, and carries its Pipedrive person id
    assert all(60 in c["listIds"] and c["ext_id"] for c in found.values())
    # a person without a usable email is not sent, and is in the rejects with its reason
    rejects = pd.read_parquet(next((data / "rejects").glob("*.parquet")))
    assert {"no_email", "invalid_email"} <= set(rejects["reason"])
    assert set(summary["rejects"]) == set(rejects["reason"])
    assert (data / "state" / "brevo" / "contacts.parquet").exists()
    # organizations became companies, found again by their Pipedrive id, linked to their persons' contacts
    companies = b.admin("GET", "/brevo/companies")["companies"]
    blue_ridge = next(c for c in companies if c["attributes"]["pipedrive_org_id"] == "1")
    assert blue_ridge["attributes"]["name"] == "Blue Ridge & O'Brien Co."
    assert jessica["id"] in blue_ridge["linkedContactsIds"]  # person 1 works at organization 1
    named = [o for o in account.organizations if o.get("name") and not o.get("is_deleted")]
    assert len(companies) == len(named) == summary["load"]["companies_created"]

    before = b.counters()
    second = run_dag()
    assert second.state == "success"
    assert writes(delta(before, b.counters())) == {}
    summary = summary_of(data, second)
    assert summary["plan"]["unchanged"] == len(found)
    assert summary["plan"]["created"] == summary["plan"]["updated"] == summary["plan"]["list_adds"] == 0


def _watermark(data, stream):
    mark = json.loads((data / "state" / "watermarks" / f"{stream}.json").read_text())["watermark"]
    return datetime.fromisoformat(mark).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_change_in_pipedrive_sends_exactly_that_change(airflow_db, pipedrive, brevo, data, account):
    p = pipedrive(account)
    b = brevo()
    seed_lists(b)
    assert run_dag().state == "success"
    found = brevo_contacts(b)
    by_ext = {c["ext_id"]: c for c in found.values()}

    # a person renamed, and an open deal of another contact moved from stage 1 or 2 (list 61) to 3 (list 62)
    renamed = found["jessicasmith@gmail.example"]
    deal = next(d for d in account.deals if d["status"] == "open" and d["stage_id"] in (1, 2)
                and str(d.get("person_id")) in by_ext and str(d["person_id"]) != renamed["ext_id"])
    mover = by_ext[str(deal["person_id"])]
    gone = next(c for c in found.values() if c["ext_id"] not in (renamed["ext_id"], mover["ext_id"])
                and len(c["listIds"]) >= 2)
    p.admin("POST", "/records/persons", {"id": 1, "first_name": "Jess", "name": "Jess Smith",
                                         "update_time": _watermark(data, "persons")})
    p.admin("POST", "/records/deals", {"id": deal["id"], "stage_id": 3, "update_time": _watermark(data, "deals"),
                                       "stage_change_time": _watermark(data, "deals")})
    p.admin("POST", "/records/persons/delete", {"ids": [int(gone["ext_id"])]})  # found by the id scan
    before = b.counters()
    dag_run = run_dag({"reconcile_deletes": True})
    assert dag_run.state == "success"
    sent = writes(delta(before, b.counters()))
    summary = summary_of(data, dag_run)

    assert summary["plan"]["updated"] == 1 and summary["plan"]["created"] == 0
    assert summary["plan"]["unlisted"] == 1 and summary["plan"]["deleted"] == 0  # delete_behavior: soft
    assert sent["write:POST /v3/contacts"] == 1  # a plan this small is upserted contact by contact
    assert "write:POST /v3/contacts/import" not in sent  # (no import: no /processes polls)
    assert sent["write:POST /v3/contacts/lists/{listId}/contacts/add"] == 1  # into list 62
    assert sent["write:POST /v3/events/batch"] == 1
    after = brevo_contacts(b)
    assert after[renamed["email"]]["attributes"]["FIRSTNAME"] == "Jess"
    assert after[renamed["email"]]["attributes"]["FULLNAME"] == "Jess Smith"
    assert 62 in after[mover["email"]]["listIds"]
    assert set(after[gone["email"]]["listIds"]) & set(range(60, 66)) == set()  # soft: out of every mapped list
    assert "write:DELETE /v3/contacts/{identifier}" not in sent
    events = b.admin("GET", "/brevo/events")["events"]
    moved = [e for e in events if e["event_name"] == "deal_stage_changed"]
    assert len(moved) == 1 and moved[0]["event_properties"]["deal_id"] == deal["id"]
    assert moved[0]["event_properties"]["stage_id"] == 3

    before = b.counters()  # the events were sent once: a rerun sends none again
    assert run_dag().state == "success"
    assert writes(delta(before, b.counters())) == {}


def test_a_deal_won_and_a_custom_field_changed_write_only_those_contacts(airflow_db, pipedrive, brevo, data, account):
    p = pipedrive(account)
    b = brevo()
    seed_lists(b)
    assert run_dag().state == "success"
    by_ext = {c["ext_id"]: c for c in brevo_contacts(b).values()}

    # An open EUR deal of a synced contact is won; another contact's "Lead source" changes option.
    deal = next(d for d in account.deals if d["status"] == "open" and d.get("currency") == "EUR"
                and not d.get("is_deleted") and not d.get("is_archived") and str(d.get("person_id")) in by_ext)
    winner = by_ext[str(deal["person_id"])]
    lead_source = next(f for f in account.person_fields if f["field_name"] == "Lead source")
    person = next(q for q in account.persons if str(q["id"]) in by_ext and str(q["id"]) != winner["ext_id"]
                  and q.get("custom_fields", {}).get(lead_source["field_code"]) is not None)
    current = person["custom_fields"][lead_source["field_code"]]
    option = next(o for o in lead_source["options"] if o["id"] != current)
    stamp = _watermark(data, "deals")
    p.admin("POST", "/records/deals", {"id": deal["id"], "status": "won", "won_time": stamp, "close_time": stamp,
                                       "update_time": stamp})
    p.admin("POST", "/records/persons", {"id": person["id"], "update_time": _watermark(data, "persons"),
                                         "custom_fields": {lead_source["field_code"]: option["id"]}})
    before = b.counters()
    dag_run = run_dag()
    assert dag_run.state == "success"
    summary = summary_of(data, dag_run)
    sent = writes(delta(before, b.counters()))

    assert summary["plan"]["updated"] == 2 and summary["plan"]["created"] == 0
    assert sent["write:POST /v3/contacts"] == 2 and "write:POST /v3/contacts/import" not in sent
    after = {c["ext_id"]: c for c in brevo_contacts(b).values()}
    won = after[winner["ext_id"]]["attributes"]
    was = winner["attributes"]
    assert won["WON_DEALS"] == was.get("WON_DEALS", 0) + 1
    assert won["OPEN_DEALS"] == was.get("OPEN_DEALS", 0) - 1
    assert won["LTV"] == pytest.approx(was.get("LTV", 0) + deal["value"], abs=0.01)  # EUR is the base currency
    assert 63 in after[winner["ext_id"]]["listIds"]  # deal_stage_mapping: won -> 63
    # LEAD_SOURCE was created as a Brevo category attribute: contacts hold the option's enumeration value.
    (attribute,) = [a for a in b.admin("GET", "/brevo/attributes")["attributes"] if a["name"] == "LEAD_SOURCE"]
    labels = {e["value"]: e["label"] for e in attribute["enumeration"]}
    assert labels[after[str(person["id"])]["attributes"]["LEAD_SOURCE"]] == option["label"]
    events = [e for e in b.admin("GET", "/brevo/events")["events"] if e["event_name"] == "deal_won"]
    assert len(events) == 1 and events[0]["event_properties"]["deal_id"] == deal["id"]


def test_a_dry_run_writes_the_plan_and_sends_nothing(airflow_db, pipedrive, brevo, data, account):
    pipedrive(account)
    b = brevo()
    seed_lists(b)
    before = b.counters()
    dag_run = run_dag({"dry_run": True})
    assert dag_run.state == "success"
    assert writes(delta(before, b.counters())) == {}
    assert brevo_contacts(b) == {}
    summary = summary_of(data, dag_run)
    from pipedrive_brevo.storage import safe

    plan = pd.read_parquet(data / "runs" / safe(dag_run.run_id) / "plan.parquet")
    assert (plan["operation"] == "create").sum() == summary["plan"]["created"] == summary["contacts_desired"]
    assert summary["load"] == {"dry_run": True}
    assert not (data / "state" / "brevo" / "contacts.parquet").exists()


def test_a_mapped_list_missing_in_brevo_fails_the_run_naming_it(airflow_db, pipedrive, brevo, data, account):
    pipedrive(account)
    b = brevo()
    b.admin("POST", "/brevo/lists", {"id": 60, "name": "All", "folderId": 1})
    dag_run = run_dag()
    assert dag_run.state == "failed"
    assert brevo_contacts(b) == {}


def test_notifications_report_each_batch_and_the_completed_run(airflow_db, pipedrive, brevo, data, account,
                                                               tmp_path, monkeypatch):
    import yaml

    from tests.sync.test_notifications import Receiver

    receiver = Receiver()
    try:
        with open("include/mappings/pipedrive_brevo.yaml") as fh:
            config = yaml.load(fh, Loader=yaml.CSafeLoader)
        config["options"]["notify"] = {"webhook_url": receiver.url,
                                       "events": ["sync_completed", "sync_failed", "batch_completed"]}
        mapping_file = tmp_path / "notify.yaml"
        mapping_file.write_text(yaml.safe_dump(config))
        monkeypatch.setenv("PIPEDRIVE_BREVO_MAPPING", str(mapping_file))
        pipedrive(account)
        seed_lists(brevo())
        assert run_dag().state == "success"
    finally:
        receiver.stop()
    kinds = [r["event"] for r in receiver.received]
    assert kinds[-1] == "sync_completed" and "sync_failed" not in kinds
    batches = [r for r in receiver.received if r["event"] == "batch_completed"]
    assert batches and batches[0]["batch"] == "contacts" and batches[0]["counts"]["created"] > 0
    done = receiver.received[-1]
    assert done["summary"]["load"]["created"] == done["summary"]["contacts_desired"]


def test_a_row_the_import_rejects_is_repaired_and_reported(airflow_db, pipedrive, brevo, data, account):
    """Brevo refuses an SMS another contact holds: the contact is written without it, the phone reported."""
    from pipedrive_brevo.storage import safe

    pipedrive(account)
    b = brevo()
    seed_lists(b)
    dry = run_dag({"dry_run": True})
    desired = pd.read_parquet(data / "runs" / safe(dry.run_id) / "desired" / "contacts.parquet")
    victim = desired[desired["SMS"].notna()].iloc[0]
    b.admin("POST", "/brevo/contacts", {"email": "holder@example.org", "attributes": {"SMS": victim["SMS"]}})

    dag_run = run_dag()
    assert dag_run.state == "success"
    found = brevo_contacts(b)
    assert found[victim["email"]]["ext_id"] == victim["ext_id"]
    assert "SMS" not in found[victim["email"]]["attributes"]
    assert found["holder@example.org"]["sms"] == victim["SMS"]  # the holder keeps its number
    rejects = pd.read_parquet(data / "rejects" / f"{safe(dag_run.run_id)}.parquet")
    mine = rejects[(rejects["id"] == victim["ext_id"]) & (rejects["reason"] == "brevo_rejected")]
    assert mine["field"].tolist() == ["SMS"] and mine["value"].tolist() == [victim["SMS"]]
    summary = summary_of(data, dag_run)
    assert summary["load"]["repaired"] == 1 and summary["load"]["created"] == len(desired)


def test_a_429_storm_and_5xx_bursts_end_with_every_contact_sent(airflow_db, pipedrive, brevo, data, account):
    pipedrive(account)
    b = brevo()
    seed_lists(b)
    b.faults(storm_429=2, error_rate=0.1, seed=3)  # within the hook's own retries
    dag_run = run_dag()
    b.faults(storm_429=0, error_rate=0.0)
    assert dag_run.state == "success"
    summary = summary_of(data, dag_run)
    assert summary["api"]["brevo"]["retries"] > 0
    assert len(brevo_contacts(b)) == summary["contacts_desired"]
    before = b.counters()
    assert run_dag().state == "success"
    assert writes(delta(before, b.counters())) == {}
