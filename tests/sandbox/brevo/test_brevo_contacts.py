"""Single-contact endpoints of the Brevo sandbox: upserts, Brevo's error codes, silent dropping."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest


def create(brevo: Any, **body: Any) -> Any:
    return brevo.api("POST", "/contacts", json=body)


def test_create_answers_201_with_the_id_and_stores_typed_attributes(brevo: Any) -> None:
    brevo.seed_list(5)
    response = create(brevo, email="Ann@Example.com", ext_id="pd-1", listIds=[5],
                      attributes={"firstname": "Ann", "SMS": "0033612345678", "OPT_IN": True})
    assert response.status_code == 201
    assert response.json() == {"id": 1}
    assert response.headers["sib-request-id"]
    got = brevo.api("GET", "/contacts/ann@example.com").json()
    assert got["id"] == 1
    assert got["email"] == "ann@example.com"
    assert got["listIds"] == [5]
    assert got["attributes"] == {"FIRSTNAME": "Ann", "OPT_IN": True, "SMS": "+33612345678", "EXT_ID": "pd-1"}
    assert got["statistics"] == {}


def test_unknown_and_wrong_typed_attributes_are_dropped_without_an_error(brevo: Any) -> None:
    brevo.api("POST", "/contacts/attributes/normal/BIRTHDAY", json={"type": "date"})
    brevo.api("POST", "/contacts/attributes/normal/LTV", json={"type": "float"})
    response = create(brevo, email="a@x.io", attributes={
        "FIRSTNAME": "Ann", "NOT_AN_ATTRIBUTE": "x", "BIRTHDAY": "24/11/1990", "LTV": "1200", "OPT_IN": "yes"})
    assert response.status_code == 201
    assert brevo.contact("a@x.io")["attributes"] == {"FIRSTNAME": "Ann"}
    brevo.api("PUT", "/contacts/a@x.io", json={"attributes": {"birthday": "1990-11-24", "ltv": 1200.5}})
    assert brevo.contact("a@x.io")["attributes"] == {"FIRSTNAME": "Ann", "BIRTHDAY": "1990-11-24", "LTV": 1200.5}


def test_upsert_updates_with_204_and_without_update_enabled_answers_duplicate(brevo: Any) -> None:
    assert create(brevo, email="a@x.io", attributes={"FIRSTNAME": "Ann"}).status_code == 201
    duplicate = create(brevo, email="a@x.io", attributes={"FIRSTNAME": "Bea"})
    assert duplicate.status_code == 400
    assert duplicate.json() == {"code": "duplicate_parameter",
                                "message": "Unable to create contact, email is already associated with another Contact",
                                "metadata": {"duplicate_identifiers": ["email"]}}
    upsert = create(brevo, email="a@x.io", updateEnabled=True, attributes={"FIRSTNAME": "Bea"})
    assert upsert.status_code == 204
    assert upsert.content == b""
    assert brevo.contact("a@x.io")["attributes"]["FIRSTNAME"] == "Bea"
    assert len(brevo.contacts()) == 1


def test_a_write_is_keyed_on_its_email_so_a_new_email_with_a_known_ext_id_is_a_duplicate(brevo: Any) -> None:
    create(brevo, email="old@x.io", ext_id="7")
    response = create(brevo, email="new@x.io", ext_id="7", updateEnabled=True)
    assert response.status_code == 400
    assert response.json()["metadata"] == {"duplicate_identifiers": ["ext_id"]}
    # the email changes with an update addressed by ext_id
    changed = brevo.api("PUT", "/contacts/7", params={"identifierType": "ext_id"},
                        json={"attributes": {"EMAIL": "new@x.io"}})
    assert changed.status_code == 204
    [contact] = brevo.contacts()
    assert (contact["email"], contact["ext_id"]) == ("new@x.io", "7")
    assert brevo.api("GET", "/contacts/old@x.io").status_code == 404


def test_a_write_without_email_is_keyed_on_ext_id_then_sms(brevo: Any) -> None:
    create(brevo, email="a@x.io", ext_id="7", attributes={"SMS": "+33612345678"})
    assert create(brevo, ext_id="7", updateEnabled=True, attributes={"LASTNAME": "Lee"}).status_code == 204
    assert create(brevo, updateEnabled=True, attributes={"SMS": "+33612345678", "FIRSTNAME": "Ann"}).status_code == 204
    [contact] = brevo.contacts()
    assert contact["attributes"] == {"LASTNAME": "Lee", "FIRSTNAME": "Ann", "SMS": "+33612345678", "EXT_ID": "7"}


@pytest.mark.parametrize(("body", "message"), [
    ({"email": "not-an-email"}, "Invalid email"),
    ({"email": "a@x.io", "attributes": {"SMS": "0612345678"}}, "Invalid phone number"),
    ({"email": "a@x.io", "attributes": {"SMS": "+33 6 12 34 56 78"}}, "Invalid phone number"),
])
def test_invalid_email_or_phone_is_invalid_parameter(brevo: Any, body: dict[str, Any], message: str) -> None:
    response = create(brevo, **body)
    assert response.status_code == 400
    assert response.json() == {"code": "invalid_parameter", "message": message}
    assert brevo.contacts() == []


def test_one_sms_belongs_to_one_contact(brevo: Any) -> None:
    create(brevo, email="a@x.io", attributes={"SMS": "+33612345678"})
    # the same number written another way is the same number
    clash = create(brevo, email="b@x.io", attributes={"SMS": "33612345678"})
    assert clash.status_code == 400
    assert clash.json()["code"] == "duplicate_parameter"
    assert clash.json()["metadata"] == {"duplicate_identifiers": ["SMS"]}
    create(brevo, email="b@x.io")
    update = brevo.api("PUT", "/contacts/b@x.io", json={"attributes": {"SMS": "+33612345678"}})
    assert update.status_code == 400
    assert update.json()["message"] == "Unable to update contact, SMS is already associated with another Contact"
    assert brevo.contact("b@x.io")["sms"] is None


def test_upsert_whose_ext_id_belongs_to_another_contact_is_refused(brevo: Any) -> None:
    create(brevo, email="a@x.io", ext_id="1")
    create(brevo, email="b@x.io", ext_id="2")
    response = create(brevo, email="a@x.io", ext_id="2", updateEnabled=True)
    assert response.status_code == 400
    assert response.json()["metadata"] == {"duplicate_identifiers": ["ext_id"]}
    assert brevo.contact("a@x.io")["ext_id"] == "1"


def test_a_contact_needs_an_identifier(brevo: Any) -> None:
    response = create(brevo, attributes={"FIRSTNAME": "Nobody"})
    assert response.status_code == 400
    assert response.json()["code"] == "missing_parameter"
    assert create(brevo, ext_id="only-ext").status_code == 201
    assert create(brevo, attributes={"SMS": "+4915112345678"}).status_code == 201


@pytest.mark.parametrize(("identifier", "kind"), [
    ("1", None), ("a@x.io", None), ("A@X.IO", "email_id"), ("1", "contact_id"), ("pd-9", "ext_id"),
    ("+33612345678", "phone_id"), ("0033612345678", "phone_id"), ("+33612345678", None),
])
def test_identifier_types(brevo: Any, identifier: str, kind: str | None) -> None:
    create(brevo, email="a@x.io", ext_id="pd-9", attributes={"SMS": "+33612345678"})
    params = {"identifierType": kind} if kind else {}
    response = brevo.api("GET", f"/contacts/{identifier}", params=params)
    assert response.status_code == 200
    assert response.json()["id"] == 1


def test_unknown_contact_and_bad_identifier_type(brevo: Any) -> None:
    missing = brevo.api("GET", "/contacts/nobody@x.io")
    assert missing.status_code == 404
    assert missing.json() == {"code": "document_not_found", "message": "Contact does not exist"}
    assert brevo.api("GET", "/contacts/pd-9").status_code == 404  # an ext_id needs its identifierType
    assert brevo.api("PUT", "/contacts/77", json={}).status_code == 404
    assert brevo.api("DELETE", "/contacts/77").status_code == 404
    bad = brevo.api("GET", "/contacts/1", params={"identifierType": "uuid"})
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_parameter"


def test_update_lists_blacklist_and_new_email_lifts_the_blocklisting(brevo: Any) -> None:
    brevo.seed_list(1)
    brevo.seed_list(2)
    create(brevo, email="a@x.io", ext_id="9", listIds=[1], emailBlacklisted=True)
    response = brevo.api("PUT", "/contacts/9", params={"identifierType": "ext_id"},
                         json={"listIds": [2], "unlinkListIds": [1], "smsBlacklisted": True,
                               "attributes": {"EMAIL": "b@x.io", "LASTNAME": "Lee"}})
    assert response.status_code == 204
    contact = brevo.contact("b@x.io")
    assert contact["listIds"] == [2]
    assert contact["emailBlacklisted"] is False
    assert contact["smsBlacklisted"] is True
    assert contact["attributes"]["LASTNAME"] == "Lee"
    assert brevo.admin("GET", "/brevo/lists").json()["lists"][0]["contactIds"] == []


def test_blank_value_clears_an_attribute_on_update(brevo: Any) -> None:
    create(brevo, email="a@x.io", attributes={"FIRSTNAME": "Ann", "LASTNAME": "Lee"})
    brevo.api("PUT", "/contacts/a@x.io", json={"attributes": {"FIRSTNAME": "", "LASTNAME": None}})
    assert brevo.contact("a@x.io")["attributes"] == {}


def test_unknown_list_is_refused(brevo: Any) -> None:
    response = create(brevo, email="a@x.io", listIds=[99])
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameter"
    wrong_type = create(brevo, email="a@x.io", listIds="1")
    assert wrong_type.json() == {"code": "invalid_parameter", "message": "listIds should be type array"}


def test_delete(brevo: Any) -> None:
    create(brevo, email="a@x.io", attributes={"SMS": "+33612345678"})
    assert brevo.api("DELETE", "/contacts/a@x.io").status_code == 204
    assert brevo.contacts() == []
    # its identifiers are free again
    assert create(brevo, email="b@x.io", attributes={"SMS": "+33612345678"}).status_code == 201


def test_get_contacts_pages_sorts_and_filters(brevo: Any) -> None:
    brevo.seed_list(3)
    for i in range(1, 6):
        create(brevo, email=f"c{i}@x.io", listIds=[3] if i % 2 else [],
               attributes={"FIRSTNAME": "Odd" if i % 2 else "Even"})
    default = brevo.api("GET", "/contacts").json()
    assert default["count"] == 5
    assert [c["id"] for c in default["contacts"]] == [5, 4, 3, 2, 1]  # newest first
    page = brevo.api("GET", "/contacts", params={"sort": "asc", "limit": 2, "offset": 2}).json()
    assert [c["id"] for c in page["contacts"]] == [3, 4]
    assert page["count"] == 5
    in_list = brevo.api("GET", "/contacts", params={"listIds": "3", "sort": "asc"}).json()
    assert [c["id"] for c in in_list["contacts"]] == [1, 3, 5]
    by_ids = brevo.api("GET", "/contacts", params=[("ids", "2"), ("ids", "4"), ("ids", "99")]).json()
    assert sorted(c["id"] for c in by_ids["contacts"]) == [2, 4]
    filtered = brevo.api("GET", "/contacts", params={"filter": 'equals(FIRSTNAME,"Even")'}).json()
    assert [c["id"] for c in filtered["contacts"]] == [4, 2]


def test_get_contacts_modified_since_is_strictly_after(brevo: Any) -> None:
    create(brevo, email="a@x.io")
    create(brevo, email="b@x.io")
    first = brevo.contact("a@x.io")["modifiedAt"]
    time.sleep(0.01)  # timestamps are in milliseconds: make the update strictly later
    brevo.api("PUT", "/contacts/b@x.io", json={"attributes": {"FIRSTNAME": "Bea"}})
    since = brevo.api("GET", "/contacts", params={"modifiedSince": first}).json()
    emails = [c["email"] for c in since["contacts"]]
    assert "a@x.io" not in emails
    assert "b@x.io" in emails


@pytest.mark.parametrize(("params", "code"), [
    ({"limit": "1001"}, "out_of_range"),
    ({"limit": "0"}, "out_of_range"),
    ({"ids": ",".join(str(i) for i in range(21))}, "invalid_parameter"),
    ({"sort": "sideways"}, "invalid_parameter"),
    ({"modifiedSince": "last tuesday"}, "invalid_parameter"),
    ({"filter": "contains(FIRSTNAME,'a')"}, "invalid_parameter"),
])
def test_get_contacts_parameter_errors(brevo: Any, params: dict[str, str], code: str) -> None:
    response = brevo.api("GET", "/contacts", params=params)
    assert response.status_code == 400
    assert response.json()["code"] == code


def test_concurrent_creates_sharing_an_sms_leave_one_holder(brevo: Any) -> None:
    """The server is threaded: identifier checks and writes must be atomic."""
    def attempt(i: int) -> int:
        return create(brevo, email=f"p{i}@x.io", attributes={"SMS": "+33612345678"}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(attempt, range(16)))
    assert sorted(statuses) == [201] + [400] * 15
    assert [c["sms"] for c in brevo.contacts()] == ["+33612345678"]
