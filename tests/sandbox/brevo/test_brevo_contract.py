"""Contract tests: what the Brevo sandbox answers matches Brevo's 2026 OpenAPI document.

Each call is made for real and its body validated against the response schema the spec gives
for that operation and status (tests/support/openapi.py). ``brevo-2026.yml`` holds every operation
used here, so the 2025 document is not needed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from sandbox.brevo import BrevoConfig
from tests.support.openapi import BREVO, OpenAPISpec


@pytest.fixture(scope="module")
def spec() -> OpenAPISpec:
    return OpenAPISpec.load(BREVO)


@pytest.fixture
def account(brevo: Any) -> dict[str, Any]:
    """An account with a list, two contacts, a company and an event; returns their ids."""
    brevo.seed_list(2, "All contacts")
    brevo.api("POST", "/contacts/attributes/category/TIER",
              json={"enumeration": [{"value": 1, "label": "Gold"}, {"value": 2, "label": "Silver"}]})
    brevo.api("POST", "/contacts/attributes/normal/COLORS",
              json={"type": "multiple-choice", "multiCategoryOptions": ["red", "blue"]})
    brevo.api("POST", "/contacts", json={"email": "a@x.io", "ext_id": "1", "listIds": [2],
                                         "attributes": {"FIRSTNAME": "Ann", "SMS": "+33612345678", "TIER": "Gold",
                                                        "COLORS": ["red"]}})
    brevo.api("POST", "/contacts", json={"ext_id": "2"})
    company = brevo.api("POST", "/companies", json={"name": "Acme", "linkedContactsIds": [1]}).json()["id"]
    brevo.api("POST", "/events", json={"event_name": "deal_won", "identifiers": {"contact_id": 1},
                                       "event_properties": {"value": 10}})
    process = brevo.api("POST", "/contacts/import",
                        json={"listIds": [2], "jsonBody": [{"email": "bad@"}, {"email": "c@x.io"}]}).json()
    brevo.wait_process(process["processId"])
    return {"company": company, "process": process["processId"]}


def check(spec: OpenAPISpec, brevo: Any, method: str, template: str, path: str, status: int,
          **kwargs: Any) -> Any:
    response = brevo.api(method, path, **kwargs)
    assert response.status_code == status, response.text
    body = response.json() if response.content else None
    spec.validate_response(method, template, status, body)
    return body


CALLS = [
    ("GET", "/contacts", "/contacts", 200, {}),
    ("GET", "/contacts", "/contacts", 400, {"params": {"limit": 5000}}),
    ("GET", "/contacts/{identifier}", "/contacts/a@x.io", 200, {}),
    ("GET", "/contacts/{identifier}", "/contacts/2", 200, {}),
    ("GET", "/contacts/{identifier}", "/contacts/nobody@x.io", 404, {}),
    ("POST", "/contacts", "/contacts", 201, {"json": {"email": "new@x.io"}}),
    ("POST", "/contacts", "/contacts", 204, {"json": {"email": "a@x.io", "updateEnabled": True}}),
    ("POST", "/contacts", "/contacts", 400, {"json": {"email": "a@x.io"}}),
    ("POST", "/contacts", "/contacts", 400, {"json": {"email": "b@x.io", "attributes": {"SMS": "+33612345678"}}}),
    ("PUT", "/contacts/{identifier}", "/contacts/1", 204, {"json": {"attributes": {"LASTNAME": "Lee"}}}),
    ("PUT", "/contacts/{identifier}", "/contacts/99", 404, {"json": {}}),
    ("DELETE", "/contacts/{identifier}", "/contacts/2", 204, {}),
    ("GET", "/contacts/attributes", "/contacts/attributes", 200, {}),
    ("POST", "/contacts/attributes/{attributeCategory}/{attributeName}", "/contacts/attributes/normal/AGE", 201,
     {"json": {"type": "float"}}),
    ("POST", "/contacts/attributes/{attributeCategory}/{attributeName}", "/contacts/attributes/normal/FIRSTNAME",
     400, {"json": {"type": "text"}}),
    ("PUT", "/contacts/attributes/{attributeCategory}/{attributeName}", "/contacts/attributes/category/TIER", 204,
     {"json": {"enumeration": [{"value": 3, "label": "Bronze"}]}}),
    ("GET", "/contacts/lists", "/contacts/lists", 200, {}),
    ("POST", "/contacts/lists", "/contacts/lists", 201, {"json": {"name": "New", "folderId": 1}}),
    ("GET", "/contacts/lists/{listId}", "/contacts/lists/2", 200, {}),
    ("GET", "/contacts/lists/{listId}", "/contacts/lists/77", 404, {}),
    ("GET", "/contacts/lists/{listId}/contacts", "/contacts/lists/2/contacts", 200, {}),
    ("POST", "/contacts/lists/{listId}/contacts/add", "/contacts/lists/2/contacts/add", 201, {"json": {"ids": [2]}}),
    ("POST", "/contacts/lists/{listId}/contacts/add", "/contacts/lists/2/contacts/add", 400, {"json": {"ids": [1]}}),
    ("POST", "/contacts/lists/{listId}/contacts/remove", "/contacts/lists/2/contacts/remove", 201,
     {"json": {"emails": ["a@x.io"]}}),
    ("GET", "/contacts/folders", "/contacts/folders", 200, {}),
    ("POST", "/contacts/folders", "/contacts/folders", 201, {"json": {"name": "Sync"}}),
    ("GET", "/contacts/folders/{folderId}/lists", "/contacts/folders/1/lists", 200, {}),
    ("POST", "/contacts/import", "/contacts/import", 202, {"json": {"listIds": [2], "jsonBody": [{"email": "d@x.io"}]}}),
    ("POST", "/contacts/import", "/contacts/import", 400, {"json": {"jsonBody": []}}),
    ("GET", "/processes", "/processes", 200, {}),
    ("GET", "/processes/{processId}", "/processes/99", 404, {}),
    ("POST", "/events", "/events", 204, {"json": {"event_name": "x", "identifiers": {"ext_id": "1"}}}),
    ("POST", "/events", "/events", 400, {"json": {"identifiers": {"ext_id": "1"}}}),
    ("GET", "/events", "/events", 200, {}),
    ("POST", "/events/batch", "/events/batch", 202, {"json": {"events": [{"event_name": "x",
                                                                          "identifiers": {"ext_id": "1"}}]}}),
    ("POST", "/events/batch", "/events/batch", 207, {"json": {"events": [{"event_name": "x",
                                                                          "identifiers": {"ext_id": "1"}},
                                                                         {"identifiers": {}}]}}),
    ("POST", "/events/batch", "/events/batch", 400, {"json": {"events": [{"identifiers": {}}]}}),
    ("POST", "/events/batch", "/events/batch", 400, {"json": {"events": [{"identifiers": {}}] * 201}}),
    ("POST", "/companies", "/companies", 200, {"json": {"name": "Beta"}}),
    ("POST", "/companies", "/companies", 400, {"json": {}}),
    ("GET", "/companies", "/companies", 200, {}),
    ("GET", "/crm/attributes/companies", "/crm/attributes/companies", 200, {}),
    ("POST", "/crm/attributes", "/crm/attributes", 200,
     {"json": {"label": "Org id", "attributeType": "number", "objectType": "companies"}}),
    ("POST", "/companies/import", "/companies/import", 200,
     {"files": {"file": ("c.csv", "name\nGamma\n", "text/csv")}, "data": {"mapping": json.dumps({})}}),
]


@pytest.mark.parametrize(("method", "template", "path", "status", "kwargs"), CALLS,
                         ids=[f"{c[0]} {c[2]} {c[3]}" for c in CALLS])
def test_answers_match_the_spec(spec: OpenAPISpec, brevo: Any, account: dict[str, Any], method: str,
                                template: str, path: str, status: int, kwargs: dict[str, Any]) -> None:
    check(spec, brevo, method, template, path, status, **kwargs)


def test_company_operations_match_the_spec(spec: OpenAPISpec, brevo: Any, account: dict[str, Any]) -> None:
    company = account["company"]
    check(spec, brevo, "GET", "/companies/{id}", f"/companies/{company}", 200)
    check(spec, brevo, "GET", "/companies/{id}", "/companies/" + "0" * 24, 404)
    check(spec, brevo, "PATCH", "/companies/{id}", f"/companies/{company}", 200, json={"name": "Acme Inc"})
    check(spec, brevo, "PATCH", "/companies/link-unlink/{id}", f"/companies/link-unlink/{company}", 204,
          json={"linkContactIds": [2]})
    check(spec, brevo, "DELETE", "/companies/{id}", f"/companies/{company}", 204)


def test_completed_import_with_reports_matches_the_spec(spec: OpenAPISpec, brevo: Any,
                                                        account: dict[str, Any]) -> None:
    body = check(spec, brevo, "GET", "/processes/{processId}", f"/processes/{account['process']}", 200)
    assert body["status"] == "completed"
    assert body["info"]["import"]["invalid_emails"].endswith("/invalid_emails.csv")


def test_the_running_status_of_the_2026_spec_is_configurable(spec: OpenAPISpec, start_brevo: Any) -> None:
    """Brevo still answers the legacy ``in_process`` (research §2) though the 2026 spec lists only
    ``processing``; a sandbox set to ``processing`` matches the spec in that state too."""
    brevo = start_brevo(BrevoConfig(import_delay_s=30, limits_enabled=False, process_running_status="processing"))
    brevo.seed_list(2)
    process_id = brevo.api("POST", "/contacts/import", json={"listIds": [2], "jsonBody": [{"email": "a@x.io"}]})
    queued = check(spec, brevo, "GET", "/processes/{processId}", f"/processes/{process_id.json()['processId']}", 200)
    assert queued["status"] == "queued"
    with pytest.raises(AssertionError):
        spec.validate_response("GET", "/processes/{processId}", 200, {"id": 1, "name": "IMPORTUSER",
                                                                      "status": "in_process"})
