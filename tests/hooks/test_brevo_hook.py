"""BrevoHook against the Brevo sandbox: every method, the chunk limits, the buckets and the faults."""

from __future__ import annotations

import json
import time

import pytest

from pipedrive_brevo.hooks.brevo import BrevoDialect, BrevoHook
from pipedrive_brevo.hooks.brevo_reports import match_rejections, parse_report
from pipedrive_brevo.hooks.chunking import chunk_by_json_size, envelope_bytes
from pipedrive_brevo.http import (
    BadRequestError,
    NotFoundError,
    RetryPolicy,
    encode_json,
)
from sandbox.brevo import Window
from tests.support.sandboxes import BREVO_KEY, FAST_RETRY


def hook(**kwargs) -> BrevoHook:
    kwargs.setdefault("retry", FAST_RETRY)
    kwargs.setdefault("timeout", (2.0, 10.0))
    kwargs.setdefault("process_poll_s", 0.05)
    kwargs.setdefault("process_poll_max_s", 0.2)
    kwargs.setdefault("process_timeout_s", 20)
    return BrevoHook(**kwargs)


def row(i: int, **attributes) -> dict:
    return {"email": f"c{i}@example.com", "attributes": {"EXT_ID": str(i), **attributes}}


def dump(sandbox) -> dict[str, dict]:
    return {c["email"] or c["ext_id"]: c for c in sandbox.admin("GET", "/brevo/contacts")["contacts"]}


def usage(sandbox) -> dict:
    return sandbox.admin("GET", "/brevo/usage")


# -------------------------------------------------------------------------------- pure parts
def test_chunks_by_json_size_fit_exactly_and_keep_order():
    items = [{"k": "x" * 8}] * 10  # each encodes to 16 bytes: {"k":"xxxxxxxx"}
    assert len(encode_json(items[0])) == 16
    # overhead 2 ("[]"): one item 18 bytes, two 2 + 16 + 1 + 16 = 35, three 52
    assert [len(c) for c in chunk_by_json_size(items, max_bytes=52, overhead_bytes=2)] == [3, 3, 3, 1]
    assert [len(c) for c in chunk_by_json_size(items, max_bytes=51, overhead_bytes=2)] == [2, 2, 2, 2, 2]
    assert [len(c) for c in chunk_by_json_size(items, max_bytes=10_000, max_items=4)] == [4, 4, 2]
    assert [len(c) for c in chunk_by_json_size(items, max_bytes=5)] == [1] * 10  # too big alone: alone
    assert envelope_bytes({"listIds": [7]}, "jsonBody") == len(b'{"listIds":[7],"jsonBody":[]}')


def test_report_rows_match_the_later_duplicate_and_unmatched_rows_are_kept():
    sent = [row(1), row(2), {"email": "c1@example.com", "attributes": {"EXT_ID": "1"}}, {"email": "bad@"}]
    reports = {"duplicate_email_id": "EMAIL;EXT_ID;SMS\nc1@example.com;1;\n",
               "invalid_emails": "EMAIL;EXT_ID;SMS\nbad@;;\nghost@x;9;\n"}
    rejected = match_rejections(sent, reports, first_index=100)
    assert [(r.reason, r.index) for r in rejected] == [("duplicate_email_id", 102), ("invalid_emails", 103),
                                                       ("invalid_emails", None)]
    assert rejected[-1].row == {"EMAIL": "ghost@x", "EXT_ID": "9", "SMS": ""}
    assert parse_report("") == []


def test_buckets():
    d = BrevoDialect()
    assert [d.limit_key("GET", p) for p in ("/v3/contacts", "/v3/contacts/import", "/v3/events/batch",
                                            "/v3/processes/4", "/v3/companies", "/__reports/1/x.csv")] == \
        ["contacts", "contacts", "events", "other", "other", None]


# ------------------------------------------------------------------------------- connection
def test_connection_and_api_key_header(brevo, monkeypatch):
    sandbox = brevo()
    assert hook().test_connection() == (True, "Connected to Brevo (10 contact attributes)")
    monkeypatch.setenv("AIRFLOW_CONN_BREVO_DEFAULT", json.dumps(
        {"conn_type": "http", "host": sandbox.url + "/v3", "password": "xkeysib-wrong-key-000"}))
    ok, message = hook().test_connection()
    assert not ok and "401" in message and "xkeysib-wrong-key-000" not in message
    monkeypatch.setenv("AIRFLOW_CONN_BREVO_DEFAULT", json.dumps(
        {"conn_type": "http", "host": "http://api.brevo.com", "password": BREVO_KEY}))
    ok, message = hook().test_connection()
    assert not ok and "'brevo_default'" in message and "https" in message


# ------------------------------------------------------------------------------------ import
def test_import_in_chunks_follows_each_process_and_reads_rejections_back(brevo):
    sandbox = brevo()
    sandbox.admin("POST", "/brevo/lists", {"lists": [{"id": 7, "name": "All contacts"}]})
    sandbox.admin("POST", "/brevo/contacts", {"contacts": [{"email": "owner@example.com",
                                                            "attributes": {"SMS": "+33612345678"}}]})
    rows = [row(i, FIRSTNAME=f"F{i}") for i in range(10, 50)]  # all rows encode to the same size
    rows[5] = {"email": "bad-email-15xyz", "attributes": {"EXT_ID": "15", "FIRSTNAME": "F15"}}  # invalid
    rows[12] = row(21, FIRSTNAME="F21")  # same email and ext_id as row 11: a duplicate in the file
    rows[39] = row(49, SMS="+33612345678")  # the SMS belongs to another contact
    h = hook()
    size = len(encode_json(rows[0]))
    assert {len(encode_json(r)) for r in rows[:39]} == {size}
    overhead = envelope_bytes({"listIds": [7], "updateExistingContacts": True, "emptyContactsAttributes": False},
                              "jsonBody")
    per_chunk = (2000 - overhead + 1) // (size + 1)  # rows of this size under 2,000 bytes
    results = h.import_contacts(rows, list_ids=[7], max_chunk_bytes=2000)
    assert len(results) == -(-40 // per_chunk) and all(r.status == "completed" for r in results)
    assert [r.first_index for r in results] == list(range(0, 40, per_chunk))
    rejected = sorted((x.index, x.reason) for r in results for x in r.rejected)
    assert rejected == [(5, "invalid_emails"), (12, "duplicate_email_id"), (39, "duplicate_phone_id")]
    contacts = dump(sandbox)
    assert len(contacts) == 1 + 37
    assert contacts["c48@example.com"]["listIds"] == [7]
    assert contacts["c48@example.com"]["attributes"]["FIRSTNAME"] == "F48"
    assert usage(sandbox)["endpoints"]["POST /v3/contacts/import"]["calls"] == len(results)


def test_import_options_reach_brevo(brevo):
    sandbox = brevo()
    sandbox.admin("POST", "/brevo/lists", {"lists": [{"id": 7, "name": "All"}, {"id": 8, "name": "Other"}]})
    h = hook()
    h.import_contacts([row(1, FIRSTNAME="Ada", LASTNAME="Lovelace")], list_ids=[7])
    h.import_contacts([row(1, FIRSTNAME="Changed")], list_ids=[8], update_existing=False)
    contact = dump(sandbox)["c1@example.com"]
    assert contact["attributes"]["FIRSTNAME"] == "Ada" and sorted(contact["listIds"]) == [7, 8]
    h.import_contacts([row(1, FIRSTNAME="Ada", LASTNAME="")], list_ids=[7], empty_attributes=True)
    assert "LASTNAME" not in dump(sandbox)["c1@example.com"]["attributes"]
    with pytest.raises(ValueError, match="list_ids"):
        h.import_contacts([row(1)], list_ids=[])


def test_a_failed_import_is_imported_again_and_reported_when_it_keeps_failing(brevo):
    sandbox = brevo()
    sandbox.admin("POST", "/brevo/lists", {"lists": [{"id": 7, "name": "All"}]})
    sandbox.faults(fail_imports=1)
    result, = hook().import_contacts([row(1), row(2)], list_ids=[7])
    assert (result.status, result.attempts) == ("completed", 2)
    assert len(dump(sandbox)) == 2
    sandbox.faults(fail_imports=1)
    result, = hook().import_contacts([row(3)], list_ids=[7], failed_retries=0)
    assert (result.status, result.rejected) == ("failed", [])


def test_process_polling_stays_within_the_other_bucket(brevo):
    sandbox = brevo(import_delay_s=0.3, rate_limits={"contacts": (Window(100, 1),), "events": (Window(100, 1),),
                                                     "other": (Window(3, 0.5),)})
    sandbox.admin("POST", "/brevo/lists", {"lists": [{"id": 7, "name": "All"}]})
    h = hook(rate_window_s=0.5, process_poll_s=0.01, process_poll_max_s=0.01)
    results = h.import_contacts([row(i) for i in range(30)], list_ids=[7], max_chunk_bytes=400)
    assert all(r.status == "completed" for r in results) and len(results) >= 5
    assert usage(sandbox)["buckets"]["other"]["429"] == 0 and h.stats["http_429"] == 0


# ----------------------------------------------------------------------------- single contacts
def test_single_contact_create_upsert_update_get_delete(brevo):
    sandbox = brevo()
    sandbox.admin("POST", "/brevo/lists", {"lists": [{"id": 7, "name": "All"}]})
    h = hook()
    created = h.create_contact(email="ada@example.com", ext_id=42, attributes={"FIRSTNAME": "Ada"}, list_ids=[7])
    assert created.created and isinstance(created.contact_id, int)
    again = h.create_contact(email="ada@example.com", attributes={"LASTNAME": "Lovelace"})
    assert not again.created and again.contact_id is None  # an upsert answers 204, no id
    h.update_contact("42", identifier_type="ext_id", attributes={"FIRSTNAME": "Augusta"}, unlink_list_ids=[7])
    by_id = h.get_contact(created.contact_id, identifier_type="contact_id")
    assert by_id["attributes"]["FIRSTNAME"] == "Augusta" and by_id["listIds"] == []
    assert h.get_contact("ada@example.com")["id"] == created.contact_id
    assert h.delete_contact("ada@example.com", identifier_type="email_id") is True
    assert h.delete_contact("ada@example.com") is False
    assert h.get_contact("ada@example.com") is None
    with pytest.raises(NotFoundError):
        h.update_contact("nobody@example.com", attributes={"FIRSTNAME": "X"})
    with pytest.raises(ValueError):
        h.get_contact("x", identifier_type="email")


def test_a_refused_sms_is_dropped_the_contact_written_and_the_phone_reported(brevo):
    sandbox = brevo()
    h = hook()
    h.create_contact(email="first@example.com", attributes={"SMS": "+33612345678"})
    taken = h.create_contact(email="second@example.com", attributes={"SMS": "+33612345678", "FIRSTNAME": "B"})
    assert taken.created and taken.dropped_sms == "+33612345678" and "SMS" in taken.sms_problem
    invalid = h.update_contact("first@example.com", attributes={"SMS": "12", "LASTNAME": "L"})
    assert invalid.dropped_sms == "12" and invalid.sms_problem == "Invalid phone number"
    contacts = dump(sandbox)
    assert contacts["second@example.com"]["attributes"]["FIRSTNAME"] == "B"
    assert contacts["second@example.com"]["sms"] is None
    assert contacts["first@example.com"]["attributes"]["LASTNAME"] == "L"
    with pytest.raises(BadRequestError) as info:  # an invalid email is not an SMS problem
        h.create_contact(email="broken@", attributes={"SMS": "+33600000001"})
    assert info.value.vendor_message == "Invalid email"


def test_reverse_direction_pages_contacts_modified_since(brevo):
    sandbox = brevo()
    sandbox.admin("POST", "/brevo/contacts", {"contacts": [{"email": f"r{i}@example.com"} for i in range(25)]})
    h = hook()
    pages = list(h.iter_contacts(limit=10))
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [c["email"] for p in pages for c in p] == [f"r{i}@example.com" for i in range(25)]
    assert list(h.iter_contacts(modified_since="2999-01-01T00:00:00.000Z")) == [[]]


# -------------------------------------------------------------------------------- attributes
def test_attributes_are_created_with_the_category_their_type_needs(brevo):
    brevo()
    h = hook()
    assert h.create_attribute("PD_REVENUE", "float") is True
    assert h.create_attribute("PD_REVENUE", "float") is False  # exists already
    assert h.create_attribute("TIER", "category", options=["Gold", "Silver"]) is True
    assert h.create_attribute("INTERESTS", "multiple-choice", options=["A", "B"]) is True
    assert h.create_attribute("ORDER_REF", "id") is True
    found = {a["name"]: a for a in h.get_attributes()}
    assert found["PD_REVENUE"]["category"] == "normal" and found["PD_REVENUE"]["type"] == "float"
    assert found["TIER"]["category"] == "category"
    assert [e["label"] for e in found["TIER"]["enumeration"]] == ["Gold", "Silver"]
    assert found["INTERESTS"]["multiCategoryOptions"] == ["A", "B"]
    assert found["ORDER_REF"]["category"] == "transactional"
    with pytest.raises(ValueError):
        h.create_attribute("X", "number")


# ------------------------------------------------------------------------------ lists & members
def test_lists_and_folders(brevo):
    sandbox = brevo()
    h = hook()
    folder = h.create_folder("Pipedrive")
    sandbox.admin("POST", "/brevo/lists", {"lists": [{"id": i, "name": f"Seeded {i}"} for i in range(1, 54)]})
    created = [h.create_list(f"Stage {i}", folder) for i in range(2)]
    assert created == [54, 55]
    lists = h.get_lists()
    assert [cl["id"] for cl in lists] == list(range(1, 56)) and lists[-1]["folderId"] == folder
    assert {f["name"] for f in h.get_folders()} == {"Your first folder", "Pipedrive"}
    assert usage(sandbox)["endpoints"]["GET /v3/contacts/lists"]["calls"] == 2  # 50 + 5


def test_membership_in_chunks_of_150_with_already_in_list_answers(brevo):
    sandbox = brevo()
    sandbox.admin("POST", "/brevo/lists", {"lists": [{"id": 7, "name": "All"}, {"id": 8, "name": "Won"}]})
    hook().import_contacts([row(i) for i in range(320)], list_ids=[7])
    h = hook()
    added = h.add_to_list(8, ext_ids=[str(i) for i in range(320)] + ["no-such-contact"])
    assert sorted(added.changed, key=int) == [str(i) for i in range(320)] and added.unchanged == ["no-such-contact"]
    assert usage(sandbox)["endpoints"]["POST /v3/contacts/lists/{listId}/contacts/add"]["calls"] == 3
    again = h.add_to_list(8, emails=["c1@example.com", "c2@example.com"])  # Brevo's 400: nothing changed
    assert again.changed == [] and again.unchanged == ["c1@example.com", "c2@example.com"]
    removed = h.remove_from_list(8, ext_ids=["1", "2"])
    assert removed.changed == ["1", "2"]
    assert h.remove_from_list(8, ext_ids=["1"]).unchanged == ["1"]
    members = [c["email"] for page in h.iter_list_contacts(8, limit=200) for c in page]
    assert len(members) == 318 and "c1@example.com" not in members
    with pytest.raises(ValueError):
        h.add_to_list(8, emails=["a@x.com"], ids=[1])


def test_membership_is_retried_through_5xx_and_truncated_answers(brevo):
    sandbox = brevo()
    sandbox.admin("POST", "/brevo/lists", {"lists": [{"id": 7, "name": "All"}, {"id": 8, "name": "Won"}]})
    hook().import_contacts([row(i) for i in range(10)], list_ids=[7])
    sandbox.faults(error_rate=0.5, truncate_rate=0.5, seed=1)
    h = hook(retry=RetryPolicy(max_attempts=12, backoff_base_s=0.001, backoff_max_s=0.01))
    result = h.add_to_list(8, ids=list(range(1, 11)))
    members = sandbox.admin("GET", "/brevo/lists")["lists"]
    assert next(m for m in members if m["id"] == 8)["contactIds"] == list(range(1, 11))
    assert sorted(result.changed + result.unchanged) == list(range(1, 11)) and h.stats["retries"] > 0


# ----------------------------------------------------------------------------------- events
def event(i: int, **extra) -> dict:
    return {"event_name": "deal_won", "identifiers": {"ext_id": str(i)}, "event_properties": {"deal_id": i}, **extra}


def test_events_go_in_batches_of_200_and_a_207_names_exactly_the_failed_ones(brevo):
    sandbox = brevo()
    events = [event(i) for i in range(450)]
    events[3]["event_name"] = "bad name!"
    events[260]["identifiers"] = {}
    result = hook().send_events(events)
    assert result.calls == 3 and usage(sandbox)["endpoints"]["POST /v3/events/batch"]["calls"] == 3
    assert [(r.index, r.event["event_name"]) for r in result.rejected] == [(3, "bad name!"), (260, "deal_won")]
    assert result.accepted == [i for i in range(450) if i not in (3, 260)]
    assert not result.uncertain and not result.unsent and result.error is None
    assert sandbox.admin("GET", "/brevo/events")["count"] == 448


def test_a_batch_where_every_event_fails_is_rejected_whole(brevo):
    brevo()
    result = hook().send_events([event(1, event_name="?"), event(2, event_name="!")])
    assert [r.index for r in result.rejected] == [0, 1] and not result.accepted


def test_events_batches_stay_under_512_kb(brevo):
    sandbox = brevo()
    big = [event(i, event_properties={"note": "x" * 40_000}) for i in range(30)]
    per_call = (512_000 - len(b'{"events":[]}') + 1) // (len(encode_json(big[0])) + 1)
    result = hook().send_events(big)
    assert result.ok and result.calls == -(-30 // per_call) == 3
    assert sandbox.admin("GET", "/brevo/events")["count"] == 30


def test_an_events_batch_is_never_resent_after_a_5xx(brevo):
    sandbox = brevo()
    sandbox.faults(error_rate=1.0)
    result = hook().send_events([event(i) for i in range(250)])
    assert result.uncertain == list(range(200)) and result.unsent == list(range(200, 250))
    assert result.error is not None and result.error.may_have_been_applied and not result.ok
    assert sandbox.counters()["faults:5xx"] == 1  # one attempt, no retry


def test_an_events_batch_is_resent_after_a_429_because_it_was_not_taken(brevo):
    sandbox = brevo()
    sandbox.faults(storm_429=1)
    h = hook()
    result = h.send_events([event(i) for i in range(5)])
    assert result.ok and result.accepted == list(range(5)) and h.stats["http_429"] == 1
    assert sandbox.admin("GET", "/brevo/events")["count"] == 5


# -------------------------------------------------------------------------------- companies
def test_companies_create_link_unlink_import_and_list(brevo):
    sandbox = brevo()
    sandbox.admin("POST", "/brevo/contacts", {"contacts": [{"email": f"k{i}@example.com"} for i in range(4)]})
    h = hook()
    attribute_id = h.create_company_attribute("Pipedrive org id", "number")
    assert attribute_id
    company = h.create_company("Acme", attributes={"pipedrive_org_id": 1}, linked_contact_ids=[1])
    h.link_company(company, link_contact_ids=[2, 3], unlink_contact_ids=[1])
    assert h.get_company(company)["linkedContactsIds"] == [2, 3]
    process = h.import_companies([{"name": "Beta", "pipedrive_org_id": 2, "associated_contact": [4]},
                                  {"name": "Gamma", "pipedrive_org_id": 3},
                                  {"company_id": company, "name": "Acme Inc"}])
    assert process["status"] == "completed"
    companies = {c["attributes"]["name"]: c for page in h.iter_companies(limit=2) for c in page}
    assert set(companies) == {"Acme Inc", "Beta", "Gamma"}
    assert companies["Beta"]["linkedContactsIds"] == [4]
    assert str(companies["Gamma"]["attributes"]["pipedrive_org_id"]) == "3"  # CSV cells are text
    assert "pipedrive_org_id" in {a["internalName"] for a in h.get_company_attributes()}
    assert h.get_company("0" * 24) is None


# ------------------------------------------------------------------------- pacing, secrets
def test_pacing_per_bucket_without_a_429(brevo):
    sandbox = brevo(rate_limits={"contacts": (Window(5, 0.5),), "events": (Window(5, 0.5),),
                                 "other": (Window(100, 60),)})
    h = hook(rate_window_s=0.5)
    started = time.monotonic()
    for i in range(12):
        h.create_contact(email=f"p{i}@example.com")
    elapsed = time.monotonic() - started
    assert usage(sandbox)["total"]["429"] == 0 and h.stats["http_429"] == 0
    assert 1.0 <= elapsed < 2.0  # 12 calls at 5 per 0.5 s: two full windows must pass


def test_the_api_key_never_appears_in_logs_or_errors(brevo, caplog, capsys):
    caplog.set_level("DEBUG")
    sandbox = brevo()
    h = hook(retry=RetryPolicy(max_attempts=2, backoff_base_s=0.001))
    texts = []
    sandbox.faults(error_rate=1.0)
    for call in (lambda: h.get_attributes(), lambda: h.create_contact(email="a@example.com")):
        with pytest.raises(Exception) as info:
            call()
        texts.append(str(info.value))
    texts.append(str(h.send_events([event(1)]).error))
    sandbox.faults(reset=True)
    with pytest.raises(NotFoundError) as info:
        h.update_contact("ghost@example.com", attributes={"FIRSTNAME": "G"})
    texts.append(str(info.value))
    captured = capsys.readouterr()
    everything = "\n".join(texts) + caplog.text + captured.out + captured.err
    assert BREVO_KEY not in everything and "retry" in everything


def test_a_truncated_202_still_means_accepted_but_a_truncated_207_leaves_the_batch_uncertain(brevo):
    sandbox = brevo()
    sandbox.faults(truncate_rate=1.0)
    h = hook()
    accepted = h.send_events([event(1), event(2)])
    assert accepted.ok and accepted.accepted == [0, 1]
    partial = h.send_events([event(3), event(4, event_name="bad name!"), event(5)])
    assert partial.uncertain == [0, 1, 2] and not partial.accepted and not partial.rejected
    assert partial.error is not None and "unknown" in str(partial.error)
    assert sandbox.admin("GET", "/brevo/events")["count"] == 4  # nothing was sent twice
