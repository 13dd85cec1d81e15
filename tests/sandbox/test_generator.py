"""The seeded Pipedrive account generator: determinism, realism, referential integrity, spec shapes.

One 1,000-person account (fixed seed and ``now``) is generated per module and inspected from every
side; the expectations are what the product must cope with, counted by hand from the ratios the
generator documents.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import unicodedata
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email

from sandbox.generator import (
    CURRENCIES,
    Account,
    entity_counts,
    field_code,
    generate_account,
    main,
)
from tests.support.openapi import PIPEDRIVE_V1, PIPEDRIVE_V2, OpenAPISpec

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)
NOW_S = "2026-11-24T12:00:00Z"
TWO_YEARS_AGO = (NOW - timedelta(days=730)).strftime("%Y-%m-%dT%H:%M:%SZ")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
V1_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
HEX40 = re.compile(r"^[0-9a-f]{40}$")


@pytest.fixture(scope="module")
def account() -> Account:
    return generate_account(1000, seed=7, now=NOW)


def by_id(records: list[dict]) -> dict:
    return {r["id"]: r for r in records}


def custom_code(fields: list[dict], name: str) -> str:
    return next(f["field_code"] for f in fields if f["field_name"] == name and f["is_custom_field"])


def options(fields: list[dict], name: str) -> set[int]:
    field = next(f for f in fields if f["field_name"] == name and f["is_custom_field"])
    return {o["id"] for o in field["options"]}


def is_valid_email(value: str) -> bool:
    """Valid once trimmed, for a sender that cannot use SMTPUTF8 (Brevo's case)."""
    try:
        validate_email(value.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        return False
    return True


def primary_email(person: dict) -> str | None:
    emails = person["emails"]
    if not emails:
        return None
    return next((e for e in emails if e["primary"]), emails[0])["value"]


# --------------------------------------------------------------------- determinism
def test_same_seed_and_now_give_the_same_account(account: Account) -> None:
    assert generate_account(1000, seed=7, now=NOW) == account


def test_another_seed_gives_another_account_with_other_field_keys(account: Account) -> None:
    other = generate_account(1000, seed=8, now=NOW)
    assert other.persons != account.persons
    assert custom_code(other.person_fields, "Lead source") != custom_code(account.person_fields, "Lead source")
    assert custom_code(account.person_fields, "Lead source") == field_code(7, "person", "Lead source")


def test_a_naive_now_is_read_as_utc() -> None:
    naive = generate_account(30, seed=1, now=NOW.replace(tzinfo=None))
    assert naive == generate_account(30, seed=1, now=NOW)


def test_default_now_is_the_current_time() -> None:
    account = generate_account(20, seed=1)
    latest = max(p["update_time"] for p in account.persons)
    assert latest <= datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert latest >= (datetime.now(UTC) - timedelta(days=731)).strftime("%Y-%m-%dT%H:%M:%SZ")


# -------------------------------------------------------------------------- sizes
def test_entity_counts_follow_the_documented_ratios(account: Account) -> None:
    assert entity_counts(1000) == {"persons": 1000, "organizations": 250, "deals": 800, "activities": 1500,
                                   "leads": 100}
    assert [len(account.persons), len(account.organizations), len(account.deals), len(account.activities),
            len(account.leads)] == [1000, 250, 800, 1500, 100]
    assert 3 <= len(account.users) <= 5
    assert entity_counts(3) == {"persons": 3, "organizations": 1, "deals": 2, "activities": 4, "leads": 1}


def test_an_empty_account_still_has_its_configuration() -> None:
    empty = generate_account(0, seed=1, now=NOW)
    assert (empty.persons, empty.organizations, empty.deals, empty.activities, empty.leads) == ([],) * 5
    assert empty.pipelines and empty.stages and empty.person_fields and empty.users
    with pytest.raises(ValueError, match="persons"):
        generate_account(-1)


def test_tiny_accounts_are_consistent() -> None:
    for n in (1, 2, 5):
        tiny = generate_account(n, seed=3, now=NOW)
        check_references(tiny)


# ------------------------------------------------------------------------ ids and time
@pytest.mark.parametrize("entity", ["persons", "organizations", "deals", "activities"])
def test_ids_count_from_one_in_creation_order(account: Account, entity: str) -> None:
    records = getattr(account, entity)
    assert [r["id"] for r in records] == list(range(1, len(records) + 1))
    adds = [r["add_time"] for r in records]
    assert adds == sorted(adds)


@pytest.mark.parametrize("entity", ["persons", "organizations", "deals", "activities"])
def test_v2_timestamps_are_rfc3339_and_ordered(account: Account, entity: str) -> None:
    for r in getattr(account, entity):
        assert RFC3339.match(r["add_time"]) and RFC3339.match(r["update_time"]), r
        assert TWO_YEARS_AGO <= r["add_time"] <= r["update_time"] <= NOW_S, r


def test_lead_timestamps_have_milliseconds_and_are_ordered(account: Account) -> None:
    for lead in account.leads:
        assert ISO_MS.match(lead["add_time"]) and ISO_MS.match(lead["update_time"]), lead
        assert lead["add_time"] <= lead["update_time"] <= NOW_S + ".000"


def test_some_records_changed_lately_and_some_never(account: Account) -> None:
    week_ago = (NOW - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    recent = sum(p["update_time"] >= week_ago for p in account.persons)
    untouched = sum(p["update_time"] == p["add_time"] for p in account.persons)
    assert 100 <= recent <= 300  # 15 % recently, plus the uniform share that falls into the week
    assert 200 <= untouched <= 400  # 30 % never updated


def test_deal_times_are_consistent_with_the_status(account: Account) -> None:
    for d in account.deals:
        assert d["add_time"] <= d.get("stage_change_time", d["add_time"]) <= d["update_time"]
        if d["status"] == "won":
            assert d["won_time"] == d["close_time"] and "lost_time" not in d
            assert d["local_won_date"] == d["close_time"][:10] == d["local_close_date"]
        elif d["status"] == "lost":
            assert d["lost_time"] == d["close_time"] and "won_time" not in d
            assert d["local_lost_date"] == d["close_time"][:10]
        else:
            assert d["close_time"] is None and "won_time" not in d and "lost_time" not in d
            assert d["lost_reason"] is None
        if d["close_time"] is not None:
            assert d["add_time"] <= d["close_time"] <= d["update_time"]
        assert d["is_archived"] == (d["archive_time"] is not None)
        if d["is_archived"]:
            assert d["add_time"] <= d["archive_time"] <= d["update_time"]


def test_v1_objects_use_v1_time_formats(account: Account) -> None:
    for user in account.users:
        assert V1_TIME.match(user["created"]) and V1_TIME.match(user["last_login"])
    for activity_type in account.activity_types:
        assert V1_TIME.match(activity_type["add_time"]) and V1_TIME.match(activity_type["update_time"])
    for label in account.lead_labels:
        assert ISO_MS.match(label["add_time"]) and UUID.match(label["id"])


# ---------------------------------------------------------------------- references
def check_references(account: Account) -> None:
    persons, orgs, deals = by_id(account.persons), by_id(account.organizations), by_id(account.deals)
    leads = {lead["id"]: lead for lead in account.leads}
    stages = by_id(account.stages)
    pipelines = by_id(account.pipelines)
    users = by_id(account.users)
    type_keys = {t["key_string"] for t in account.activity_types}
    label_ids = {label["id"] for label in account.lead_labels}

    for p in account.persons:
        assert p["owner_id"] in users
        if "org_id" in p:
            assert orgs[p["org_id"]]["add_time"] <= p["add_time"]
    for d in account.deals:
        assert d["owner_id"] in users and d["creator_user_id"] in users
        assert "person_id" in d or "org_id" in d
        assert d["pipeline_id"] in pipelines
        assert stages[d["stage_id"]]["pipeline_id"] == d["pipeline_id"]
        if "person_id" in d:
            person = persons[d["person_id"]]
            assert person["add_time"] <= d["add_time"]
            if d.get("source_lead_id") is None:
                assert d.get("org_id") == person.get("org_id")
        if "org_id" in d:
            assert d["org_id"] in orgs
        if d.get("source_lead_id") is not None:
            lead = leads[d["source_lead_id"]]
            assert lead["is_archived"] and lead["add_time"][:19] <= d["add_time"][:19]
            assert d.get("person_id") == lead["person_id"]
    for a in account.activities:
        assert a["owner_id"] in users and a["type"] in type_keys
        if "deal_id" in a:
            deal = deals[a["deal_id"]]
            assert deal["add_time"] <= a["add_time"]
            assert a.get("person_id") == deal.get("person_id") and a.get("org_id") == deal.get("org_id")
        if "person_id" in a:
            assert a["person_id"] in persons
            assert a["participants"][0] == {"person_id": a["person_id"], "primary": True}
        if "org_id" in a:
            assert a["org_id"] in orgs
        if "lead_id" in a:
            assert a["lead_id"] in leads
        for participant in a["participants"]:
            assert participant["person_id"] in persons
    for lead in account.leads:
        assert lead["owner_id"] in users and lead["creator_id"] in users
        assert lead["person_id"] is not None or lead["organization_id"] is not None
        if lead["person_id"] is not None:
            assert lead["person_id"] in persons
        if lead["organization_id"] is not None:
            assert lead["organization_id"] in orgs
        assert set(lead["label_ids"]) <= label_ids


def test_every_reference_points_to_an_existing_older_record(account: Account) -> None:
    check_references(account)


def test_references_hold_at_ten_thousand_persons() -> None:
    check_references(generate_account(10_000, seed=2, now=NOW))


# -------------------------------------------------------------------------- names
def scripts(text: str) -> set[str]:
    out = set()
    for ch in text:
        if not ch.isalpha():
            continue
        name = unicodedata.name(ch, "")
        if name.startswith("LATIN") and " WITH " in name:
            out.add("latin-diacritics")
        elif name.startswith(("CJK UNIFIED", "HIRAGANA", "KATAKANA")):
            out.add("cjk")
        else:
            out.add(name.split()[0].lower())
    return out


def test_names_are_multilingual_and_split_into_first_and_last(account: Account) -> None:
    seen = set().union(*(scripts(p["name"]) for p in account.persons))
    assert {"latin", "latin-diacritics", "cyrillic", "greek", "cjk", "hangul", "arabic"} <= seen
    for p in account.persons:
        assert p["first_name"] in p["name"]
        if "last_name" in p:
            assert p["last_name"] in p["name"]
    assert sum("last_name" not in p for p in account.persons) >= 1  # a mononym
    assert any(p["name"] == p["last_name"] + p["first_name"] for p in account.persons if "last_name" in p)


# -------------------------------------------------------------------------- emails
def test_email_counts_labels_and_primaries_vary(account: Account) -> None:
    counts = Counter(min(len(p["emails"]), 2) for p in account.persons)
    assert counts[0] >= 30 and counts[1] >= 600 and counts[2] >= 150  # 6 % / 72 % / 22 %
    labels = {e["label"] for p in account.persons for e in p["emails"]}
    assert labels == {"work", "home", "other"}
    multi = [p for p in account.persons if len(p["emails"]) > 1]
    assert any(p["emails"][1]["primary"] for p in multi)  # the primary not first
    assert any(not any(e["primary"] for e in p["emails"]) for p in account.persons if p["emails"])
    for p in account.persons:
        assert sum(e["primary"] for e in p["emails"]) <= 1


def test_broken_and_messy_emails_are_present(account: Account) -> None:
    values = [primary_email(p) for p in account.persons if p["emails"]]
    assert any("@" not in v for v in values)
    assert any(" " in v.strip() for v in values)
    assert any(v.endswith(".") for v in values)
    assert any(not v.isascii() for v in values)
    assert any(v != v.strip() for v in values)  # padded
    assert any(v.strip() != v.strip().lower() and "@" in v for v in values)  # mixed case
    broken = sum(not is_valid_email(v) for v in values)
    assert 15 <= broken <= 45  # 3 % of the ~940 persons with an email
    assert all(is_valid_email(v) for v in values if v != v.strip() or v != v.lower())  # messy, yet valid
    domains = {v.strip().lower().rstrip(".").rpartition("@")[2] for v in values if "@" in v}
    assert all(d.endswith(".example") for d in domains if "." in d)  # no real mailbox is ever named


def test_some_emails_are_shared_by_two_or_three_persons(account: Account) -> None:
    groups: dict[str, list[dict]] = defaultdict(list)
    for p in account.persons:
        value = primary_email(p)
        if value:
            groups[value.strip().lower()].append(p)
    shared = {email: members for email, members in groups.items() if len(members) > 1}
    # 1.5 % of 1,000 persons carry an address another person has: 15 followers in groups of 2-3.
    assert sum(len(members) - 1 for members in shared.values()) == 15
    assert 8 <= len(shared) <= 15
    assert all(len(members) <= 3 for members in shared.values())
    assert any(len({primary_email(p) for p in members}) > 1 for members in shared.values())  # case/padding
    assert any(len({p["name"] for p in members}) == 1 for members in shared.values())  # one human twice


# -------------------------------------------------------------------------- phones
def test_phones_come_in_every_format(account: Account) -> None:
    values = [ph["value"] for p in account.persons for ph in p["phones"]]
    assert any(v.startswith("+49 30 ") for v in values)
    assert any(re.match(r"^0\d", v) for v in values)  # national, no country code
    assert any(re.match(r"^\(\d{3}\) \d{3}-\d{4}$", v) for v in values)
    assert any("ext." in v for v in values)
    assert any(v.lower() == "n/a" or not any(ch.isdigit() for ch in v) for v in values)
    counts = Counter(min(len(p["phones"]), 2) for p in account.persons)
    assert counts[0] >= 100 and counts[1] >= 500 and counts[2] >= 150
    assert {ph["label"] for p in account.persons for ph in p["phones"]} == {"work", "mobile", "home", "other"}


def test_international_phones_are_valid_numbers(account: Account) -> None:
    plain = [ph["value"] for p in account.persons for ph in p["phones"]
             if ph["value"].startswith("+") and len(ph["value"]) > 5 and not re.search(r"[a-zA-Z#]", ph["value"])]
    valid = sum(phonenumbers.is_valid_number(phonenumbers.parse(v)) for v in plain)
    assert len(plain) >= 400 and valid / len(plain) >= 0.97


def test_a_phone_is_shared_by_two_persons(account: Account) -> None:
    owners: dict[str, set[int]] = defaultdict(set)
    for p in account.persons:
        for ph in p["phones"]:
            if any(ch.isdigit() for ch in ph["value"]) and len(ph["value"]) > 5:
                owners[ph["value"]].add(p["id"])
    assert sum(len(ids) > 1 for ids in owners.values()) >= 5


# --------------------------------------------------------------------- organizations
def test_organizations_have_addresses_industries_and_sizes(account: Account) -> None:
    orgs = account.organizations
    industry_options = {o["id"] for f in account.organization_fields if f["field_code"] == "industry"
                        for o in f["options"]}
    full = [o for o in orgs if "address" in o and "locality" in o["address"]]
    assert len(full) >= 170 and all(o["address"]["value"] and o["address"]["country"] for o in full)
    assert any("address" in o and set(o["address"]) == {"value"} for o in orgs)
    assert any("address" not in o for o in orgs)
    assert {o["industry"] for o in orgs} - {None} <= industry_options
    assert sum(o["industry"] is not None for o in orgs) >= 150
    assert sum(isinstance(o["employee_count"], int) for o in orgs) >= 100
    assert sum(isinstance(o["website"], str) for o in orgs) >= 140
    linked = sum("org_id" in p for p in account.persons)
    assert 700 <= linked <= 800  # 75 %


def test_some_records_are_deleted(account: Account) -> None:
    assert 8 <= sum(p["is_deleted"] for p in account.persons) <= 40
    assert 1 <= sum(o["is_deleted"] for o in account.organizations) <= 15
    assert 15 <= sum(a["is_deleted"] for a in account.activities) <= 50
    assert 10 <= sum(d["is_deleted"] for d in account.deals) <= 45


# ------------------------------------------------------------------------ pipelines
def test_pipelines_have_four_to_six_stages_with_probabilities(account: Account) -> None:
    assert [p["name"] for p in account.pipelines] == ["Sales", "Partnerships", "Renewals"]
    for pipeline in account.pipelines:
        stages = [s for s in account.stages if s["pipeline_id"] == pipeline["id"]]
        assert 4 <= len(stages) <= 6
        assert [s["order_nr"] for s in stages] == list(range(1, len(stages) + 1))
        probabilities = [s["deal_probability"] for s in stages]
        assert probabilities == sorted(probabilities) and all(0 < p <= 100 for p in probabilities)


# ---------------------------------------------------------------------------- deals
def test_deals_cover_statuses_currencies_and_lifecycles(account: Account) -> None:
    deals = account.deals
    status = Counter(d["status"] for d in deals)
    assert 350 <= status["open"] <= 450 and 200 <= status["won"] <= 280 and 120 <= status["lost"] <= 200
    assert {d["currency"] for d in deals} == set(CURRENCIES) == {"EUR", "USD", "GBP", "JPY", "KRW", "CHF", "ZAR"}
    assert 15 <= sum(d["is_archived"] for d in deals) <= 55
    assert sum(d["probability"] is None for d in deals) >= 650
    converted = [d["source_lead_id"] for d in deals if d.get("source_lead_id") is not None]
    assert 12 <= len(converted) <= 40 and len(set(converted)) == len(converted)  # ~3 %, one deal per lead
    assert {"ManuallyCreated", "API"} <= {d["origin"] for d in deals}
    assert any(d["channel"] is not None and d["channel_id"] for d in deals)
    assert any("person_id" not in d for d in deals) and any("org_id" not in d for d in deals)
    stage_of = by_id(account.stages)
    last_order = Counter()
    for s in account.stages:
        last_order[s["pipeline_id"]] = max(last_order[s["pipeline_id"]], s["order_nr"])
    for d in deals:
        if d["status"] == "won":
            assert stage_of[d["stage_id"]]["order_nr"] == last_order[d["pipeline_id"]]
    assert all(isinstance(d["value"], int) for d in deals if d["currency"] in ("JPY", "KRW"))
    assert any(isinstance(d["value"], float) for d in deals)


# -------------------------------------------------------------------- custom fields
def test_person_custom_fields_have_every_type_and_valid_values(account: Account) -> None:
    fields = account.person_fields
    expected = {"Lead source": "enum", "Industry": "varchar", "Company size": "enum", "Interests": "set",
                "Birthday": "date", "Score": "double", "Newsletter opt-in": "enum", "Annual budget": "monetary"}
    custom = {f["field_name"]: f for f in fields if f["is_custom_field"]}
    assert {name: f["field_type"] for name, f in custom.items()} == expected
    assert all(HEX40.match(f["field_code"]) for f in custom.values())
    assert {"name", "email", "phone", "org_id", "owner_id"} <= {f["field_code"] for f in fields
                                                                if not f["is_custom_field"]}
    codes = {f["field_code"] for f in custom.values()}
    enum = {name: (custom_code(fields, name), options(fields, name))
            for name in ("Lead source", "Company size", "Newsletter opt-in")}
    interests_code, interests = custom_code(fields, "Interests"), options(fields, "Interests")
    several = 0
    for p in account.persons:
        values = p["custom_fields"]
        assert set(values) == codes
        for code, allowed in enum.values():
            assert values[code] is None or values[code] in allowed
        chosen = values[interests_code]
        if chosen is not None:
            assert chosen and set(chosen) <= interests and chosen == sorted(set(chosen))
            several += len(chosen) > 1
        birthday = values[custom_code(fields, "Birthday")]
        assert birthday is None or DAY.match(birthday)
        score = values[custom_code(fields, "Score")]
        assert score is None or isinstance(score, float)
        budget = values[custom_code(fields, "Annual budget")]
        assert budget is None or (set(budget) == {"value", "currency"} and budget["value"] > 0)
    assert several >= 200
    annual_budget = next(f for f in fields if f["field_name"] == "Annual budget")
    assert [s["field_code"] for s in annual_budget["subfields"]] == ["value", "currency"]


def test_deal_and_organization_custom_fields(account: Account) -> None:
    deal_custom = {f["field_name"]: f["field_type"] for f in account.deal_fields if f["is_custom_field"]}
    assert deal_custom == {"Lead source": "enum", "Campaign": "varchar"}
    org_custom = {f["field_name"]: f["field_type"] for f in account.organization_fields if f["is_custom_field"]}
    assert org_custom == {"Segment": "enum"}
    source = custom_code(account.deal_fields, "Lead source")
    assert source != custom_code(account.person_fields, "Lead source")  # a key per entity
    allowed = options(account.deal_fields, "Lead source")
    assert {d["custom_fields"][source] for d in account.deals} - {None} <= allowed
    campaign = custom_code(account.deal_fields, "Campaign")
    assert any(isinstance(d["custom_fields"][campaign], str) for d in account.deals)
    segment = custom_code(account.organization_fields, "Segment")
    assert {o["custom_fields"][segment] for o in account.organizations} - {None} \
        <= options(account.organization_fields, "Segment")


def test_option_ids_are_unique_across_the_account(account: Account) -> None:
    ids = [o["id"] for fields in (account.person_fields, account.deal_fields, account.organization_fields)
           for f in fields if f["options"] for o in f["options"] if isinstance(o["id"], int)]
    assert len(ids) == len(set(ids))


# ---------------------------------------------------------------------- activities
def test_activities_have_every_type_done_or_not(account: Account) -> None:
    activities = account.activities
    assert {"call", "meeting", "task", "email", "deadline", "lunch"} <= {a["type"] for a in activities}
    assert 900 <= sum("deal_id" in a for a in activities) <= 1200  # 70 %
    assert any("deal_id" not in a and "person_id" in a for a in activities)
    assert any("lead_id" in a for a in activities)
    done = sum(a["done"] for a in activities)
    assert 600 <= done <= 1300
    for a in activities:
        assert DAY.match(a["due_date"])
        assert a["done"] == ("marked_as_done_time" in a)
        if a["done"]:
            assert a["add_time"] <= a["marked_as_done_time"] <= a["update_time"]
    assert any(a["due_date"] > NOW_S[:10] for a in activities)  # some in the future


# --------------------------------------------------------------------------- leads
def test_leads_have_v1_shapes(account: Account) -> None:
    leads = account.leads
    label_ids = {label["id"] for label in account.lead_labels}
    assert all(UUID.match(lead["id"]) for lead in leads)
    assert len({lead["id"] for lead in leads}) == len(leads)
    assert any(lead["label_ids"] for lead in leads)
    assert all(set(lead["label_ids"]) <= label_ids for lead in leads)
    archived = sum(lead["is_archived"] for lead in leads)
    assert 15 <= archived <= 60 and archived < len(leads)
    assert all(lead["value"] is None or set(lead["value"]) == {"amount", "currency"} for lead in leads)
    assert any(lead["value"] is None for lead in leads) and any(lead["value"] for lead in leads)
    assert {"Manually created", "Web forms"} <= {lead["source_name"] for lead in leads}
    assert all(isinstance(lead["visible_to"], str) for lead in leads)


def test_users_and_activity_types(account: Account) -> None:
    assert sum(u["is_you"] for u in account.users) == 1
    assert any(not u["active_flag"] for u in account.users)
    keys = [t["key_string"] for t in account.activity_types]
    assert {"call", "meeting", "task", "deadline", "email", "lunch"} <= set(keys)
    assert any(t["is_custom_flag"] for t in account.activity_types)
    assert account.company_domain == "acme-sandbox"


# ----------------------------------------------------------------- spec validity
def page(data: list[dict]) -> dict:
    return {"success": True, "data": data, "additional_data": {"next_cursor": None}}


def v1_page(data: list[dict]) -> dict:
    return {"success": True, "data": data,
            "additional_data": {"start": 0, "limit": 500, "more_items_in_collection": False}}


def test_every_v2_record_validates_against_the_spec(account: Account) -> None:
    spec = OpenAPISpec.load(PIPEDRIVE_V2)
    spec.validate_response("GET", "/persons", 200, page(account.persons))
    spec.validate_response("GET", "/organizations", 200, page(account.organizations))
    spec.validate_response("GET", "/deals", 200, page([d for d in account.deals if not d["is_archived"]]))
    spec.validate_response("GET", "/deals/archived", 200, page([d for d in account.deals if d["is_archived"]]))
    spec.validate_response("GET", "/activities", 200, page(account.activities))
    spec.validate_response("GET", "/pipelines", 200, page(account.pipelines))
    spec.validate_response("GET", "/stages", 200, page(account.stages))
    spec.validate_response("GET", "/personFields", 200, page(account.person_fields))
    spec.validate_response("GET", "/dealFields", 200, page(account.deal_fields))
    spec.validate_response("GET", "/organizationFields", 200, page(account.organization_fields))
    spec.validate_response("GET", "/persons/{id}", 200, {"success": True, "data": account.persons[0]})


def test_every_v1_record_validates_against_the_spec(account: Account) -> None:
    spec = OpenAPISpec.load(PIPEDRIVE_V1)
    spec.validate_response("GET", "/leads", 200, v1_page([lead for lead in account.leads if not lead["is_archived"]]))
    spec.validate_response("GET", "/leads/archived", 200,
                           v1_page([lead for lead in account.leads if lead["is_archived"]]))
    spec.validate_response("GET", "/users", 200, {"success": True, "data": account.users})
    spec.validate_response("GET", "/activityTypes", 200, {"success": True, "data": account.activity_types})
    spec.validate_response("GET", "/leadLabels", 200, {"success": True, "data": account.lead_labels})


def test_the_spec_check_would_catch_a_null_where_the_spec_forbids_it(account: Account) -> None:
    """Why absent values are left out instead of set to null: the spec's non-nullable fields."""
    spec = OpenAPISpec.load(PIPEDRIVE_V2)
    person = dict(account.persons[0], org_id=None)
    with pytest.raises(AssertionError, match="org_id"):
        spec.validate_response("GET", "/persons", 200, page([person]))


# ------------------------------------------------------------------------------ CLI
def test_cli_writes_the_account_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "account.json"
    assert main(["--persons", "40", "--seed", "5", "--now", NOW_S, "--out", str(out)]) == 0
    written = json.loads(out.read_text(encoding="utf-8"))
    expected = generate_account(40, seed=5, now=NOW)
    assert written == json.loads(json.dumps(expected.__dict__))
    assert json.loads(capsys.readouterr().out)["persons"] == 40


def test_cli_runs_as_a_module_with_the_same_result_in_another_process(tmp_path: Path) -> None:
    """Another interpreter, another string-hash seed: still the same account."""
    out = tmp_path / "account.json"
    done = subprocess.run([sys.executable, "-m", "sandbox.generator", "--persons", "60", "--seed", "4",
                           "--now", NOW_S, "--out", str(out)], cwd=REPO, capture_output=True, text=True,
                          timeout=60, check=False, env={**os.environ, "PYTHONHASHSEED": "12345"})
    assert done.returncode == 0, done.stderr
    expected = generate_account(60, seed=4, now=NOW)
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(json.dumps(expected.__dict__))
