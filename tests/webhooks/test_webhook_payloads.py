"""Recognising Pipedrive v1/v2 and Brevo marketing webhook bodies (shapes from research §6 / §10)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipedrive_brevo.webhooks.payloads import PayloadError, brevo_items, parse_brevo, parse_pipedrive


def v2(action: str, entity: str = "deal", **extra) -> dict:
    meta = {"action": action, "entity": entity, "entity_id": "123", "id": "5b1e6f0e-uuid",
            "company_id": "9", "user_id": "1", "is_bulk_edit": False, "timestamp": "2026-11-24T09:00:01.250Z",
            "type": "general", "version": "2.0", "webhook_id": "77", "change_source": "api", "attempt": 2}
    meta.update(extra.pop("meta", {}))
    return {"meta": meta, **extra}


def test_v2_change_keeps_data_and_only_the_changed_previous_fields():
    event = parse_pipedrive(v2("change", data={"id": 123, "stage_id": 4, "update_time": "2026-11-24T09:00:00Z"},
                               previous={"stage_id": 3}))
    assert (event.version, event.action, event.entity, event.entity_id) == ("2.0", "change", "deal", 123)
    assert event.event_id == "5b1e6f0e-uuid" and event.attempt == 2 and event.change_source == "api"
    assert event.timestamp == datetime(2026, 11, 24, 9, 0, 1, 250000, tzinfo=UTC)
    assert event.update_time == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert event.previous == {"stage_id": 3} and event.merged_from_id is None


def test_v2_delete_and_merge_pair():
    loser = parse_pipedrive(v2("delete", "person", data=None, previous={"id": 123, "name": "Old"},
                               meta={"merged_to_id": "456"}))
    assert loser.action == "delete" and loser.data is None and loser.merged_to_id == 456
    winner = parse_pipedrive(v2("change", "person", data={"id": 456}, previous={"email": []},
                                meta={"entity_id": "456", "id": "e2", "merged_from_id": "123"}))
    assert winner.entity_id == 456 and winner.merged_from_id == 123 and winner.merged_to_id is None


def test_v2_lead_ids_stay_strings():
    event = parse_pipedrive(v2("create", "lead", data={"id": "adf21080-0e10-11eb"},
                               meta={"entity_id": "adf21080-0e10-11eb"}))
    assert event.entity == "lead" and event.entity_id == "adf21080-0e10-11eb"


def v1(action: str, obj: str = "deal", retry: int = 0, **extra) -> dict:
    meta = {"v": 1, "action": action, "object": obj, "id": 123, "company_id": 1, "user_id": 1,
            "host": "x.pipedrive.com", "timestamp": 1523440213, "timestamp_micro": 1523440213384700,
            "webhook_id": 1, "change_source": "app", "is_bulk_update": False}
    return {"v": 1, "event": f"{action}.{obj}", "retry": retry, "meta": meta, **extra}


def test_v1_actions_map_to_v2_names_and_retries_share_an_event_id():
    first = parse_pipedrive(v1("updated", current={"id": 123, "update_time": "2018-04-11 09:50:13"},
                               previous={"id": 123, "stage_id": 1}))
    retried = parse_pipedrive(v1("updated", retry=2, current={"id": 123, "update_time": "2018-04-11 09:50:13"},
                                 previous={"id": 123, "stage_id": 1}))
    assert (first.version, first.action, first.original_action) == ("1.0", "change", "updated")
    assert first.event_id == retried.event_id and first.event_id.startswith("v1-")
    assert (first.attempt, retried.attempt) == (1, 3)
    assert first.update_time == datetime(2018, 4, 11, 9, 50, 13, tzinfo=UTC)
    assert first.timestamp == datetime.fromtimestamp(1523440213, tz=UTC)
    other = parse_pipedrive(v1("deleted", current=None, previous={"id": 123}))
    assert other.action == "delete" and other.data is None and other.event_id != first.event_id
    assert parse_pipedrive(v1("added", current={"id": 123})).action == "create"


def test_v1_merge_becomes_the_winners_change_and_user_objects_come_from_a_list():
    merged = parse_pipedrive(v1("merged", "person", current={"id": 123}, previous={"id": 99}))
    assert merged.action == "change" and merged.original_action == "merged" and merged.merged_from_id == 99
    user = parse_pipedrive(v1("updated", "user", current=[{"id": 123, "name": "A"}], previous=[{"id": 123}]))
    assert user.data == {"id": 123, "name": "A"}
    assert parse_pipedrive(v1("added", "activityType", current={"id": 123})).entity == "activity_type"


@pytest.mark.parametrize(("body", "message"), [
    ([], "is a JSON object, got list"),
    ({"data": {}}, "`meta` is missing"),
    ({"meta": {"action": "update", "entity": "deal", "id": "x"}, "data": {}}, "must be one of create, change"),
    ({"meta": {"action": "create", "entity": "Deal!", "id": "x"}, "data": {"id": 1}}, "`meta.entity` must name"),
    ({"meta": {"action": "create", "entity": "deal"}, "data": {"id": 1}}, "`meta.id` (the v2 event id)"),
    ({"meta": {"action": "create", "entity": "deal", "id": "x"}, "data": None}, "carries the record in `data`"),
    ({"meta": {"action": "create", "entity": "deal", "id": "x"}, "data": {"name": "no id"}}, "no `id`"),
    ({"meta": {"action": "change", "entity": "deal", "id": "x", "entity_id": "1"}, "data": [1]}, "`data` must be an object"),
    ({"meta": {"v": 1, "action": "changed", "object": "deal", "id": 1}, "current": {}}, "added, updated, deleted, merged"),
    ({"meta": {"v": 1, "action": "added", "object": "deal", "id": 1}, "current": None}, "in `current`"),
])
def test_unknown_pipedrive_shapes_are_refused_with_the_field_named(body, message):
    with pytest.raises(PayloadError) as info:
        parse_pipedrive(body)
    assert message in str(info.value)


def test_brevo_contact_events_as_brevo_sends_them():
    updated = parse_brevo({"id": 17, "email": " Ana@Example.com", "event": "contact_updated", "key": "k",
                           "content": [{"NEWSLETTER": False}, {"FIRSTNAME": "Ana"}], "date": "2026-11-24 10:00:00",
                           "ts": 1795514400, "api_key_name": "pipedrive-brevo-sync"})
    assert (updated.event, updated.email, updated.contact_id) == ("contact_updated", "ana@example.com", 17)
    assert updated.attributes == {"NEWSLETTER": False, "FIRSTNAME": "Ana"}
    assert updated.api_key_name == "pipedrive-brevo-sync"
    assert updated.timestamp == datetime.fromtimestamp(1795514400, tz=UTC)
    unsub = parse_brevo({"id": 5, "camp_id": 3, "email": "b@x.io", "event": "unsubscribed", "list_id": [3, 42],
                         "ts_event": 1795514401, "ts": 1795514402})
    assert unsub.list_ids == (3, 42) and unsub.timestamp == datetime.fromtimestamp(1795514401, tz=UTC)
    assert parse_brevo({"email": "c@x.io", "event": "listAddition", "list_id": [34]}).event == "list_addition"
    # a retry resends the same body: same id; another body: another id
    body = {"email": "d@x.io", "event": "contact_deleted", "list_id": [35], "ts": 1}
    assert parse_brevo(body).event_id == parse_brevo(dict(body)).event_id != parse_brevo({**body, "ts": 2}).event_id


@pytest.mark.parametrize(("body", "message"), [
    ({"email": "a@x.io", "event": "contact_created"}, "`event` must be one of"),
    ({"email": "a@x.io"}, "`event` must be one of"),
    ({"email": "not-an-email", "event": "unsubscribed"}, "`email` must be an email"),
    ({"event": "contact_deleted"}, "names its contact by `email` or `id`"),
    ({"email": "a@x.io", "event": "list_addition", "list_id": ["x"]}, "`list_id` must hold integers"),
])
def test_unknown_brevo_shapes_are_refused(body, message):
    with pytest.raises(PayloadError) as info:
        parse_brevo(body)
    assert message in str(info.value)


def test_brevo_batched_bodies_are_lists_of_events():
    assert len(brevo_items([{"event": "spam"}, {"event": "opened"}])) == 2
    for bad in ([], [1], "x", 3):
        with pytest.raises(PayloadError):
            brevo_items(bad)
