"""``POST /contacts/import`` end to end: the process states, what is imported, the CSV reports."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import pytest
import requests

from sandbox.brevo import BrevoConfig


def start_import(brevo: Any, **body: Any) -> int:
    response = brevo.api("POST", "/contacts/import", json=body)
    assert response.status_code == 202, response.text
    return response.json()["processId"]


def report(url: str | None) -> list[dict[str, str]]:
    assert url is not None
    response = requests.get(url, timeout=10)  # no api-key: a download link
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text), delimiter=";"))


def test_process_goes_queued_then_in_process_then_completed(start_brevo: Any) -> None:
    brevo = start_brevo(BrevoConfig(import_delay_s=0.4, limits_enabled=False))
    brevo.seed_list(2)
    process_id = start_import(brevo, listIds=[2], jsonBody=[{"email": "a@x.io"}])
    seen = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        body = brevo.api("GET", f"/processes/{process_id}").json()
        if not seen or seen[-1] != body["status"]:
            seen.append(body["status"])
        if body["status"] == "completed":
            break
        time.sleep(0.03)
    assert seen == ["queued", "in_process", "completed"]
    assert body["name"] == "IMPORTUSER"
    assert body["info"]["import"] == dict.fromkeys((
        "invalid_emails", "duplicate_contact_id", "duplicate_ext_id", "duplicate_email_id", "duplicate_phone_id",
        "duplicate_whatsapp_id", "duplicate_landline_number_id"))
    assert brevo.contact("a@x.io")["listIds"] == [2]


def test_rejected_rows_are_reported_and_the_rest_imported(brevo: Any) -> None:
    brevo.seed_list(2)
    brevo.api("POST", "/contacts", json={"email": "holder@x.io", "ext_id": "900",
                                         "attributes": {"SMS": "+33699999999"}})
    rows = [
        {"email": "ok@x.io", "attributes": {"FIRSTNAME": "Ok", "EXT_ID": "1", "SMS": "+33611111111"}},
        {"email": "broken@", "attributes": {"FIRSTNAME": "Broken"}},
        {"email": "OK@x.io", "attributes": {"FIRSTNAME": "Again"}},  # same email, other case
        {"email": "dup-ext@x.io", "attributes": {"EXT_ID": "1"}},
        {"email": "dup-sms@x.io", "attributes": {"SMS": "0033611111111"}},
        {"email": "taken-sms@x.io", "attributes": {"SMS": "+33699999999"}},
        {"email": "taken-ext@x.io", "attributes": {"EXT_ID": "900"}},
        {"attributes": {"FIRSTNAME": "No identifier"}},
        {"email": "bad-phone@x.io", "attributes": {"SMS": "12", "LASTNAME": "Kept"}},
    ]
    process = brevo.wait_process(start_import(brevo, listIds=[2], jsonBody=rows))
    assert process["status"] == "completed"
    info = process["info"]["import"]
    assert [r["EMAIL"] for r in report(info["invalid_emails"])] == ["broken@", ""]
    assert [r["EMAIL"] for r in report(info["duplicate_email_id"])] == ["OK@x.io"]
    assert [r["EMAIL"] for r in report(info["duplicate_ext_id"])] == ["dup-ext@x.io", "taken-ext@x.io"]
    assert [r["EMAIL"] for r in report(info["duplicate_phone_id"])] == ["dup-sms@x.io", "taken-sms@x.io"]
    assert info["duplicate_contact_id"] is None
    assert report(info["invalid_emails"])[0]["FIRSTNAME"] == "Broken"
    imported = {c["email"]: c for c in brevo.contacts()}
    assert sorted(imported) == ["bad-phone@x.io", "holder@x.io", "ok@x.io"]
    assert imported["ok@x.io"]["attributes"] == {"FIRSTNAME": "Ok", "SMS": "+33611111111", "EXT_ID": "1"}
    assert imported["bad-phone@x.io"]["sms"] is None  # an invalid number is dropped, the row kept
    assert imported["bad-phone@x.io"]["attributes"] == {"LASTNAME": "Kept"}
    assert imported["holder@x.io"]["listIds"] == []


def test_rows_are_keyed_on_email_else_ext_id_else_sms(brevo: Any) -> None:
    brevo.seed_list(4)
    brevo.api("POST", "/contacts", json={"email": "by-email@x.io", "ext_id": "1"})
    brevo.api("POST", "/contacts", json={"email": "by-ext@x.io", "ext_id": "2"})
    brevo.api("POST", "/contacts", json={"ext_id": "3", "attributes": {"SMS": "+33633333333"}})
    rows = [
        {"email": "by-email@x.io", "attributes": {"LASTNAME": "A", "EXT_ID": "1"}},
        {"attributes": {"EXT_ID": "2", "LASTNAME": "B"}},
        {"attributes": {"SMS": "+33633333333", "LASTNAME": "C"}},
        {"email": "new@x.io", "attributes": {"EXT_ID": "2"}},  # a new email is not an email change
    ]
    process = brevo.wait_process(start_import(brevo, listIds=[4], jsonBody=rows))
    assert [r["EMAIL"] for r in report(process["info"]["import"]["duplicate_ext_id"])] == ["new@x.io"]
    contacts = {c["id"]: c for c in brevo.contacts()}
    assert len(contacts) == 3
    assert (contacts[1]["email"], contacts[1]["attributes"]["LASTNAME"]) == ("by-email@x.io", "A")
    assert (contacts[2]["email"], contacts[2]["attributes"]["LASTNAME"]) == ("by-ext@x.io", "B")
    assert (contacts[3]["ext_id"], contacts[3]["attributes"]["LASTNAME"]) == ("3", "C")
    assert all(c["listIds"] == [4] for c in contacts.values())


def test_csv_file_body_with_semicolons(brevo: Any) -> None:
    brevo.seed_list(2)
    brevo.api("POST", "/contacts/attributes/normal/LTV", json={"type": "float"})
    brevo.api("POST", "/contacts/attributes/normal/SEEN", json={"type": "date"})
    file_body = ("EMAIL;FIRSTNAME;LTV;OPT_IN;SEEN;EXT_ID\n"
                 "a@x.io;Ann;12.5;true;2026-01-31;10\n"
                 "b@x.io;Bob;lots;maybe;31/01/2026;11\n"
                 "\n")
    process = brevo.wait_process(start_import(brevo, listIds=[2], fileBody=file_body))
    assert process["status"] == "completed"
    a, b = brevo.contact("a@x.io"), brevo.contact("b@x.io")
    assert a["attributes"] == {"FIRSTNAME": "Ann", "LTV": 12.5, "OPT_IN": True, "SEEN": "2026-01-31", "EXT_ID": "10"}
    assert b["attributes"] == {"FIRSTNAME": "Bob", "EXT_ID": "11"}


def test_update_existing_and_empty_attribute_options(brevo: Any) -> None:
    brevo.seed_list(2)
    brevo.api("POST", "/contacts", json={"email": "a@x.io", "attributes": {"FIRSTNAME": "Ann", "LASTNAME": "Lee"}})
    rows = [{"email": "a@x.io", "attributes": {"FIRSTNAME": "Changed", "LASTNAME": ""}}]
    brevo.wait_process(start_import(brevo, listIds=[2], jsonBody=rows, updateExistingContacts=False))
    kept = brevo.contact("a@x.io")
    assert kept["attributes"] == {"FIRSTNAME": "Ann", "LASTNAME": "Lee"}
    assert kept["listIds"] == [2]  # still added to the list
    brevo.wait_process(start_import(brevo, listIds=[2], jsonBody=rows))
    assert brevo.contact("a@x.io")["attributes"] == {"FIRSTNAME": "Changed", "LASTNAME": "Lee"}
    brevo.wait_process(start_import(brevo, listIds=[2], jsonBody=rows, emptyContactsAttributes=True))
    assert brevo.contact("a@x.io")["attributes"] == {"FIRSTNAME": "Changed"}


def test_new_list_is_created_for_the_import(brevo: Any) -> None:
    process_id = start_import(brevo, newList={"listName": "Imported", "folderId": 1},
                              jsonBody=[{"email": "a@x.io"}])
    brevo.wait_process(process_id)
    [created] = brevo.admin("GET", "/brevo/lists").json()["lists"]
    assert created["name"] == "Imported"
    assert brevo.contact("a@x.io")["listIds"] == [created["id"]]


@pytest.mark.parametrize(("body", "code"), [
    ({"jsonBody": [{"email": "a@x.io"}]}, "missing_parameter"),  # no listIds, no newList
    ({"listIds": [2]}, "missing_parameter"),
    ({"listIds": [99], "jsonBody": [{"email": "a@x.io"}]}, "invalid_parameter"),
    ({"listIds": [2], "jsonBody": {"email": "a@x.io"}}, "invalid_parameter"),
    ({"listIds": [2], "jsonBody": [{"email": "a@x.io"}], "updateExistingContacts": "yes"}, "invalid_parameter"),
    ({"listIds": [2], "fileUrl": "https://example.com/contacts.csv"}, "invalid_parameter"),
])
def test_import_request_errors(brevo: Any, body: dict[str, Any], code: str) -> None:
    brevo.seed_list(2)
    response = brevo.api("POST", "/contacts/import", json=body)
    assert response.status_code == 400
    assert response.json()["code"] == code


def test_body_over_ten_megabytes_is_refused(start_brevo: Any) -> None:
    brevo = start_brevo(BrevoConfig(import_delay_s=0, limits_enabled=False, max_import_bytes=2000))
    brevo.seed_list(2)
    rows = [{"email": f"person{i}@example.com"} for i in range(100)]  # about 3 KB
    response = brevo.api("POST", "/contacts/import", json={"listIds": [2], "jsonBody": rows})
    assert response.status_code == 400
    assert "10MB" in response.json()["message"]
    small = brevo.api("POST", "/contacts/import", json={"listIds": [2], "jsonBody": rows[:10]})
    assert small.status_code == 202


def test_fail_imports_fault_fails_the_next_process_only(brevo: Any) -> None:
    brevo.seed_list(2)
    brevo.admin("POST", "/faults", json={"fail_imports": 1})
    failed = brevo.wait_process(start_import(brevo, listIds=[2], jsonBody=[{"email": "a@x.io"}]))
    assert failed["status"] == "failed"
    assert "info" not in failed
    assert brevo.contacts() == []
    ok = brevo.wait_process(start_import(brevo, listIds=[2], jsonBody=[{"email": "a@x.io"}]))
    assert ok["status"] == "completed"


def test_processes_list(brevo: Any) -> None:
    brevo.seed_list(2)
    for _ in range(3):
        brevo.wait_process(start_import(brevo, listIds=[2], jsonBody=[{"email": "a@x.io"}]))
    body = brevo.api("GET", "/processes", params={"limit": 2}).json()
    assert body["count"] == 3
    assert [p["id"] for p in body["processes"]] == [3, 2]
    assert brevo.api("GET", "/processes/42").status_code == 404
    assert brevo.api("GET", "/processes", params={"limit": 51}).status_code == 400


@pytest.mark.slow
def test_import_of_100k_contacts_takes_seconds(brevo: Any) -> None:
    """The product loads contacts in ~8 MB chunks; the sandbox must keep up with it."""
    brevo.seed_list(2)
    rows = [{"email": f"person{i}@example.com",
             "attributes": {"FIRSTNAME": f"F{i}", "EXT_ID": str(i), "SMS": f"+336{10_000_000 + i:08d}"}}
            for i in range(100_000)]
    started = time.monotonic()
    ids = [start_import(brevo, listIds=[2], jsonBody=rows[k:k + 50_000]) for k in (0, 50_000)]
    statuses = [brevo.wait_process(i, timeout=60)["status"] for i in ids]
    elapsed = time.monotonic() - started
    assert statuses == ["completed", "completed"]
    assert brevo.api("GET", "/contacts", params={"limit": 1}).json()["count"] == 100_000
    assert elapsed < 20, f"100k contacts took {elapsed:.1f} s"
