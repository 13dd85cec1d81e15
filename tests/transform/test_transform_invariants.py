"""Properties of the contact build over random persons and deals (hypothesis): every person ends in
exactly one of sent, merged, rejected (or deleted), with the matching reject; emails and SMS numbers
are unique; metrics and lists equal a plain row-by-row computation of the same rules. And a smoke
run over a generated account, as the sync will see it."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipedrive_brevo.config import load_mapping, resolve_custom_fields
from pipedrive_brevo.transform.contacts import build_contacts
from pipedrive_brevo.transform.fields import attribute_specs
from pipedrive_brevo.transform.plan import apply_plan, diff
from tests.transform.builders import build, deal, person

EMAIL_POOL = ["a@x.example", " A@X.example ", "b@x.example", "bad email", "", "c@x.example", "d@x.example"]
PHONE_POOL = ["+49 30 1234567", "030 1234567", "n/a", "+33 1 42 68 53 00", "+44 20 7946 0958"]
TIMES = ["2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"]
RATES = {"EUR": 1.0, "USD": 0.92, "GBP": 1.17}


@st.composite
def accounts(draw) -> tuple[list[dict], list[dict], list[dict]]:
    n = draw(st.integers(min_value=0, max_value=12))
    persons = []
    for pid in range(1, n + 1):
        emails = draw(st.lists(st.sampled_from(EMAIL_POOL), max_size=3))
        primary = draw(st.integers(min_value=-1, max_value=len(emails) - 1)) if emails else -1
        persons.append(person(
            pid, emails=[{"value": e, "primary": i == primary} for i, e in enumerate(emails)],
            phones=[{"value": p, "primary": True} for p in draw(st.lists(st.sampled_from(PHONE_POOL), max_size=1))],
            updated=draw(st.sampled_from(TIMES)), is_deleted=draw(st.integers(0, 4)) == 0))
    deals = [deal(i, draw(st.integers(min_value=1, max_value=max(n, 1))), draw(st.sampled_from(["open", "won", "lost"])),
                  draw(st.sampled_from([0, 10, 99.5])), draw(st.sampled_from(["EUR", "USD", "GBP", "JPY"])),
                  stage_id=draw(st.sampled_from([1, 2, 3, 4])), is_deleted=draw(st.booleans()))
             for i in range(draw(st.integers(min_value=0, max_value=10)))]
    leads = [{"id": f"l{i}", "person_id": draw(st.integers(min_value=1, max_value=max(n, 1))),
              "is_archived": draw(st.booleans())} for i in range(draw(st.integers(min_value=0, max_value=3)))]
    return persons, deals, leads


def reference(persons: list[dict], deals: list[dict], leads: list[dict]) -> dict[str, dict]:
    """The contract's rules for metrics and lists, one record at a time (the test oracle)."""
    def primary(items: list[dict]) -> str | None:
        values = [i for i in items if str(i["value"]).strip()]
        chosen = next((i for i in values if i["primary"]), values[0] if values else None)
        return None if chosen is None else chosen["value"].strip().lower()
    valid = {"a@x.example", "b@x.example", "c@x.example", "d@x.example"}
    group: dict[int, str] = {}
    for p in persons:
        email = primary(p["emails"])
        if not p["is_deleted"] and email in valid:
            group[p["id"]] = email
    stage_list = {1: 61, 2: 61, 3: 62}
    out: dict[str, dict] = {email: {"won": 0, "lost": 0, "open": 0, "ltv": 0.0, "lists": {60}} for email in
                            group.values()}
    for d in deals:
        email = group.get(d["person_id"])
        if email is None or d["is_deleted"]:
            continue
        out[email][d["status"]] += 1
        if d["status"] == "won" and d["currency"] in RATES:
            out[email]["ltv"] += d["value"] * RATES[d["currency"]]
        if d["status"] == "open" and d["stage_id"] in stage_list:
            out[email]["lists"].add(stage_list[d["stage_id"]])
        if d["status"] in ("won", "lost"):
            out[email]["lists"].add(63 if d["status"] == "won" else 64)
    for lead in leads:
        email = group.get(lead["person_id"])
        if email is not None and not lead["is_archived"]:
            out[email]["lists"].add(65)
    return out


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(account=accounts())
def test_every_person_ends_in_exactly_one_outcome_and_the_rules_match_a_row_by_row_reading(account):
    persons, deals, leads = account
    result = build(persons, deals=deals, leads=leads)
    outcome = dict(zip(result.persons["person_id"].astype(int), result.persons["outcome"], strict=True))
    assert sorted(outcome) == [p["id"] for p in persons]
    contacts = result.contacts
    assert contacts["email"].is_unique and contacts["ext_id"].is_unique
    assert contacts["SMS"].dropna().is_unique
    assert sorted(contacts["ext_id"].astype(int)) == sorted(p for p, o in outcome.items() if o == "sent")
    reasons = result.rejects[result.rejects["entity"] == "person"]
    record_level = reasons[reasons["reason"].isin(["no_email", "invalid_email", "duplicate_email"])]
    assert record_level["id"].is_unique
    by_id = dict(zip(record_level["id"].astype(int), record_level["reason"], strict=True))
    for pid, what in outcome.items():
        expected = {"sent": None, "deleted": None, "merged": "duplicate_email"}.get(what, by_id.get(pid))
        assert by_id.get(pid) == expected
        if what == "rejected":
            assert expected in ("no_email", "invalid_email")
    expected = reference(persons, deals, leads)
    assert set(contacts["email"]) == set(expected)
    for r in contacts.to_dict("records"):
        want = expected[r["email"]]
        assert (r["WON_DEALS"], r["LOST_DEALS"], r["OPEN_DEALS"], r["CLOSED_DEALS"]) == (
            want["won"], want["lost"], want["open"], want["won"] + want["lost"])
        assert r["LTV"] == pytest.approx(want["ltv"], abs=0.005 + 1e-9)  # rounded to cents
        assert r["list_ids"] == tuple(sorted(want["lists"]))


NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


RICH_MAPPING = """\
connectors:
  pipedrive:
    lists: {all_contacts: 60}
person_mapping:
  email: email
  name: FULLNAME
  first_name: FIRSTNAME
  phone: SMS
  org_id.name: COMPANY
  org_id.industry: ORG_INDUSTRY
  org_id.address.locality: ORG_CITY
  owner_id.email: OWNER
  label_ids: LABELS
  add_time: CREATED
  won_deals_count: WON
  lost_deals_count: LOST
  open_deals_count: OPEN
  closed_deals_count: CLOSED
  total_revenue: LTV
  custom_fields.lead_source: LEAD_SOURCE
  custom_fields.interests: INTERESTS
  custom_fields.birthday: BIRTHDAY
  custom_fields.score: SCORE
  custom_fields.annual_budget: BUDGET
  custom_fields.newsletter_opt_in: NEWSLETTER
deal_stage_mapping: {1: 61, 2: 61, 6: 62, won: 63, lost: 64}
options:
  default_phone_region: DE
  currency: {base: EUR, rates: {USD: 0.92, GBP: 1.17, CHF: 1.05}}
  leads_list: 65
"""


def test_the_vectorised_build_equals_the_row_by_row_reading_on_a_generated_account(tmp_path):
    from sandbox.generator import generate_account
    from tests.transform.reference import as_rows, build_rows
    account = generate_account(800, seed=9, now=NOW)
    path = tmp_path / "mapping.yaml"
    path.write_text(RICH_MAPPING)
    mapping = load_mapping(path)
    specs = attribute_specs(resolve_custom_fields(mapping, account.person_fields), {"NEWSLETTER": "boolean"},
                            person_fields=account.person_fields, organization_fields=account.organization_fields)
    frames = {name: pd.DataFrame(getattr(account, name)) for name in ("persons", "deals", "leads", "organizations",
                                                                       "users")}
    result = build_contacts(mapping, specs, frames["persons"], deals=frames["deals"], leads=frames["leads"],
                            organizations=frames["organizations"], users=frames["users"])
    expected = build_rows(mapping, specs, account.persons, deals=account.deals, leads=account.leads,
                          organizations=account.organizations, users=account.users)
    got = as_rows(result.contacts)
    assert len(got) == len(expected) > 600
    for mine, theirs in zip(got, expected, strict=True):
        assert mine == theirs


def test_a_generated_account_builds_plans_and_settles():
    from sandbox.generator import generate_account
    account = generate_account(600, seed=4, now=NOW)
    mapping = load_mapping()
    specs = attribute_specs(resolve_custom_fields(mapping, account.person_fields), None,
                            person_fields=account.person_fields, organization_fields=account.organization_fields)
    frames = {name: pd.DataFrame(getattr(account, name)) for name in ("persons", "deals", "leads", "organizations",
                                                                       "users")}
    result = build_contacts(mapping, specs, frames["persons"], deals=frames["deals"], leads=frames["leads"],
                            organizations=frames["organizations"], users=frames["users"])
    counts = result.counts()
    assert counts["sent"] + counts["merged"] + counts["rejected"] + counts["deleted"] == 600
    assert counts["contacts"] == counts["sent"] > 450
    assert counts["merged"] > 0 and counts["rejected"] > 0      # the generator plants both
    assert result.contacts["email"].is_unique and result.contacts["SMS"].dropna().is_unique
    assert result.contacts["SMS"].dropna().str.fullmatch(r"\+[1-9]\d{6,14}").all()
    plan = diff(result.contacts, None)
    assert diff(result.contacts, apply_plan(None, plan)).is_empty()
