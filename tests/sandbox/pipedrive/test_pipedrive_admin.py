"""Changing the account: admin upserts and soft deletes, and ``PATCH /api/v2/persons/{id}``.

The fake clock stands at 2026-03-01T12:00:00Z, so "now" in ``update_time`` is known exactly.
"""

from __future__ import annotations

import pytest

from tests.sandbox.pipedrive.conftest import INTERESTS, NOTE, SOURCE, Pipedrive

NOW = "2026-03-01T12:00:00Z"


def ids(records: list[dict]) -> list:
    return [r["id"] for r in records]


def admin_record(pd: Pipedrive, entity: str, record_id: object) -> dict:
    response = pd.admin("GET", f"/records/{entity}/{record_id}")
    assert response.status_code == 200, response.text
    return response.json()["data"]


# ------------------------------------------------------------------ upsert
def test_upsert_merges_fields_and_bumps_update_time(pd: Pipedrive) -> None:
    before = admin_record(pd, "persons", 1)
    pd.admin("POST", "/records/persons", json={"id": 1, "name": "Ada King", "custom_fields": {NOTE: "board"}})
    after = admin_record(pd, "persons", 1)
    assert after["name"] == "Ada King" and after["emails"] == before["emails"]
    assert after["custom_fields"] == {SOURCE: 1, INTERESTS: [10, 11], NOTE: "board"}  # merged key by key
    assert (after["update_time"], after["add_time"]) == (NOW, before["add_time"])
    # The change is what an incremental extraction picks up, and the index moved with it.
    assert ids(pd.scan("/api/v2/persons", updated_since=NOW)) == [1]
    assert ids(pd.scan("/api/v2/persons", sort_by="update_time"))[-1] == 1


def test_upsert_keeps_a_given_update_time_and_creates_new_records(pd: Pipedrive) -> None:
    pd.admin("POST", "/records/persons", json={"id": 2, "name": "Bob", "update_time": "2026-01-02T10:00:00Z"})
    assert admin_record(pd, "persons", 2)["update_time"] == "2026-01-02T10:00:00Z"
    created = pd.admin("POST", "/records/persons", json=[{"name": "New One", "org_id": 1}, {"name": "New Two"}])
    new = created.json()["data"]
    assert ids(new) == [7, 8]  # after the highest id, 6
    assert (new[0]["add_time"], new[0]["update_time"], new[0]["is_deleted"]) == (NOW, NOW, False)
    assert ids(pd.scan("/api/v2/persons", org_id=1)) == [1, 2, 6, 7]


def test_new_leads_get_uuid_ids_and_millisecond_times(pd: Pipedrive) -> None:
    lead = pd.admin("POST", "/records/leads", json={"title": "Fresh lead", "owner_id": 1}).json()["data"][0]
    assert len(lead["id"]) == 36 and lead["update_time"] == "2026-03-01T12:00:00.000Z"
    assert lead["id"] in ids(pd.ok("/v1/leads")["data"])


# ------------------------------------------------------------------ delete
def test_soft_delete_hides_persons_and_stamps_the_delete_time(pd: Pipedrive) -> None:
    response = pd.admin("POST", "/records/persons/delete", json={"ids": [2, 99]})
    assert response.json() == {"deleted": [2]}
    assert 2 not in ids(pd.scan("/api/v2/persons"))
    gone = admin_record(pd, "persons", 2)
    assert (gone["is_deleted"], gone["update_time"]) == (True, NOW)
    assert pd.ok("/api/v2/persons/2")["data"]["is_deleted"] is True
    assert pd.ok("/api/v2/organizations/1", params={"include_fields": "people_count"})["data"]["people_count"] == 2


def test_deleted_deals_move_to_status_deleted(pd: Pipedrive) -> None:
    pd.admin("POST", "/records/deals/delete", json={"ids": [1]})
    assert ids(pd.scan("/api/v2/deals")) == [2, 3, 6]
    assert ids(pd.scan("/api/v2/deals", status="deleted")) == [1, 5]
    counts = pd.ok("/api/v2/persons/1", params={"include_fields": "open_deals_count"})["data"]
    assert counts["open_deals_count"] == 0


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("POST", "/records/notes", {"id": 1}, 404),
    ("GET", "/records/persons/abc", None, 400),
    ("GET", "/records/persons/99", None, 404),
    ("POST", "/records/persons/delete", {"id": 1}, 400),
    ("POST", "/records/persons", [1, 2], 400),
])
def test_admin_mistakes(pd: Pipedrive, method: str, path: str, body: object, status: int) -> None:
    assert pd.admin(method, path, json=body).status_code == status


# ------------------------------------------------------------------- PATCH
def test_patch_person_updates_given_fields(pd: Pipedrive) -> None:
    response = pd.call("PATCH", "/api/v2/persons/1", json={
        "job_title": "Countess", "custom_fields": {SOURCE: 2}, "emails": [
            {"value": "ada@analytical.engine", "primary": True, "label": "work"}]})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["job_title"] == "Countess" and data["emails"][0]["value"] == "ada@analytical.engine"
    assert data["custom_fields"] == {SOURCE: 2, INTERESTS: [10, 11], NOTE: "vip"}
    assert data["update_time"] == NOW and data["name"] == "Ada Lovelace"
    assert pd.app.counters["write:PATCH /api/v2/persons/{id}"] == 1


@pytest.mark.parametrize(("person_id", "body", "status"), [
    (1, {"shoe_size": 42}, 400),
    (1, {"marketing_status": "maybe"}, 400),
    (1, {"marketing_status": ["subscribed"]}, 400),
    (1, {"custom_fields": {"d" * 40: "x"}}, 400),
    (1, {"custom_fields": "x"}, 400),
    (1, ["name"], 400),
    (5, {"name": "Back from the dead"}, 404),
    (99, {"name": "Nobody"}, 404),
])
def test_patch_person_refusals(pd: Pipedrive, person_id: int, body: object, status: int) -> None:
    response = pd.call("PATCH", f"/api/v2/persons/{person_id}", json=body)
    assert response.status_code == status
    assert response.json()["success"] is False
    assert admin_record(pd, "persons", 1)["update_time"] == "2026-01-01T10:00:00Z"  # nothing changed


def test_patch_with_a_broken_body(pd: Pipedrive) -> None:
    response = pd.call("PATCH", "/api/v2/persons/1", data=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
