from __future__ import annotations

import pandas as pd

from pipedrive_brevo.snapshots import (
    changed_ids,
    max_update_time,
    merge,
    page_frame,
    records_frame,
)


def person(pid, updated, name, **extra):
    return {"id": pid, "update_time": updated, "name": name, "emails": [{"value": f"{name}@x.example"}], **extra}


def test_latest_update_wins_and_ties_go_to_the_later_page():
    snap = merge(None, [page_frame([person(1, "2026-11-01T00:00:00Z", "old"), person(2, "2026-11-01T00:00:00Z", "b")])])
    later = page_frame([person(1, "2026-11-02T00:00:00Z", "new"), person(2, "2026-11-01T00:00:00Z", "b2")])
    stale = page_frame([person(1, "2026-10-01T00:00:00Z", "stale")])  # an older version read afterwards
    merged = merge(snap, [later, stale])
    names = dict(zip(merged["id"], records_frame(merged)["name"], strict=True))
    assert names == {"1": "new", "2": "b2"}


def test_deleted_listing_marks_records_and_nested_values_survive():
    deals = page_frame([{"id": 7, "update_time": "2026-11-01T00:00:00Z", "status": "won"}], deleted=True)
    assert deals["is_deleted"].tolist() == [True]
    p = person(3, "2026-11-01T00:00:00Z", "Zoë", custom_fields={"a" * 40: [1, 2]})
    frame = records_frame(merge(None, [page_frame([p])]))
    assert frame.loc[0, "emails"] == [{"value": "Zoë@x.example"}] and frame.loc[0, "custom_fields"] == {"a" * 40: [1, 2]}


def test_v1_and_v2_times_sort_together():
    lead_new = {"id": "u-1", "update_time": "2026-11-01T10:00:00.551Z"}
    lead_old = {"id": "u-1", "update_time": "2026-11-01T10:00:00Z"}
    merged = merge(None, [page_frame([lead_new]), page_frame([lead_old])])
    assert merged["update_time"].tolist() == ["2026-11-01T10:00:00.551Z"]


def test_changed_ids_and_watermark_helpers():
    before = merge(None, [page_frame([person(1, "2026-11-01T00:00:00Z", "a"), person(2, "2026-11-01T00:00:00Z", "b")])])
    after = merge(before, [page_frame([person(2, "2026-11-03T00:00:00Z", "b2"), person(3, "2026-11-02T00:00:00Z", "c")])])
    assert sorted(changed_ids(before, after)) == ["2", "3"]
    assert max_update_time([page_frame([person(9, "2026-11-05T00:00:00Z", "z")]), page_frame([])]) == "2026-11-05T00:00:00.000Z"
    assert merge(None, []).columns.tolist() == ["id", "update_time", "is_deleted", "record"]
    assert isinstance(records_frame(after), pd.DataFrame)
