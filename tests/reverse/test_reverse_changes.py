"""The pure decisions of the reverse sync, on hand-made contacts, persons and sync state."""

from __future__ import annotations

import pytest

from pipedrive_brevo import reverse_changes as rc
from pipedrive_brevo.config import load_mapping
from tests.reverse.reverse_support import reverse_mapping_file

INDUSTRY_KEY = "a" * 40
NEWSLETTER_KEY = "b" * 40
PERSON_FIELDS = [
    {"field_code": "label_ids", "field_name": "Labels", "field_type": "set", "is_custom_field": False,
     "options": [{"id": 5, "label": "Customer"}, {"id": 8, "label": "Cold lead"}]},
    {"field_code": INDUSTRY_KEY, "field_name": "Industry", "field_type": "varchar", "is_custom_field": True},
    {"field_code": "c" * 40, "field_name": "Lead source", "field_type": "enum", "is_custom_field": True,
     "options": [{"id": 1, "label": "Website"}]},
    {"field_code": "d" * 40, "field_name": "Company size", "field_type": "enum", "is_custom_field": True,
     "options": [{"id": 2, "label": "1-10"}]},
    {"field_code": NEWSLETTER_KEY, "field_name": "Newsletter opt-in", "field_type": "enum", "is_custom_field": True,
     "options": [{"id": 56, "label": "Yes"}, {"id": 57, "label": "No"}]},
]


@pytest.fixture(scope="module")
def targets(tmp_path_factory):
    mapping = load_mapping(reverse_mapping_file(tmp_path_factory.mktemp("m")))
    return {t.name: t for t in rc.resolve_targets(mapping, PERSON_FIELDS)}


def contact(**values):
    base = {"id": 7, "email": "ada@example.com", "emailBlacklisted": False, "smsBlacklisted": False,
            "modifiedAt": "2026-11-24T10:00:00.000Z", "attributes": {"EXT_ID": "42"}}
    attributes = values.pop("attributes", {})
    return {**base, **values, "attributes": {**base["attributes"], **attributes}}


PERSON = {"id": 42, "name": "Ada Lovelace", "update_time": "2026-11-24T09:00:00Z", "label_ids": [5],
          "marketing_status": "subscribed", "custom_fields": {INDUSTRY_KEY: "Maths", NEWSLETTER_KEY: 57}}


def decide(targets, names, c, *, person=PERSON, sent=None, conflict="pipedrive_wins"):
    plan = rc.plan_changes({c["id"]: c}, [targets[n] for n in names], {42: person}, {c["id"]: 42},
                           {"ada@example.com": sent} if sent else {}, conflict=conflict)
    return plan, {r.target: (r.action, r.reason, r.value) for r in plan.rows.itertuples()}


def test_targets_resolve_labels_custom_fields_and_which_are_mapped_both_ways(targets):
    assert targets["label_ids.Cold lead"].label_id == 8 and targets["label_ids.Cold lead"].kind == "label"
    assert targets["custom_fields.industry"].field == INDUSTRY_KEY
    # person_mapping has name: FULLNAME and custom_fields.industry: INDUSTRY; NEWSLETTER is Brevo's only
    assert targets["name"].forward_attribute == "FULLNAME"
    assert targets["custom_fields.industry"].forward_attribute == "INDUSTRY"
    assert targets["custom_fields.newsletter_opt_in"].forward_attribute is None


def test_an_unsubscribe_becomes_marketing_status_and_a_resubscribe_writes_nothing(targets):
    _, rows = decide(targets, ["marketing_status"], contact(emailBlacklisted=True))
    assert rows["marketing_status"] == ("write", "brevo_changed", '"unsubscribed"')
    _, rows = decide(targets, ["marketing_status"], contact(emailBlacklisted=False))
    assert rows["marketing_status"][:2] == ("skip", "not_written")


def test_a_one_way_attribute_becomes_the_enum_option_and_an_empty_one_is_never_written(targets):
    plan, rows = decide(targets, ["custom_fields.newsletter_opt_in"], contact(attributes={"NEWSLETTER": True}))
    assert rows["custom_fields.newsletter_opt_in"] == ("write", "brevo_changed", "56")  # the option labelled Yes
    assert rc.patch_bodies(plan, list(targets.values()), {42: PERSON}) == {42: {"custom_fields": {NEWSLETTER_KEY: 56}}}
    _, rows = decide(targets, ["custom_fields.newsletter_opt_in"], contact(attributes={"NEWSLETTER": False}))
    assert rows["custom_fields.newsletter_opt_in"][:2] == ("skip", "unchanged")  # already No (57)
    _, rows = decide(targets, ["custom_fields.newsletter_opt_in"], contact())
    assert rows["custom_fields.newsletter_opt_in"][:2] == ("skip", "empty_in_brevo")


def test_a_hard_bounce_adds_the_label_keeping_the_others_and_is_unknown_without_a_webhook(targets):
    plan, rows = decide(targets, ["label_ids.Cold lead"], contact(hardBounced=True))
    assert rows["label_ids.Cold lead"][:2] == ("write", "brevo_changed")
    assert rc.patch_bodies(plan, list(targets.values()), {42: PERSON}) == {42: {"label_ids": [5, 8]}}
    _, rows = decide(targets, ["label_ids.Cold lead"], contact())
    assert rows["label_ids.Cold lead"][:2] == ("skip", "unknown_value")


def test_a_value_brevo_holds_because_the_sync_sent_it_is_not_written_back(targets):
    # Pipedrive changed the name since (Ada L.), Brevo still holds what the sync last sent
    _, rows = decide(targets, ["name"], contact(attributes={"FULLNAME": "Ada Lovelace"}),
                     person={**PERSON, "name": "Ada L."}, sent={"FULLNAME": "Ada Lovelace"})
    assert rows["name"][:2] == ("skip", "sent_by_sync")


def test_a_field_only_brevo_changed_is_written_under_both_rules(targets):
    for rule in ("pipedrive_wins", "last_modified"):
        _, rows = decide(targets, ["name"], contact(attributes={"FULLNAME": "Ada King"}),
                         sent={"FULLNAME": "Ada Lovelace"}, conflict=rule)
        assert rows["name"] == ("write", "brevo_changed", '"Ada King"')


def test_both_sides_changed_pipedrive_wins_by_default(targets):
    c = contact(attributes={"FULLNAME": "Ada King"}, modifiedAt="2026-11-24T11:00:00.000Z")  # Brevo newer
    _, rows = decide(targets, ["name"], c, person={**PERSON, "name": "Ada L."}, sent={"FULLNAME": "Ada Lovelace"})
    assert rows["name"][:2] == ("skip", "pipedrive_wins")


def test_both_sides_changed_last_modified_takes_the_newer_side(targets):
    person = {**PERSON, "name": "Ada L.", "update_time": "2026-11-24T10:30:00Z"}
    sent = {"FULLNAME": "Ada Lovelace"}
    newer = contact(attributes={"FULLNAME": "Ada King"}, modifiedAt="2026-11-24T11:00:00.000Z")
    older = contact(attributes={"FULLNAME": "Ada King"}, modifiedAt="2026-11-24T10:00:00.000Z")
    assert decide(targets, ["name"], newer, person=person, sent=sent, conflict="last_modified")[1]["name"] == \
        ("write", "brevo_newer", '"Ada King"')
    assert decide(targets, ["name"], older, person=person, sent=sent,
                  conflict="last_modified")[1]["name"][:2] == ("skip", "pipedrive_newer")


def test_a_value_pipedrive_already_holds_is_unchanged_and_an_unknown_person_is_rejected(targets):
    _, rows = decide(targets, ["custom_fields.industry"], contact(attributes={"INDUSTRY": "Maths"}))
    assert rows["custom_fields.industry"][:2] == ("skip", "unchanged")
    plan = rc.plan_changes({7: contact()}, list(targets.values()), {}, {7: None}, {})
    assert plan.rows.empty and plan.rejects[["id", "reason"]].values.tolist() == [["7", "unknown_person"]]


def test_an_enum_value_without_an_option_is_rejected_naming_the_options(targets):
    target = targets["custom_fields.newsletter_opt_in"]
    plan = rc.plan_changes({7: contact(attributes={"NEWSLETTER": "Maybe"})}, [target], {42: PERSON}, {7: 42}, {})
    (reject,) = plan.rejects.to_dict("records")
    assert reject["reason"] == "unknown_option" and "'Yes'" in reject["detail"] and reject["id"] == "42"


def test_overlapping_reads_keep_the_latest_version_and_drop_what_was_applied():
    a1 = {"id": 1, "modifiedAt": "2026-11-24T10:00:00.000Z", "attributes": {"X": 1}}
    a2 = {"id": 1, "modifiedAt": "2026-11-24T10:05:00.000Z", "attributes": {"X": 2}}
    b = {"id": 2, "modifiedAt": "2026-11-24T09:00:00.000Z"}
    latest = rc.latest_by_id([a2, b, a1])
    assert latest[1]["attributes"] == {"X": 2} and set(latest) == {1, 2}
    assert set(rc.unseen(latest, {2: "2026-11-24T09:00:00.000Z", 1: "2026-11-24T10:00:00.000Z"})) == {1}


def test_webhooks_of_our_own_key_are_skipped_unknown_ones_reported_and_others_refresh():
    events = [
        ("k1", {"event": "contact_updated", "email": "a@x.com", "api_key_name": "pipedrive-brevo-sync"}),
        ("k2", {"event": "contact_updated", "email": "B@x.com", "api_key_name": "marketing-team"}),
        ("k3", {"event": "unsubscribed", "email": "c@x.com", "ts_event": 1}),
        ("k4", {"event": "hard_bounce", "email": "c@x.com"}),
        ("k5", {"event": "contact_deleted", "email": "d@x.com"}),
        ("k6", {"event": "teleported", "email": "e@x.com"}),
        ("k7", {"event": "list_addition"}),
    ]
    reading = rc.read_events(events, "pipedrive-brevo-sync")
    assert reading.own == ("k1",) and reading.ignored == ("k5",)
    assert reading.refresh == {"b@x.com": {}, "c@x.com": {"emailBlacklisted": True, "hardBounced": True}}
    assert reading.rejects[["id", "reason"]].values.tolist() == [["k6", "unknown_event"], ["k7", "invalid_event"]]


def test_a_person_is_found_by_ext_id_else_by_primary_email():
    by_id, by_email = rc.person_index([
        {"id": 3, "update_time": "2026-01-01", "emails": [{"value": "old@x.com", "primary": False},
                                                          {"value": "Ada@X.com", "primary": True}]},
        {"id": 4, "update_time": "2026-02-01", "emails": [{"value": "ada@x.com", "primary": True}]},
    ])
    assert rc.person_of({"email": "ada@x.com", "attributes": {}}, by_id, by_email) == 4  # latest updated
    assert rc.person_of({"email": "ada@x.com", "attributes": {"EXT_ID": "3"}}, by_id, by_email) == 3
    assert rc.person_of({"email": "nobody@x.com", "attributes": {}}, by_id, by_email) is None
