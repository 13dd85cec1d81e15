"""Contract: every answer the sandbox gives validates against the vendor's response schema.

Each implemented operation is called on the hand-built account (and, when the generator exists,
on a generated one) and its body is checked by ``OpenAPISpec.validate_response`` for the
operation and status, with the path as the spec writes it.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.pipedrive.conftest import LEAD_1, Pipedrive, StartPipedrive
from tests.support.openapi import PIPEDRIVE_V1, PIPEDRIVE_V2, OpenAPISpec

SPECS = {"v1": PIPEDRIVE_V1, "v2": PIPEDRIVE_V2}
PREFIX = {"v1": "/v1", "v2": "/api/v2"}
HOOK = {"subscription_url": "https://hooks.example.com/pd", "event_action": "change", "event_object": "person",
        "name": "contract", "http_auth_user": "u", "http_auth_password": "p"}
ALL_PERSON_COUNTS = "open_deals_count,won_deals_count,activities_count,next_activity_id,marketing_status"

# (method, version, spec path, concrete path, query or JSON body, expected status)
CASES: list[tuple[str, str, str, str, dict[str, Any] | None, int]] = [
    ("GET", "v2", "/persons", "/persons", {"limit": 2}, 200),
    ("GET", "v2", "/persons", "/persons", {"include_fields": ALL_PERSON_COUNTS, "include_option_labels": "true"}, 200),
    ("GET", "v2", "/persons/{id}", "/persons/1", {"include_labels": "true"}, 200),
    ("GET", "v2", "/persons/{id}", "/persons/5", None, 200),
    ("PATCH", "v2", "/persons/{id}", "/persons/1", {"name": "Ada B", "marketing_status": "subscribed"}, 200),
    ("GET", "v2", "/organizations", "/organizations", {"include_fields": "people_count"}, 200),
    ("GET", "v2", "/organizations/{id}", "/organizations/1", None, 200),
    ("GET", "v2", "/deals", "/deals", {"status": "open,won,lost,deleted"}, 200),
    ("GET", "v2", "/deals/{id}", "/deals/4", {"include_fields": "activities_count,first_won_time"}, 200),
    ("GET", "v2", "/deals/archived", "/deals/archived", None, 200),
    ("GET", "v2", "/activities", "/activities", {"include_fields": "attendees"}, 200),
    ("GET", "v2", "/activities/{id}", "/activities/1", None, 200),
    ("GET", "v2", "/pipelines", "/pipelines", None, 200),
    ("GET", "v2", "/stages", "/stages", {"limit": 2}, 200),
    ("GET", "v2", "/personFields", "/personFields", {"include_fields": "ui_visibility"}, 200),
    ("GET", "v2", "/dealFields", "/dealFields", None, 200),
    ("GET", "v2", "/organizationFields", "/organizationFields", None, 200),
    ("GET", "v1", "/leads", "/leads", {"limit": 1}, 200),
    ("GET", "v1", "/leads/archived", "/leads/archived", None, 200),
    ("GET", "v1", "/leadLabels", "/leadLabels", None, 200),
    ("GET", "v1", "/users", "/users", None, 200),
    ("GET", "v1", "/users/me", "/users/me", None, 200),
    ("GET", "v1", "/activityTypes", "/activityTypes", None, 200),
    ("POST", "v1", "/webhooks", "/webhooks", HOOK, 201),
    ("POST", "v1", "/webhooks", "/webhooks", {"name": "incomplete"}, 400),
    ("GET", "v1", "/webhooks", "/webhooks", None, 200),
    ("DELETE", "v1", "/webhooks/{id}", "/webhooks/1", None, 200),
    ("DELETE", "v1", "/webhooks/{id}", "/webhooks/77", None, 404),
]


def call(pd: Pipedrive, method: str, version: str, path: str, payload: dict[str, Any] | None,
         token: str | None = "default") -> Any:
    kwargs: dict[str, Any] = {"json": payload} if method in ("POST", "PATCH") else {"params": payload}
    if token != "default":
        kwargs["token"] = token
    return pd.call(method, PREFIX[version] + path, **kwargs)


def run_cases(pd: Pipedrive) -> int:
    checked = 0
    for method, version, template, path, payload, status in CASES:
        if (method, template) == ("DELETE", "/webhooks/{id}") and status == 200:
            call(pd, "POST", "v1", "/webhooks", HOOK)  # something to delete
        response = call(pd, method, version, path, payload)
        assert response.status_code == status, (method, path, response.text)
        body = response.json()
        if status == 200 and isinstance(body.get("data"), list) and template not in ("/webhooks",):
            assert body["data"], f"{method} {path} returned no records to validate"
        OpenAPISpec.load(SPECS[version]).validate_response(method, template, status, body)
        checked += 1
    return checked


def test_every_operation_matches_the_spec(pd: Pipedrive) -> None:
    assert run_cases(pd) == len(CASES)


@pytest.mark.parametrize(("version", "template", "path"), [
    ("v1", "/users/me", "/users/me"), ("v1", "/webhooks", "/webhooks")])
def test_401_matches_the_spec(pd: Pipedrive, version: str, template: str, path: str) -> None:
    response = call(pd, "GET", version, path, None, token=None)
    assert response.status_code == 401
    OpenAPISpec.load(SPECS[version]).validate_response("GET", template, 401, response.json())


def test_oauth_token_response_matches_the_spec(pd: Pipedrive) -> None:
    from sandbox.pipedrive.config import (
        DEFAULT_OAUTH_CLIENT_ID,
        DEFAULT_OAUTH_CLIENT_SECRET,
    )

    code = pd.admin("POST", "/oauth/code").json()["code"]
    response = pd.session.post(pd.url + "/oauth/token", data={"grant_type": "authorization_code", "code": code},
                               auth=(DEFAULT_OAUTH_CLIENT_ID, DEFAULT_OAUTH_CLIENT_SECRET), timeout=10)
    assert response.status_code == 200
    OpenAPISpec.load(PIPEDRIVE_V1).validate_response("POST", "/oauth/token", 200, response.json())


def test_lead_fixture_is_listed(pd: Pipedrive) -> None:
    """Guards the cases above: the leads they validate are really there."""
    assert LEAD_1 in [lead["id"] for lead in pd.ok("/v1/leads")["data"]]


def test_a_generated_account_matches_the_spec(start_pipedrive: StartPipedrive) -> None:
    generator = pytest.importorskip("sandbox.generator")
    account = generator.generate_account(300, seed=3)
    pd = start_pipedrive(account)
    for version, template in (("v2", "/persons"), ("v2", "/organizations"), ("v2", "/deals"), ("v2", "/activities"),
                              ("v2", "/deals/archived"), ("v2", "/pipelines"), ("v2", "/stages"),
                              ("v2", "/personFields"), ("v2", "/dealFields"), ("v2", "/organizationFields"),
                              ("v1", "/leads"), ("v1", "/leads/archived"), ("v1", "/users"), ("v1", "/activityTypes"),
                              ("v1", "/leadLabels")):
        limit = {"limit": 500} if version == "v2" or template.startswith("/leads") else None
        response = call(pd, "GET", version, template, limit)
        assert response.status_code == 200, (template, response.text)
        OpenAPISpec.load(SPECS[version]).validate_response("GET", template, 200, response.json())
    labelled = call(pd, "GET", "v2", "/persons", {"limit": 500, "include_fields": ALL_PERSON_COUNTS,
                                                  "include_option_labels": "true", "include_labels": "true"})
    OpenAPISpec.load(PIPEDRIVE_V2).validate_response("GET", "/persons", 200, labelled.json())
    persons = pd.scan("/api/v2/persons", limit=100)
    assert len(persons) == len([p for p in account.persons if not p.get("is_deleted")])
    assert len({p["id"] for p in persons}) == len(persons)
