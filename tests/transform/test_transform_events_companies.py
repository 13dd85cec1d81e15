"""Events (activity_logged, deal_stage_changed, deal_won, deal_lost) by deterministic id, renamed by
the webhooks section, attached to contacts; organizations as Brevo companies with their contacts."""

from __future__ import annotations

import json

import pandas as pd

from pipedrive_brevo.config import WebhookRule
from pipedrive_brevo.transform.companies import build_companies, changed_companies, domains
from pipedrive_brevo.transform.events import activity_events, deal_events, event_names
from pipedrive_brevo.transform.plan import diff
from tests.transform.builders import ORGANIZATION_FIELDS, build, deal, person

LINKS = pd.DataFrame({"person_id": pd.array([1, 2, 3], dtype="Int64"),
                      "outcome": ["sent", "merged", "rejected"],
                      "email": pd.array(["ann@x.example", "ann@x.example", pd.NA], dtype="string"),
                      "ext_id": pd.array(["1", "1", pd.NA], dtype="string")})
STAGES = pd.DataFrame([{"id": 1, "name": "Qualified"}, {"id": 2, "name": "Proposal"}])
PIPELINES = pd.DataFrame([{"id": 1, "name": "Sales"}])


def activity(aid: int, person_id: int | None, **extra) -> dict:
    return {"id": aid, "subject": f"Call {aid}", "type": "call", "person_id": person_id, "deal_id": 7,
            "done": True, "due_date": "2026-02-01", "add_time": "2026-01-15T10:00:00Z", "is_deleted": False,
            **extra}


def test_each_activity_is_one_event_on_its_persons_contact():
    events, problems = activity_events(pd.DataFrame([activity(5, 2), activity(6, 3), activity(8, 1, is_deleted=True)]),
                                       LINKS)
    assert events[["event_id", "event_name", "email", "ext_id", "event_date"]].to_dict("records") == [
        {"event_id": "activity_logged:5", "event_name": "activity_logged", "email": "ann@x.example", "ext_id": "1",
         "event_date": "2026-01-15T10:00:00Z"}]
    assert json.loads(events["properties"][0]) == {"activity_id": 5, "deal_id": 7, "done": True,
                                                   "due_date": "2026-02-01", "subject": "Call 5", "type": "call"}
    # person 3 is not a contact: the event cannot be attached to anyone
    assert problems[["entity", "id", "reason", "value", "detail"]].to_dict("records") == [
        {"entity": "activity", "id": "6", "reason": "no_contact", "value": "3", "detail": "activity_logged:6"}]


def test_each_event_keeps_its_own_date_after_deleted_ones_are_dropped_and_in_chunks(monkeypatch):
    frame = pd.DataFrame([activity(1, 1, is_deleted=True, add_time="2026-01-01T00:00:00Z"),
                          activity(2, 1, add_time="2026-01-02T00:00:00Z"),
                          activity(3, 1, add_time="2026-01-03T00:00:00.250Z")])     # a v1-style time
    whole, _ = activity_events(frame, LINKS)
    monkeypatch.setattr("pipedrive_brevo.transform.events.ACTIVITY_CHUNK", 1)
    chunked, _ = activity_events(frame, LINKS)
    assert whole[["event_id", "event_date"]].to_dict("records") == [
        {"event_id": "activity_logged:2", "event_date": "2026-01-02T00:00:00Z"},
        {"event_id": "activity_logged:3", "event_date": "2026-01-03T00:00:00Z"}]
    pd.testing.assert_frame_equal(chunked, whole)


def test_activities_before_since_are_not_replayed():
    frame = pd.DataFrame([activity(1, 1, add_time="2025-12-31T23:59:59Z"), activity(2, 1)])
    events, _ = activity_events(frame, LINKS, since="2026-01-01")
    assert events["event_id"].tolist() == ["activity_logged:2"]


def deals_frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def test_deal_changes_between_two_snapshots():
    before = deals_frame(deal(1, 1, "open", 100, stage_id=1), deal(2, 1, "open", 50), deal(3, 1, "open", 20),
                         deal(4, 1, "won", 10))
    after = deals_frame(
        deal(1, 1, "open", 100, stage_id=2, stage_change_time="2026-02-01T09:00:00Z"),      # moved
        deal(2, 1, "won", 50, won_time="2026-02-02T09:00:00Z"),                              # won
        deal(3, 2, "lost", 20, lost_time="2026-02-03T09:00:00Z", lost_reason="Price"),      # lost
        deal(4, 1, "won", 10),                                                               # unchanged
        deal(5, 1, "won", 99, won_time="2026-02-04T09:00:00Z"),                              # new, already won
        deal(6, 1, "open", 1, stage_id=2, is_deleted=True),                                  # deleted: nothing
    )
    events, problems = deal_events(after, before, LINKS, stages=STAGES, pipelines=PIPELINES)
    assert problems.empty
    assert events[["event_id", "event_name", "event_date"]].to_dict("records") == [
        {"event_id": "deal_stage_changed:1:1:2:2026-02-01T09:00:00Z", "event_name": "deal_stage_changed",
         "event_date": "2026-02-01T09:00:00Z"},
        {"event_id": "deal_won:2:2026-02-02T09:00:00Z", "event_name": "deal_won", "event_date": "2026-02-02T09:00:00Z"},
        {"event_id": "deal_won:5:2026-02-04T09:00:00Z", "event_name": "deal_won", "event_date": "2026-02-04T09:00:00Z"},
        {"event_id": "deal_lost:3:2026-02-03T09:00:00Z", "event_name": "deal_lost",
         "event_date": "2026-02-03T09:00:00Z"},
    ]
    stage = json.loads(events["properties"][0])
    assert stage == {"deal_id": 1, "title": "Deal 1", "pipeline_id": 1, "pipeline": "Sales", "previous_stage_id": 1,
                     "previous_stage": "Qualified", "stage_id": 2, "stage": "Proposal", "value": 100,
                     "currency": "EUR"}
    lost = json.loads(events["properties"][3])
    assert (lost["status"], lost["lost_reason"]) == ("lost", "Price")


def test_the_first_snapshot_makes_no_deal_events():
    events, _ = deal_events(deals_frame(deal(1, 1, "won")), None, LINKS)
    assert events.empty


def test_rerunning_over_the_same_snapshots_sends_nothing_twice():
    before, after = deals_frame(deal(1, 1, "open")), deals_frame(deal(1, 1, "won", won_time="2026-02-02T09:00:00Z"))
    first, _ = deal_events(after, before, LINKS)
    again, _ = deal_events(after, before, LINKS)
    contacts = build([person(1, "ann@x.example")]).contacts
    plan = diff(contacts, contacts, events=again, sent_event_ids=first["event_id"])
    assert plan.is_empty()


def test_an_activity_rule_renames_its_event_and_a_deal_update_rule_does_not():
    rules = (WebhookRule("added", "activity", "pipedrive_activity"), WebhookRule("updated", "deal", "deal_updated"),
             WebhookRule("*", "*", "anything"))
    assert event_names(rules) == {"activity_logged": "pipedrive_activity", "deal_stage_changed": "deal_stage_changed",
                                  "deal_won": "deal_won", "deal_lost": "deal_lost"}
    events, _ = activity_events(pd.DataFrame([activity(5, 1)]), LINKS, event_names(rules))
    assert events["event_name"].tolist() == ["pipedrive_activity"]


def test_properties_over_50_kb_are_rejected():
    events, problems = activity_events(pd.DataFrame([activity(5, 1, subject="x" * 52_000)]), LINKS)
    assert events.empty
    assert problems[["entity", "id", "reason"]].to_dict("records") == [
        {"entity": "event", "id": "activity_logged:5", "reason": "properties_too_large"}]


# ------------------------------------------------------------------------------ companies

def test_organizations_become_companies_with_their_linked_contacts():
    organizations = pd.DataFrame([
        {"id": 2, "name": " Müller GmbH ", "website": "https://www.Mueller.example/about", "industry": 13,
         "employee_count": 40, "address": {"value": "Hauptstr. 1, 50667 Köln"}},
        {"id": 1, "name": "", "website": None},
        {"id": 3, "name": "Gone", "is_deleted": True},
        {"id": 4, "name": "Solo", "industry": 99},
    ])
    persons = [person(1, "ann@x.example", org_id=2), person(2, "bob@x.example", org_id=2),
               person(3, "ann@x.example", org_id=4, updated="2025-01-01T00:00:00Z"), person(4, "cy@x.example")]
    result = build(persons)
    companies, problems = build_companies(organizations, pd.DataFrame(persons), result.persons,
                                          organization_fields=ORGANIZATION_FIELDS)
    rows = [{k: (None if not isinstance(v, tuple) and pd.isna(v) else v) for k, v in r.items()}
            for r in companies.to_dict("records")]
    assert rows == [
        {"pipedrive_org_id": "2", "name": "Müller GmbH", "domain": "mueller.example", "industry": "Automotive",
         "number_of_employees": 40.0, "address": "Hauptstr. 1, 50667 Köln",
         "linked_emails": ("ann@x.example", "bob@x.example")},
        # person 3 lost the email to person 1, so its organization is linked to no contact
        {"pipedrive_org_id": "4", "name": "Solo", "domain": None, "industry": "99", "number_of_employees": None,
         "address": None, "linked_emails": ()},
    ]
    assert problems[["entity", "id", "reason"]].to_dict("records") == [
        {"entity": "organization", "id": "1", "reason": "no_name"}]


def test_domains_from_websites():
    websites = pd.Series(["http://Shop.Example.com:8080/x", "www.firma.example", "n/a", None, "ftp://files.example"])
    assert domains(websites).tolist() == ["shop.example.com", "firma.example", pd.NA, pd.NA, "files.example"]


def test_only_new_or_changed_companies_are_sent_again():
    organizations = pd.DataFrame([{"id": 1, "name": "A"}, {"id": 2, "name": "B"}])
    persons = [person(1, "ann@x.example", org_id=1)]
    result = build(persons)
    first, _ = build_companies(organizations, pd.DataFrame(persons), result.persons)
    assert changed_companies(first, None)["pipedrive_org_id"].tolist() == ["1", "2"]
    assert changed_companies(first, first).empty
    renamed = first.assign(name=pd.array(["A", "B2"], dtype="string"))
    assert changed_companies(renamed, first)["pipedrive_org_id"].tolist() == ["2"]
