"""Custom events in the Brevo sandbox: single, batch (202/207/400), and reading them back."""

from __future__ import annotations

from typing import Any

import pytest


def event(name: str = "deal_won", **identifiers: Any) -> dict[str, Any]:
    return {"event_name": name, "identifiers": identifiers or {"email_id": "a@x.io"},
            "event_properties": {"deal_id": 7}}


def test_single_event_is_recorded_and_updates_the_contact(brevo: Any) -> None:
    brevo.api("POST", "/contacts", json={"email": "a@x.io"})
    body = {**event(), "event_date": "2026-11-20T10:00:00+01:00", "contact_properties": {"FIRSTNAME": "Ann"}}
    response = brevo.api("POST", "/events", json=body)
    assert response.status_code == 204
    assert brevo.contact("a@x.io")["attributes"] == {"FIRSTNAME": "Ann"}
    listed = brevo.api("GET", "/events", params={"contact_id": 1}).json()
    assert listed == {"count": 1, "events": [{
        "event_name": "deal_won", "event_date": "2026-11-20T09:00:00.000Z", "contact_id": 1,
        "event_properties": {"deal_id": 7}, "contact_properties": {"FIRSTNAME": "Ann"}}]}


@pytest.mark.parametrize(("body", "message"), [
    ({"identifiers": {"email_id": "a@x.io"}}, "undefined event_name"),
    (event("deal won"), "event_name should be 1-255 characters: letters, digits, '-' and '_' only"),
    (event("x" * 256), "event_name should be 1-255 characters: letters, digits, '-' and '_' only"),
    ({"event_name": "deal_won", "identifiers": {}}, "Please pass at least one identifier or contact id"),
    ({**event(), "event_properties": {"blob": "x" * 51_200}}, "event_properties should not exceed 50KB"),
])
def test_single_event_errors(brevo: Any, body: dict[str, Any], message: str) -> None:
    response = brevo.api("POST", "/events", json=body)
    assert response.status_code == 400
    assert response.json() == {"code": "invalid_parameter", "message": message}


def test_batch_all_accepted_is_202(brevo: Any) -> None:
    response = brevo.api("POST", "/events/batch", json={"events": [event(), event("deal_lost")]})
    assert response.status_code == 202
    assert response.json() == {"message": "Batch accepted. Valid events have been added to the processing queue.",
                               "count": 2}
    assert brevo.admin("GET", "/brevo/events").json()["count"] == 2


def test_batch_partly_refused_is_207_with_the_indexes(brevo: Any) -> None:
    events = [event(), {"identifiers": {"ext_id": "1"}}, event(), {"event_name": "x", "identifiers": {}},
              {"identifiers": {"ext_id": "2"}}]
    response = brevo.api("POST", "/events/batch", json={"events": events})
    assert response.status_code == 207
    assert response.json() == {
        "status": "partiallyQueued", "total_events": 5, "successful_events": 2, "failed_events": 3,
        "errors": [{"eventIndex": [1, 4], "message": "undefined event_name"},
                   {"eventIndex": [3], "message": "Please pass at least one identifier or contact id"}]}
    assert brevo.admin("GET", "/brevo/events").json()["count"] == 2


def test_batch_all_refused_is_400(brevo: Any) -> None:
    response = brevo.api("POST", "/events/batch", json={"events": [{"identifiers": {"ext_id": "1"}}]})
    assert response.status_code == 400
    assert response.json() == {"status": "failed", "total_events": 1, "successful_events": 0, "failed_events": 1,
                               "errors": [{"eventIndex": [0], "message": "undefined event_name"}]}


@pytest.mark.parametrize(("events", "message"), [
    ([event() for _ in range(201)], "events should NOT have more than 200 items"),
    ([{**event(), "event_properties": {"blob": "x" * 40_000}} for _ in range(14)],
     "The request body should not exceed 512KB"),
    ([], "events should NOT have fewer than 1 items"),
])
def test_oversized_batch_is_refused_whole(brevo: Any, events: list[Any], message: str) -> None:
    response = brevo.api("POST", "/events/batch", json={"events": events})
    assert response.status_code == 400
    assert response.json()["message"] == message
    assert response.json()["failed_events"] == len(events)
    assert brevo.admin("GET", "/brevo/events").json()["count"] == 0


def test_bare_array_is_the_pre_2026_shape_and_refused(brevo: Any) -> None:
    response = brevo.api("POST", "/events/batch", json=[event()])
    assert response.status_code == 400
    assert response.json()["status"] == "failed"


def test_get_events_filters(brevo: Any) -> None:
    brevo.api("POST", "/contacts", json={"email": "a@x.io", "ext_id": "1"})
    brevo.api("POST", "/events/batch", json={"events": [
        {**event("deal_won", ext_id="1"), "event_date": "2026-01-01T00:00:00Z"},
        {**event("deal_lost", contact_id=1), "event_date": "2026-02-01T00:00:00Z"},
        {**event("deal_won", email_id="stranger@x.io"), "event_date": "2026-03-01T00:00:00Z"},
    ]})
    everything = brevo.api("GET", "/events").json()
    assert [e["event_date"][:7] for e in everything["events"]] == ["2026-03", "2026-02", "2026-01"]
    assert "contact_id" not in everything["events"][0]  # no such contact
    won = brevo.api("GET", "/events", params={"event_name": "deal_won", "contact_id": "1"}).json()
    assert [e["event_date"][:7] for e in won["events"]] == ["2026-01"]
    january = brevo.api("GET", "/events", params={"startDate": "2026-01-01", "endDate": "2026-01-31"}).json()
    assert january["count"] == 1
    assert brevo.api("GET", "/events", params={"startDate": "2026-01-01"}).status_code == 400
    assert brevo.api("GET", "/events", params={"limit": 10_001}).status_code == 400
