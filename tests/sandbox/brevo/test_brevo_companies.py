"""CRM companies in the Brevo sandbox: create, links, replace-on-PATCH, filters, CSV import."""

from __future__ import annotations

import json
from typing import Any

import pytest


@pytest.fixture
def crm(brevo: Any) -> Any:
    """Contacts 1..3 and a custom company attribute ``pipedrive_org_id``."""
    for i in (1, 2, 3):
        brevo.api("POST", "/contacts", json={"email": f"c{i}@x.io"})
    response = brevo.api("POST", "/crm/attributes", json={"label": "Pipedrive org id", "attributeType": "text",
                                                          "objectType": "companies"})
    assert response.status_code == 200
    assert len(response.json()["id"]) == 24
    return brevo


def create(brevo: Any, **body: Any) -> str:
    response = brevo.api("POST", "/companies", json=body)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def test_create_and_get(crm: Any) -> None:
    company_id = create(crm, name="Acme", attributes={"pipedrive_org_id": "42", "unknown_attr": "x"},
                        linkedContactsIds=[1, 2, 99])
    assert len(company_id) == 24 and all(ch in "0123456789abcdef" for ch in company_id)
    got = crm.api("GET", f"/companies/{company_id}").json()
    assert got["id"] == company_id
    assert got["linkedContactsIds"] == [1, 2]  # an unknown contact is not linked
    assert got["attributes"]["name"] == "Acme"
    assert got["attributes"]["pipedrive_org_id"] == "42"
    assert "unknown_attr" not in got["attributes"]


def test_patch_replaces_links_and_link_unlink_adds_and_removes(crm: Any) -> None:
    company_id = create(crm, name="Acme", linkedContactsIds=[1, 2])
    patched = crm.api("PATCH", f"/companies/{company_id}", json={"linkedContactsIds": [3]})
    assert patched.status_code == 200
    assert patched.json()["linkedContactsIds"] == [3]
    response = crm.api("PATCH", f"/companies/link-unlink/{company_id}",
                       json={"linkContactIds": [1, 2], "unlinkContactIds": [3]})
    assert response.status_code == 204
    assert crm.api("GET", f"/companies/{company_id}").json()["linkedContactsIds"] == [1, 2]


def test_crm_errors(crm: Any) -> None:
    bad_id = crm.api("GET", "/companies/not-an-id")
    assert (bad_id.status_code, bad_id.json()) == (400, {"code": "bad_request",
                                                         "message": "Route company id is not valid."})
    missing = crm.api("GET", "/companies/" + "0" * 24)
    assert (missing.status_code, missing.json()) == (404, {"message": "Document not found"})
    no_name = crm.api("POST", "/companies", json={"attributes": {}})
    assert no_name.status_code == 400
    assert no_name.json() == {"code": "bad_request", "message": "name is required"}
    company_id = create(crm, name="Acme")
    empty_name = crm.api("PATCH", f"/companies/{company_id}", json={"name": ""})
    assert empty_name.status_code == 400
    duplicate = crm.api("POST", "/crm/attributes", json={"label": "Pipedrive org id", "attributeType": "text",
                                                         "objectType": "companies"})
    assert duplicate.status_code == 400


def test_list_filters_and_pages(crm: Any) -> None:
    ids = [create(crm, name=f"Co{i}", attributes={"pipedrive_org_id": str(i)}, linkedContactsIds=[i])
           for i in (1, 2, 3)]
    newest_first = crm.api("GET", "/companies").json()["items"]
    assert [c["id"] for c in newest_first] == ids[::-1]
    by_attribute = crm.api("GET", "/companies", params={"filters[attributes.pipedrive_org_id]": "2"}).json()
    assert [c["id"] for c in by_attribute["items"]] == [ids[1]]
    legacy = crm.api("GET", "/companies", params={"filters": json.dumps({"attributes.pipedrive_org_id": "3"})})
    assert [c["id"] for c in legacy.json()["items"]] == [ids[2]]
    dropped = crm.api("GET", "/companies", params={"filters[attributes.no_such]": "2"}).json()
    assert len(dropped["items"]) == 3  # Brevo drops an unknown filter silently
    by_contact = crm.api("GET", "/companies", params={"linkedContactsIds": 1}).json()
    assert [c["id"] for c in by_contact["items"]] == [ids[0]]
    page = crm.api("GET", "/companies", params={"page": 2, "limit": 2, "sort": "asc"}).json()
    assert [c["id"] for c in page["items"]] == [ids[2]]


def test_delete(crm: Any) -> None:
    company_id = create(crm, name="Acme")
    assert crm.api("DELETE", f"/companies/{company_id}").status_code == 204
    assert crm.api("GET", f"/companies/{company_id}").status_code == 404


def test_csv_import_creates_updates_and_links(crm: Any) -> None:
    existing = create(crm, name="Old name", linkedContactsIds=[3])
    csv_text = ("name,pipedrive_org_id,company_id,associated_contact\n"
                "New Co,10,,c1@x.io|2\n"
                f"Renamed,11,{existing},1\n"
                ",12,,\n")
    response = crm.api("POST", "/companies/import",
                       files={"file": ("companies.csv", csv_text, "text/csv")},
                       data={"mapping": json.dumps({"link_entities": True, "update_existing_records": True})})
    assert response.status_code == 200
    process = crm.wait_process(response.json()["processId"])
    assert process["status"] == "completed"
    companies = {c["attributes"]["name"]: c for c in crm.admin("GET", "/brevo/companies").json()["companies"]}
    assert sorted(companies) == ["New Co", "Renamed"]  # the row without a name creates nothing
    assert companies["New Co"]["linkedContactsIds"] == [1, 2]
    assert companies["New Co"]["attributes"]["pipedrive_org_id"] == "10"
    assert companies["Renamed"]["id"] == existing
    assert companies["Renamed"]["linkedContactsIds"] == [3, 1]
    figures = crm.admin("GET", "/brevo/processes").json()["processes"][-1]["figures"]
    assert figures == {"created": 1, "updated": 1, "failed": 1}


def test_company_attributes_list(crm: Any) -> None:
    attributes = crm.api("GET", "/crm/attributes/companies").json()
    names = [a["internalName"] for a in attributes]
    assert names[0] == "name"
    assert "pipedrive_org_id" in names
