"""v1 endpoints on the hand-built account: leads by offset, users, types, labels, webhooks."""

from __future__ import annotations

import pytest

from tests.sandbox.pipedrive.conftest import LEAD_1, LEAD_2, LEAD_3, Pipedrive


def ids(body: dict) -> list:
    return [r["id"] for r in body["data"]]


# ------------------------------------------------------------------- leads
@pytest.mark.parametrize(("query", "expected"), [
    ({}, [LEAD_3, LEAD_1]),  # creation time, oldest first; archived LEAD_2 not listed
    ({"sort": "update_time ASC"}, [LEAD_1, LEAD_3]),
    ({"sort": "update_time DESC"}, [LEAD_3, LEAD_1]),
    ({"sort": "owner_id DESC, title ASC"}, [LEAD_3, LEAD_1]),
    ({"sort": "title"}, [LEAD_1, LEAD_3]),  # "Lead one" < "Lead three"
    ({"updated_since": "2026-01-10T08:00:00Z"}, [LEAD_3, LEAD_1]),  # inclusive
    ({"updated_since": "2026-01-10T08:00:01Z"}, [LEAD_3]),
    ({"person_id": 1}, [LEAD_1]),
    ({"organization_id": 1}, [LEAD_3]),
    ({"owner_id": 2}, [LEAD_3]),
])
def test_lead_order_and_filters(pd: Pipedrive, query: dict, expected: list[str]) -> None:
    assert ids(pd.ok("/v1/leads", params=query)) == expected


def test_lead_offset_pages(pd: Pipedrive) -> None:
    first = pd.ok("/v1/leads", params={"limit": 1})
    assert ids(first) == [LEAD_3]
    assert first["additional_data"] == {"start": 0, "limit": 1, "more_items_in_collection": True}
    second = pd.ok("/api/v1/leads", params={"limit": 1, "start": 1})  # /api/v1 is the same API
    assert ids(second) == [LEAD_1]
    assert second["additional_data"] == {"start": 1, "limit": 1, "more_items_in_collection": False}
    assert pd.ok("/v1/leads", params={"start": 5})["data"] == []


def test_archived_and_deleted_leads(pd: Pipedrive) -> None:
    assert ids(pd.ok("/v1/leads/archived")) == [LEAD_2]
    assert pd.admin("POST", "/records/leads/delete", json={"ids": [LEAD_1]}).json() == {"deleted": [LEAD_1]}
    assert ids(pd.ok("/v1/leads")) == [LEAD_3]
    assert pd.admin("GET", f"/records/leads/{LEAD_1}").json()["data"]["is_deleted"] is True
    pd.admin("POST", "/records/leads", json={"id": LEAD_2, "is_archived": False})
    assert ids(pd.ok("/v1/leads")) == [LEAD_3, LEAD_2]  # un-archived: listed again, by creation time
    assert pd.ok("/v1/leads/archived")["data"] == []


@pytest.mark.parametrize("query", [{"sort": "value ASC"}, {"sort": "title UP"}, {"limit": 501}, {"start": -1},
                                   {"updated_since": "soon"}])
def test_bad_lead_queries(pd: Pipedrive, query: dict) -> None:
    response = pd.get("/v1/leads", params=query)
    assert response.status_code == 400
    assert response.json()["success"] is False


# ------------------------------------------------- users, types and labels
def test_users_and_me(pd: Pipedrive) -> None:
    users = pd.ok("/v1/users")["data"]
    assert [(u["id"], u["is_you"]) for u in users] == [(1, True)]
    me = pd.ok("/v1/users/me")["data"]
    assert (me["id"], me["is_you"], me["company_domain"], me["company_id"]) == (1, True, "handmade", 1)


def test_activity_types_and_lead_labels(pd: Pipedrive) -> None:
    types = pd.ok("/v1/activityTypes")["data"]
    assert [t["key_string"] for t in types] == ["call", "meeting", "task", "deadline", "email", "lunch"]
    labels = pd.ok("/v1/leadLabels")["data"]
    assert [label["name"] for label in labels] == ["Hot", "Cold", "Warm"]


# ---------------------------------------------------------------- webhooks
def hook(n: int = 1, **extra: object) -> dict:
    return {"subscription_url": f"https://hooks.example.com/pd/{n}", "event_action": "*", "event_object": "person",
            "name": f"hook {n}", **extra}


def test_webhook_create_list_delete(pd: Pipedrive) -> None:
    created = pd.call("POST", "/v1/webhooks", json=hook(http_auth_user="pd", http_auth_password="s3cret"))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "ok" and body["success"] is True
    data = body["data"]
    assert (data["id"], data["version"], data["user_id"], data["is_active"], data["type"]) == (1, "2.0", 1, 1, "general")
    assert data["http_auth_user"] == "pd" and data["http_auth_password"] is None
    assert "s3cret" not in created.text
    listed = pd.get("/v1/webhooks")
    assert [h["id"] for h in listed.json()["data"]] == [1] and "s3cret" not in listed.text
    stored = pd.admin("GET", "/pipedrive/webhooks").json()
    assert stored[0]["http_auth_password"] == "s3cret"  # kept, for deliveries, but never returned by the API
    assert pd.call("DELETE", "/v1/webhooks/1").json() == {"status": "ok", "success": True}
    assert pd.ok("/v1/webhooks")["data"] == []
    gone = pd.call("DELETE", "/v1/webhooks/1")
    assert gone.status_code == 404
    assert gone.json()["errors"] == {"id": ["not found"]}


def test_webhook_version_1_is_honoured(pd: Pipedrive) -> None:
    assert pd.call("POST", "/v1/webhooks", json=hook(version="1.0")).json()["data"]["version"] == "1.0"


@pytest.mark.parametrize(("body", "field"), [
    ({k: v for k, v in hook().items() if k != "name"}, "name"),
    ({k: v for k, v in hook().items() if k != "subscription_url"}, "subscription_url"),
    (hook(event_action="added"), "event_action"),
    (hook(event_object="invoice"), "event_object"),
    (hook(version="3.0"), "version"),
    (hook(subscription_url="not a url"), "subscription_url"),
    (hook(subscription_url="https://api.pipedrive.com/v1/persons"), "subscription_url"),
])
def test_webhook_validation(pd: Pipedrive, body: dict, field: str) -> None:
    response = pd.call("POST", "/v1/webhooks", json=body)
    assert response.status_code == 400
    answer = response.json()
    assert answer["success"] is False and answer["status"] == "error"
    assert field in answer["errors"]
    assert pd.ok("/v1/webhooks")["data"] == []


def test_forty_webhooks_per_user(pd: Pipedrive) -> None:
    for n in range(40):
        assert pd.call("POST", "/v1/webhooks", json=hook(n)).status_code == 201
    over = pd.call("POST", "/v1/webhooks", json=hook(40))
    assert over.status_code == 422
    assert over.json()["error"] == "Webhooks limit reached"
    assert pd.call("POST", "/v1/webhooks", json=hook(41, user_id=2)).status_code == 201  # another user's quota
    assert pd.call("DELETE", "/v1/webhooks/7").status_code == 200
    assert pd.call("POST", "/v1/webhooks", json=hook(42)).status_code == 201
    assert len(pd.ok("/v1/webhooks")["data"]) == 41
