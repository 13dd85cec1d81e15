"""The query plan of v2 lists against a brute-force reference, on random tables (no HTTP).

Whatever plan ``read_page`` picks (scan an index, or gather candidates), following the cursor to
the end must yield exactly the records a filter-then-sort over the whole table yields.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.pipedrive import times
from sandbox.pipedrive.listing import ListQuery, read_page
from sandbox.pipedrive.table import EntityTable

BASE = datetime(2026, 1, 1, tzinfo=UTC).timestamp()


def stamp(minutes: int) -> str:
    return times.v2_timestamp(BASE + 60 * minutes)


records_strategy = st.lists(
    st.fixed_dictionaries({
        "update": st.integers(0, 30), "add": st.integers(0, 30), "org_id": st.sampled_from([None, 1, 2, 3]),
        "deleted": st.booleans(), "due": st.sampled_from([None, "2026-01-01", "2026-02-01", "2026-03-01"])}),
    min_size=3, max_size=40)


def build(raw: list[dict[str, Any]]) -> EntityTable:
    table = EntityTable("activities", sort_fields=("id", "update_time", "add_time", "due_date"), ref_fields=("org_id",))
    table.load([{"id": i + 1, "update_time": stamp(r["update"]), "add_time": stamp(r["add"]), "org_id": r["org_id"],
                 "is_deleted": r["deleted"], "due_date": r["due"]} for i, r in enumerate(raw)])
    return table


def scan_all(table: EntityTable, query: ListQuery) -> list[int]:
    found: list[int] = []
    while True:
        page, cursor = read_page(table, query)
        assert len(page) <= query.limit
        found += [r["id"] for r in page]
        if cursor is None:
            return found
        query.cursor = cursor


def reference(table: EntityTable, query: ListQuery) -> list[int]:
    def passes(r: dict[str, Any]) -> bool:
        moment = EntityTable.key("update_time", r)
        return ((query.ids is None or r["id"] in query.ids)
                and all(r.get(k) == v for k, v in query.equals.items())
                and (query.since is None or moment >= query.since)
                and (query.until is None or moment < query.until)
                and query.keep(r))

    rows = sorted((r for r in table.records.values() if passes(r)),
                  key=lambda r: (EntityTable.key(query.sort_by, r), r["id"]), reverse=query.descending)
    return [r["id"] for r in rows]


@settings(max_examples=300, deadline=None)
@given(raw=records_strategy, sort_by=st.sampled_from(["id", "update_time", "add_time", "due_date"]),
       descending=st.booleans(), limit=st.integers(1, 4),
       since=st.one_of(st.none(), st.integers(0, 30)), until=st.one_of(st.none(), st.integers(0, 31)),
       org=st.one_of(st.none(), st.sampled_from([1, 2, 3])),
       ids=st.one_of(st.none(), st.sets(st.integers(1, 45), min_size=1, max_size=20)), live_only=st.booleans())
def test_every_plan_matches_filter_then_sort(raw: list[dict[str, Any]], sort_by: str, descending: bool, limit: int,
                                             since: int | None, until: int | None, org: int | None,
                                             ids: set[int] | None, live_only: bool) -> None:
    table = build(raw)

    def query() -> ListQuery:
        return ListQuery(sort_by=sort_by, descending=descending, limit=limit,
                         since=None if since is None else BASE + 60 * since,
                         until=None if until is None else BASE + 60 * until,
                         ids=ids, equals={} if org is None else {"org_id": org},
                         keep=(lambda r: not r["is_deleted"]) if live_only else (lambda r: True))

    assert scan_all(table, query()) == reference(table, query())


@settings(max_examples=100, deadline=None)
@given(raw=records_strategy, limit=st.integers(1, 5), late=st.lists(st.integers(0, 40), max_size=5))
def test_updates_between_pages_never_duplicate_or_skip_untouched_records(raw: list[dict[str, Any]], limit: int,
                                                                         late: list[int]) -> None:
    """Records inserted mid-scan may or may not be seen; every record present throughout is seen once."""
    table = build(raw)
    query = ListQuery(sort_by="update_time", limit=limit)
    page, cursor = read_page(table, query)
    seen = [r["id"] for r in page]
    for n, minutes in enumerate(late, start=1000):
        table.put({"id": n, "update_time": stamp(minutes), "add_time": stamp(0), "org_id": None,
                   "is_deleted": False, "due_date": None})
    while cursor is not None:
        query.cursor = cursor
        page, cursor = read_page(table, query)
        seen += [r["id"] for r in page]
    assert len(seen) == len(set(seen))
    assert set(range(1, len(raw) + 1)) <= set(seen)


def test_put_moves_a_record_in_every_index() -> None:
    table = build([{"update": 5, "add": 1, "org_id": 1, "deleted": False, "due": None},
                   {"update": 6, "add": 2, "org_id": 2, "deleted": False, "due": None}])
    table.put({**table.get(1), "update_time": stamp(9), "org_id": 2})
    assert [r["id"] for r in table.scan("update_time", False)] == [2, 1]
    assert table.with_ref("org_id", 1) == set() and table.with_ref("org_id", 2) == {1, 2}
    assert table.count_between("update_time", BASE + 60 * 6, BASE + 60 * 9) == 1
    assert table.max_id() == 2
