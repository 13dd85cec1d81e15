"""Lists, folders and list membership in chunks (add/remove) in the Brevo sandbox."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def members(brevo: Any) -> Any:
    """Three contacts, a@ (ext 1), b@ (ext 2), c@ (ext 3), and list 10 holding a@ only."""
    brevo.seed_list(10, "Customers")
    brevo.api("POST", "/contacts", json={"email": "a@x.io", "ext_id": "1", "listIds": [10]})
    brevo.api("POST", "/contacts", json={"email": "b@x.io", "ext_id": "2"})
    brevo.api("POST", "/contacts", json={"email": "c@x.io", "ext_id": "3"})
    return brevo


def add(brevo: Any, body: dict[str, Any], list_id: int = 10) -> Any:
    return brevo.api("POST", f"/contacts/lists/{list_id}/contacts/add", json=body)


def remove(brevo: Any, body: dict[str, Any], list_id: int = 10) -> Any:
    return brevo.api("POST", f"/contacts/lists/{list_id}/contacts/remove", json=body)


def test_add_reports_success_and_failure(members: Any) -> None:
    response = add(members, {"emails": ["a@x.io", "b@x.io", "ghost@x.io"]})
    assert response.status_code == 201
    assert response.json() == {"contacts": {"success": ["b@x.io"], "failure": ["a@x.io", "ghost@x.io"], "total": 3}}
    assert members.contact("b@x.io")["listIds"] == [10]


def test_add_by_ids_and_ext_ids(members: Any) -> None:
    assert add(members, {"ids": [2]}).json() == {"contacts": {"success": [2], "total": 1}}
    assert add(members, {"extIds": ["3"]}).json()["contacts"]["success"] == ["3"]
    listed = members.api("GET", "/contacts/lists/10/contacts", params={"sort": "asc"}).json()
    assert [c["id"] for c in listed["contacts"]] == [1, 2, 3]
    assert listed["count"] == 3


def test_when_nothing_changes_brevo_answers_400(members: Any) -> None:
    already = add(members, {"emails": ["a@x.io", "ghost@x.io"]})
    assert already.status_code == 400
    assert already.json() == {"code": "invalid_parameter", "message": "Contact already in list and/or doesn't exist"}
    gone = remove(members, {"ids": [2, 99]})
    assert gone.status_code == 400
    assert gone.json() == {"code": "invalid_parameter",
                           "message": "Contact already removed from list and/or does not exist"}


def test_remove_and_remove_all(members: Any) -> None:
    add(members, {"ids": [2, 3]})
    response = remove(members, {"extIds": ["1", "9"]})
    assert response.status_code == 201
    assert response.json()["contacts"] == {"success": ["1"], "failure": ["9"], "total": 2}
    everyone = remove(members, {"all": True})
    assert everyone.status_code == 201
    assert isinstance(everyone.json()["contacts"]["processId"], int)
    assert all(c["listIds"] == [] for c in members.contacts())


@pytest.mark.parametrize("body", [
    {"emails": []},
    {"emails": [f"p{i}@x.io" for i in range(151)]},
    {"emails": ["a@x.io"], "ids": [1]},
    {},
    {"ids": ["1"]},
    {"all": True},  # only remove takes "all"
])
def test_chunk_rules(members: Any, body: dict[str, Any]) -> None:
    response = add(members, body)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameter"


def test_150_is_the_largest_chunk(members: Any) -> None:
    emails = [f"p{i}@x.io" for i in range(150)]
    for email in emails:
        members.api("POST", "/contacts", json={"email": email})
    response = add(members, {"emails": emails})
    assert response.status_code == 201
    assert len(response.json()["contacts"]["success"]) == 150


def test_unknown_list(members: Any) -> None:
    response = add(members, {"ids": [1]}, list_id=999)
    assert response.status_code == 404
    assert response.json() == {"code": "document_not_found", "message": "List ID does not exist"}
    assert members.api("GET", "/contacts/lists/999").status_code == 404
    assert members.api("GET", "/contacts/lists/abc").status_code == 400


def test_list_crud_and_counts(brevo: Any) -> None:
    created = brevo.api("POST", "/contacts/lists", json={"name": "Leads", "folderId": 1})
    assert created.status_code == 201
    list_id = created.json()["id"]
    brevo.api("POST", "/contacts", json={"email": "a@x.io", "listIds": [list_id]})
    got = brevo.api("GET", f"/contacts/lists/{list_id}").json()
    assert (got["name"], got["folderId"], got["uniqueSubscribers"]) == ("Leads", 1, 1)
    assert brevo.api("PUT", f"/contacts/lists/{list_id}", json={"name": "Hot leads"}).status_code == 204
    listed = brevo.api("GET", "/contacts/lists").json()
    assert listed["count"] == 1
    assert listed["lists"][0]["name"] == "Hot leads"
    assert brevo.api("DELETE", f"/contacts/lists/{list_id}").status_code == 204
    assert brevo.contact("a@x.io")["listIds"] == []
    assert brevo.api("GET", "/contacts/lists", params={"limit": 51}).status_code == 400


def test_create_list_needs_name_and_existing_folder(brevo: Any) -> None:
    no_name = brevo.api("POST", "/contacts/lists", json={"folderId": 1})
    assert no_name.json() == {"code": "missing_parameter", "message": "List name is missing"}
    assert brevo.api("POST", "/contacts/lists", json={"name": "X", "folderId": 42}).status_code == 400


def test_seeded_list_keeps_its_id_and_new_ids_follow(brevo: Any) -> None:
    brevo.seed_list(40, "Mapped")
    created = brevo.api("POST", "/contacts/lists", json={"name": "New", "folderId": 1}).json()
    assert created == {"id": 41}


def test_folders(brevo: Any) -> None:
    folders = brevo.api("GET", "/contacts/folders").json()
    assert folders["count"] == 1
    assert folders["folders"][0]["id"] == 1
    folder_id = brevo.api("POST", "/contacts/folders", json={"name": "Sync"}).json()["id"]
    assert folder_id == 2
    brevo.api("POST", "/contacts/lists", json={"name": "In sync", "folderId": folder_id})
    lists = brevo.api("GET", f"/contacts/folders/{folder_id}/lists").json()
    assert [cl["name"] for cl in lists["lists"]] == ["In sync"]
    assert brevo.api("GET", "/contacts/folders/9/lists").status_code == 404
