"""v2 lists on the hand-built account: paging, windows, sorting, filters, visibility, opt-in fields.

Expected ids are worked out from ``conftest.small_account`` (read its docstring first).
"""

from __future__ import annotations

import base64
import json

import pytest

from tests.sandbox.pipedrive.conftest import (
    INTERESTS,
    NOTE,
    SOURCE,
    Pipedrive,
    person,
    ts,
)

ERROR_INFO = "Please check developers.pipedrive.com"


def ids(records: list[dict]) -> list:
    return [r["id"] for r in records]


def decode(cursor: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))


# ------------------------------------------------------------------ paging
def test_cursor_pages_are_complete_and_the_cursor_names_the_next_first_record(pd: Pipedrive) -> None:
    first = pd.ok("/api/v2/persons", params={"limit": 2})
    assert ids(first["data"]) == [1, 2]
    assert decode(first["additional_data"]["next_cursor"]) == {
        "field": "id", "fieldValue": 3, "sortDirection": "asc", "id": 3}
    second = pd.ok("/api/v2/persons", params={"limit": 2, "cursor": first["additional_data"]["next_cursor"]})
    assert ids(second["data"]) == [3, 4]
    third = pd.ok("/api/v2/persons", params={"limit": 2, "cursor": second["additional_data"]["next_cursor"]})
    assert ids(third["data"]) == [6]
    assert third["additional_data"]["next_cursor"] is None


def test_default_limit_is_100_and_an_exact_last_page_ends_with_null(pd: Pipedrive) -> None:
    body = pd.ok("/api/v2/persons")
    assert ids(body["data"]) == [1, 2, 3, 4, 6]
    assert body["additional_data"]["next_cursor"] is None
    exact = pd.ok("/api/v2/persons", params={"limit": 5})
    assert len(exact["data"]) == 5 and exact["additional_data"]["next_cursor"] is None


def test_inserts_during_a_scan_neither_duplicate_nor_skip(pd: Pipedrive) -> None:
    query = {"limit": 2, "sort_by": "update_time"}
    first = pd.ok("/api/v2/persons", params=query)
    assert ids(first["data"]) == [1, 6]  # 1 and 6 share an update_time: ties go by id
    # Meanwhile: one person lands before the cursor (an offset would now skip one), two after it.
    added = pd.admin("POST", "/records/persons", json=[
        person(9, "Early Bird", org_id=1, update_time="2025-06-01T00:00:00Z"),
        person(7, "Gus Late", org_id=1, update_time=ts(20)),
        person(8, "Hal Later", org_id=2, update_time=ts(21))])
    assert added.status_code == 200, added.text
    rest = []
    cursor = first["additional_data"]["next_cursor"]
    while cursor:
        body = pd.ok("/api/v2/persons", params={**query, "cursor": cursor})
        rest += ids(body["data"])
        cursor = body["additional_data"]["next_cursor"]
    assert rest == [2, 3, 4, 7, 8]


def test_full_scan_in_every_sort_returns_each_visible_person_once(pd: Pipedrive) -> None:
    expected = {
        ("id", "asc"): [1, 2, 3, 4, 6],
        ("id", "desc"): [6, 4, 3, 2, 1],
        ("update_time", "asc"): [1, 6, 2, 3, 4],
        ("update_time", "desc"): [4, 3, 2, 6, 1],
        ("add_time", "asc"): [1, 2, 3, 4, 6],  # all share add_time: id breaks the tie
    }
    for (sort_by, direction), order in expected.items():
        assert ids(pd.scan("/api/v2/persons", limit=2, sort_by=sort_by, sort_direction=direction)) == order


# ----------------------------------------------------------------- windows
def test_updated_since_is_inclusive_and_updated_until_exclusive(pd: Pipedrive) -> None:
    window = {"updated_since": ts(1), "updated_until": ts(3)}  # [Jan 1 10:00, Jan 3 10:00)
    assert ids(pd.scan("/api/v2/persons", **window)) == [1, 2, 6]
    assert ids(pd.scan("/api/v2/persons", sort_by="update_time", limit=1, **window)) == [1, 6, 2]
    assert ids(pd.scan("/api/v2/persons", updated_since=ts(3))) == [3, 4]  # Jan 3 10:00 itself is in
    assert ids(pd.scan("/api/v2/persons", updated_until=ts(1))) == []  # Jan 1 10:00 itself is out


def test_window_accepts_any_rfc3339_offset(pd: Pipedrive) -> None:
    # 11:00+01:00 is 10:00Z: the same inclusive bound as above.
    assert ids(pd.scan("/api/v2/persons", updated_since="2026-01-03T11:00:00+01:00")) == [3, 4]


# ----------------------------------------------------------------- filters
@pytest.mark.parametrize(("query", "expected"), [
    ({"ids": "6,5,1,99"}, [1, 6]),  # deleted 5 and unknown 99 left out
    ({"owner_id": 2}, [2]),
    ({"org_id": 2}, [3, 4]),
    ({"deal_id": 6}, [2]),
    ({"deal_id": 1, "ids": "2,3"}, []),
    ({"org_id": 1, "updated_since": ts(2)}, [2]),
    ({"updated_snce": ts(30), "bogus": "x"}, [1, 2, 3, 4, 6]),  # unknown parameters are ignored
])
def test_person_filters(pd: Pipedrive, query: dict, expected: list[int]) -> None:
    assert ids(pd.scan("/api/v2/persons", **query)) == expected


@pytest.mark.parametrize(("path", "query", "expected"), [
    ("/api/v2/deals", {}, [1, 2, 3, 6]),  # archived 4 and deleted 5 are not listed
    ("/api/v2/deals", {"status": "won"}, [2]),
    ("/api/v2/deals", {"status": "open,lost"}, [1, 3, 6]),
    ("/api/v2/deals", {"status": "deleted"}, [5]),
    ("/api/v2/deals", {"status": "won,deleted"}, [2, 5]),
    ("/api/v2/deals", {"person_id": 1}, [1, 2, 3]),
    ("/api/v2/deals", {"stage_id": 2, "pipeline_id": 1}, [6]),
    ("/api/v2/deals/archived", {}, [4]),
    ("/api/v2/deals/archived", {"status": "open"}, []),
    ("/api/v2/organizations", {}, [1, 2]),
    ("/api/v2/activities", {}, [1, 2, 3, 5]),
    ("/api/v2/activities", {"done": "true"}, [1, 5]),
    ("/api/v2/activities", {"done": "false"}, [2, 3]),
    ("/api/v2/activities", {"deal_id": 1}, [1, 2]),
    ("/api/v2/activities", {"person_id": 2}, [5]),
    ("/api/v2/activities", {"sort_by": "due_date"}, [1, 5, 3, 2]),
])
def test_entity_lists_filters_and_visibility(pd: Pipedrive, path: str, query: dict, expected: list[int]) -> None:
    assert ids(pd.scan(path, **query)) == expected


def test_single_reads_include_deleted_and_archived_records(pd: Pipedrive) -> None:
    assert pd.ok("/api/v2/persons/5")["data"]["is_deleted"] is True
    assert pd.ok("/api/v2/deals/4")["data"]["is_archived"] is True
    assert pd.ok("/api/v2/activities/4")["data"]["is_deleted"] is True
    missing = pd.get("/api/v2/persons/99")
    assert missing.status_code == 404
    assert missing.json() == {"success": False, "error": "Entity was not found", "error_info": "Object was not found.",
                              "data": None, "additional_data": None}


# -------------------------------------------------------- opt-in fields
def test_include_fields_counts_are_computed_from_the_data(pd: Pipedrive) -> None:
    counts = ("open_deals_count,won_deals_count,lost_deals_count,closed_deals_count,activities_count,"
              "done_activities_count,undone_activities_count,next_activity_id,last_activity_id")
    ada, bob = pd.ok("/api/v2/persons", params={"ids": "1,2", "include_fields": counts})["data"]
    assert {k: ada[k] for k in counts.split(",")} == {
        "open_deals_count": 1, "won_deals_count": 2, "lost_deals_count": 1, "closed_deals_count": 3,
        "activities_count": 3, "done_activities_count": 1, "undone_activities_count": 2,
        "next_activity_id": 3, "last_activity_id": 1}
    assert {k: bob[k] for k in counts.split(",")} == {
        "open_deals_count": 1, "won_deals_count": 0, "lost_deals_count": 0, "closed_deals_count": 0,
        "activities_count": 1, "done_activities_count": 1, "undone_activities_count": 0,
        "next_activity_id": None, "last_activity_id": 5}
    assert "won_deals_count" not in pd.ok("/api/v2/persons/1")["data"]  # opt-in only


def test_organization_and_deal_counts(pd: Pipedrive) -> None:
    acme, globex = pd.ok("/api/v2/organizations", params={
        "include_fields": "people_count,open_deals_count,won_deals_count,lost_deals_count"})["data"]
    assert (acme["people_count"], acme["open_deals_count"], acme["won_deals_count"], acme["lost_deals_count"]) == (
        3, 2, 2, 1)
    assert (globex["people_count"], globex["open_deals_count"]) == (2, 0)
    deal = pd.ok("/api/v2/deals/1", params={
        "include_fields": "activities_count,done_activities_count,next_activity_id,participants_count"})["data"]
    assert (deal["activities_count"], deal["done_activities_count"], deal["next_activity_id"],
            deal["participants_count"]) == (2, 1, 2, 1)


def test_custom_fields_selection_and_option_labels(pd: Pipedrive) -> None:
    only = pd.ok("/api/v2/persons/1", params={"custom_fields": SOURCE})["data"]
    assert only["custom_fields"] == {SOURCE: 1}
    labelled = pd.ok("/api/v2/persons/1", params={"include_option_labels": "true", "include_labels": "true"})["data"]
    assert labelled["custom_fields"] == {
        SOURCE: {"id": 1, "label": "Inbound"},
        INTERESTS: [{"id": 10, "label": "Email"}, {"id": 11, "label": "Phone"}],
        NOTE: "vip"}
    assert labelled["labels"] == [{"id": 1, "label": "Customer"}]
    plain = pd.ok("/api/v2/persons/1")["data"]
    assert plain["custom_fields"] == {SOURCE: 1, INTERESTS: [10, 11], NOTE: "vip"}


def test_opt_in_fields_stored_on_a_record_show_only_when_asked(pd: Pipedrive) -> None:
    patched = pd.call("PATCH", "/api/v2/persons/2", json={"marketing_status": "subscribed"})
    assert patched.status_code == 200, patched.text
    assert "marketing_status" not in patched.json()["data"]
    shown = pd.ok("/api/v2/persons/2", params={"include_fields": "marketing_status"})["data"]
    assert shown["marketing_status"] == "subscribed"


# ---------------------------------------------------------- pipelines etc.
def test_pipelines_stages_and_fields(pd: Pipedrive) -> None:
    assert ids(pd.scan("/api/v2/pipelines")) == [1]
    assert ids(pd.scan("/api/v2/stages", pipeline_id=1, sort_by="order_nr", sort_direction="desc")) == [5, 4, 3, 2, 1]
    assert pd.scan("/api/v2/stages", pipeline_id=2) == []
    pages = []
    cursor = None
    while True:
        body = pd.ok("/api/v2/personFields", params={"limit": 5, **({"cursor": cursor} if cursor else {})})
        pages.append(body["data"])
        cursor = body["additional_data"]["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [5, 5, 5]  # 12 built-in + 3 custom
    codes = [f["field_code"] for page in pages for f in page]
    assert codes[-3:] == [SOURCE, INTERESTS, NOTE]
    assert all("ui_visibility" not in f for page in pages for f in page)
    with_ui = pd.ok("/api/v2/personFields", params={"include_fields": "ui_visibility"})["data"]
    assert with_ui[-1]["ui_visibility"] == {"add_visible_flag": True, "details_visible_flag": True}


# ------------------------------------------------------------- bad values
@pytest.mark.parametrize("query", [
    {"limit": 501}, {"limit": 0}, {"limit": "ten"},
    {"updated_since": "2026-01-01"}, {"updated_until": "yesterday"}, {"updated_since": "2026-01-01 10:00:00"},
    {"sort_by": "name"}, {"sort_direction": "up"},
    {"ids": ",".join(str(i) for i in range(1, 102))}, {"ids": "1,x"},
    {"include_fields": "won_deals_count,shoe_size"},
    {"custom_fields": ",".join(f"{i:040d}" for i in range(16))},
    {"include_option_labels": "yes"},
    {"owner_id": "me"},
    {"cursor": "not-a-cursor"},
])
def test_invalid_values_answer_400_in_pipedrive_shape(pd: Pipedrive, query: dict) -> None:
    response = pd.get("/api/v2/persons", params=query)
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False and body["error"] and body["error_info"] == ERROR_INFO
    assert body["data"] is None and body["additional_data"] is None


def test_a_cursor_is_bound_to_its_sort(pd: Pipedrive) -> None:
    cursor = pd.ok("/api/v2/persons", params={"limit": 1})["additional_data"]["next_cursor"]
    assert pd.get("/api/v2/persons", params={"limit": 1, "cursor": cursor, "sort_by": "update_time"}).status_code == 400
    assert pd.get("/api/v2/persons", params={"cursor": cursor, "sort_direction": "desc"}).status_code == 400


@pytest.mark.parametrize(("sort_by", "value", "id_"), [
    ("update_time", 5, 1), ("update_time", "last week", 1), ("id", "x", "x"), ("id", 3, "3"), ("id", True, True)])
def test_hand_made_cursors_that_decode_but_do_not_fit_answer_400(pd: Pipedrive, sort_by: str, value: object,
                                                                 id_: object) -> None:
    raw = json.dumps({"field": sort_by, "fieldValue": value, "sortDirection": "asc", "id": id_}).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    response = pd.get("/api/v2/persons", params={"sort_by": sort_by, "cursor": cursor})
    assert response.status_code == 400
    assert response.json()["error"] == "Validation failed: cursor: Invalid cursor"


def test_a_hand_made_cursor_that_fits_resumes_there(pd: Pipedrive) -> None:
    raw = json.dumps({"field": "update_time", "fieldValue": ts(2), "sortDirection": "asc", "id": 0}).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert ids(pd.ok("/api/v2/persons", params={"sort_by": "update_time", "cursor": cursor})["data"]) == [2, 3, 4]


@pytest.mark.parametrize(("path", "query"), [
    ("/api/v2/deals", {"status": "archived"}),
    ("/api/v2/activities", {"done": "1"}),
    ("/api/v2/activities", {"sort_by": "subject"}),
    ("/api/v2/persons/abc", {}),
])
def test_invalid_values_on_other_endpoints(pd: Pipedrive, path: str, query: dict) -> None:
    assert pd.get(path, params=query).status_code == 400


def test_the_fake_clock_is_the_servers_now(pd: Pipedrive) -> None:
    pd.call("PATCH", "/api/v2/persons/3", json={"name": "Cy Renamed"})
    assert pd.ok("/api/v2/persons/3")["data"]["update_time"] == "2026-03-01T12:00:00Z"
