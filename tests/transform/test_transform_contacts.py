"""Persons to contacts (CONTRACT §4, person_mapping): identity, merging persons that share an email,
attributes from the winner, metrics and lists over all of them, the SMS rule, and what became of
every person."""

from __future__ import annotations

import pandas as pd

from pipedrive_brevo.transform.contacts import build_contacts
from tests.transform.builders import (
    BASE_MAPPING,
    build,
    deal,
    mapping,
    person,
    rejects_of,
    row,
    specs,
)


def outcomes(result) -> dict[int, tuple]:
    frame = result.persons
    return {int(p): (o, None if pd.isna(e) else e, None if pd.isna(x) else x)
            for p, o, e, x in zip(frame["person_id"], frame["outcome"], frame["email"], frame["ext_id"], strict=True)}


def test_a_non_ascii_local_part_is_rejected_but_non_ascii_names_are_sent():
    p = person(1, "  Łukasz.Żółć@Przykład.Example ", first_name="Łukasz", last_name="Żółć")
    q = person(2, "Kim@Hanguk.Example", first_name="김", last_name="민준")
    result = build([p, q])
    assert result.contacts["email"].tolist() == ["kim@hanguk.example"]
    assert [(r["id"], r["value"]) for r in rejects_of(result, "invalid_email")] == [
        ("1", "  Łukasz.Żółć@Przykład.Example ")]
    contact = row(result, "kim@hanguk.example")
    assert (contact["FIRSTNAME"], contact["LASTNAME"]) == ("김", "민준")


def test_non_ascii_names_with_an_ascii_address_are_sent_as_they_are():
    p = person(1, "  Lukasz.Zolc@Example.COM ", first_name="Łukasz", last_name="Żółć")
    contact = row(build([p]), "lukasz.zolc@example.com")
    assert (contact["ext_id"], contact["FIRSTNAME"], contact["LASTNAME"]) == ("1", "Łukasz", "Żółć")


def test_the_primary_email_is_the_identity_even_when_not_first():
    p = person(5, emails=[{"value": "old@x.example", "primary": False, "label": "home"},
                          {"value": "Main@X.example", "primary": True, "label": "work"}])
    assert build([p]).contacts["email"].tolist() == ["main@x.example"]


def test_three_persons_sharing_an_email_are_one_contact():
    persons = [
        person(10, " Sam@Shared.example", updated="2026-01-01T00:00:00Z", first_name="Old"),
        person(11, "sam@shared.example", updated="2026-03-01T00:00:00Z", first_name="New"),
        person(12, "SAM@shared.example ", updated="2026-03-01T00:00:00Z", first_name="Tie"),
    ]
    deals = [deal(1, 10, "won", 100, "EUR"), deal(2, 12, "won", 50, "USD"), deal(3, 11, "open", stage_id=1),
             deal(4, 12, "lost", 70, "EUR", stage_id=3)]
    leads = [{"id": "l-1", "person_id": 10, "is_archived": False}]
    result = build(persons, deals=deals, leads=leads)
    contact = row(result, "sam@shared.example")
    # attributes from the most recently updated person; 11 and 12 tie on time, so the lowest id wins
    assert (contact["ext_id"], contact["FIRSTNAME"]) == ("11", "New")
    # metrics and lists over all three: 100 EUR + 50 USD * 0.92 = 146
    assert (contact["WON_DEALS"], contact["LOST_DEALS"], contact["OPEN_DEALS"], contact["CLOSED_DEALS"],
            contact["LTV"]) == (2, 1, 1, 3, 146.0)
    assert contact["list_ids"] == (60, 61, 63, 64, 65)
    duplicates = rejects_of(result, "duplicate_email")
    assert [(r["id"], r["value"], r["detail"]) for r in duplicates] == [
        ("10", "sam@shared.example", "11"), ("12", "sam@shared.example", "11")]
    assert outcomes(result) == {10: ("merged", "sam@shared.example", "11"),
                                11: ("sent", "sam@shared.example", "11"),
                                12: ("merged", "sam@shared.example", "11")}


def test_persons_without_a_usable_email_are_rejected_and_their_deals_count_for_no_one():
    persons = [person(1, None), person(2, "not an email"), person(3, "ok@x.example")]
    result = build(persons, deals=[deal(1, 1, "won", 10), deal(2, 2, "won", 20), deal(3, 3, "won", 5)])
    assert result.contacts["email"].tolist() == ["ok@x.example"]
    assert row(result, "ok@x.example")["LTV"] == 5.0
    assert [(r["id"], r["field"], r["value"]) for r in rejects_of(result, "no_email")] == [("1", "email", "")]
    assert [(r["id"], r["value"]) for r in rejects_of(result, "invalid_email")] == [("2", "not an email")]
    assert outcomes(result) == {1: ("rejected", None, None), 2: ("rejected", None, None),
                                3: ("sent", "ok@x.example", "3")}


def test_deleted_persons_are_not_contacts_and_not_rejects():
    result = build([person(1, "gone@x.example", is_deleted=True), person(2, "v1gone@x.example", active_flag=False),
                    person(3, "here@x.example")])
    assert result.contacts["email"].tolist() == ["here@x.example"]
    assert result.rejects.empty
    assert result.counts() == {"sent": 1, "merged": 0, "rejected": 0, "deleted": 2, "contacts": 1}


def test_a_deleted_duplicate_does_not_take_the_contact():
    persons = [person(1, "a@x.example", updated="2026-01-01T00:00:00Z"),
               person(2, "a@x.example", updated="2026-05-01T00:00:00Z", is_deleted=True)]
    result = build(persons)
    assert row(result, "a@x.example")["ext_id"] == "1"
    assert rejects_of(result, "duplicate_email") == []


def test_phones_local_with_extension_invalid_and_shared():
    persons = [
        person(1, "a@x.example", phone="030 1234567", updated="2026-01-01T00:00:00Z"),       # local, DE
        person(2, "b@x.example", phone="+49 30 1234567", updated="2026-02-01T00:00:00Z"),     # same number
        person(3, "c@x.example", phone="+49 171 8338948 x32"),                                # extension
        person(4, "d@x.example", phone="n/a"),                                                # unreadable
        person(5, "e@x.example", phones=[{"value": "+44 20 7946 0958", "primary": False},
                                         {"value": "+33 1 42 68 53 00", "primary": True}]),
    ]
    result = build(persons)
    sms = dict(zip(result.contacts["email"], result.contacts["SMS"], strict=True))
    assert sms["a@x.example"] is pd.NA                     # shared: the later-updated person 2 keeps it
    assert sms["b@x.example"] == "+49301234567"
    assert sms["c@x.example"] == "+491718338948"
    assert sms["d@x.example"] is pd.NA                     # left out, the contact still syncs
    assert sms["e@x.example"] == "+33142685300"
    assert [(r["id"], r["value"], r["detail"]) for r in rejects_of(result, "shared_phone")] == [
        ("1", "+49301234567", "2")]
    assert [(r["id"], r["field"], r["value"]) for r in rejects_of(result, "invalid_phone")] == [("4", "phone", "n/a")]


def test_paths_through_the_organization_the_owner_and_the_address():
    text = BASE_MAPPING.replace("  org_id.name: COMPANY\n", """  org_id.name: COMPANY
  org_id.industry: ORG_INDUSTRY
  org_id.address.locality: ORG_CITY
  owner_id.email: OWNER_EMAIL
  postal_address.locality: CITY
""")
    organizations = [
        {"id": 5, "name": "Müller GmbH", "industry": 13, "address": {"value": "Hauptstr. 1, Köln", "locality": "Köln"}},
        {"id": 6, "name": "Gone Ltd", "is_deleted": True},
    ]
    users = [{"id": 1, "name": "Alex", "email": "alex@acme.example"}]
    persons = [person(1, "a@x.example", org_id=5, owner_id=1, postal_address={"locality": "Bonn"}),
               person(2, "b@x.example", org_id=6), person(3, "c@x.example", org_id={"value": 5, "name": "Müller GmbH"})]
    result = build(persons, text=text, organizations=organizations, users=users)
    a, b, c = (row(result, e) for e in ("a@x.example", "b@x.example", "c@x.example"))
    assert (a["COMPANY"], a["ORG_INDUSTRY"], a["ORG_CITY"], a["OWNER_EMAIL"], a["CITY"]) == (
        "Müller GmbH", "Automotive", "Köln", "alex@acme.example", "Bonn")
    assert b["COMPANY"] is None                            # its organization was deleted
    assert c["COMPANY"] == "Müller GmbH"                   # a v1 nested org_id is read for its value


def test_missing_optional_columns_are_tolerated_and_counts_are_sent_as_zero():
    persons = pd.DataFrame({"id": [1], "emails": [[{"value": "a@x.example", "primary": True}]]})
    result = build_contacts(mapping(), specs(), persons)
    contact = row(result, "a@x.example")
    assert (contact["FIRSTNAME"], contact["SMS"], contact["COMPANY"]) == (None, None, None)
    assert (contact["WON_DEALS"], contact["CLOSED_DEALS"], contact["LTV"]) == (0, 0, 0)
    assert contact["list_ids"] == (60,)


def test_an_empty_person_frame_gives_an_empty_state_with_every_column():
    result = build_contacts(mapping(), specs(), pd.DataFrame())
    assert list(result.contacts.columns) == ["email", "ext_id", "FIRSTNAME", "LASTNAME", "SMS", "COMPANY",
                                             "WON_DEALS", "LOST_DEALS", "OPEN_DEALS", "CLOSED_DEALS", "LTV",
                                             "LEAD_SOURCE", "list_ids"]
    assert len(result.contacts) == 0 and len(result.persons) == 0


def test_columns_are_typed_by_brevo_type():
    dtypes = build([person(1, "a@x.example")]).contacts.dtypes.astype(str).to_dict()
    assert dtypes == {"email": "string", "ext_id": "string", "FIRSTNAME": "string", "LASTNAME": "string",
                      "SMS": "string", "COMPANY": "string", "WON_DEALS": "Float64", "LOST_DEALS": "Float64",
                      "OPEN_DEALS": "Float64", "CLOSED_DEALS": "Float64", "LTV": "Float64",
                      "LEAD_SOURCE": "string", "list_ids": "object"}


def test_without_create_missing_attributes_a_lacking_attribute_is_rejected_once_not_dropped_silently():
    text = BASE_MAPPING.replace("  leads_list: 65\n", "  leads_list: 65\n  create_missing_attributes: false\n")
    existing = {"FIRSTNAME": "text", "LASTNAME": "text", "SMS": "text", "COMPANY": "text", "WON_DEALS": "float",
                "LOST_DEALS": "float", "OPEN_DEALS": "float", "CLOSED_DEALS": "float", "LTV": "float"}
    result = build([person(1, "a@x.example"), person(2, "b@x.example")], text=text, brevo_attributes=existing)
    assert "LEAD_SOURCE" not in result.contacts.columns
    assert [(r["entity"], r["id"], r["value"]) for r in rejects_of(result, "missing_attribute")] == [
        ("attribute", "LEAD_SOURCE", "custom_fields.lead_source")]


def test_the_same_person_twice_in_the_input_counts_once_with_its_latest_version():
    persons = [person(1, "old@x.example", updated="2026-01-01T00:00:00Z"),
               person(1, "new@x.example", updated="2026-02-01T00:00:00Z")]
    result = build(persons)
    assert result.contacts["email"].tolist() == ["new@x.example"]
    assert result.counts()["sent"] == 1
