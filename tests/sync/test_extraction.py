"""Extraction into raw pages and snapshots, against the Pipedrive sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipedrive_brevo.extraction import (
    STREAMS,
    extract_entity,
    extract_reference,
    merge_entity,
    read_watermark,
)
from pipedrive_brevo.hooks.pipedrive import PipedriveHook
from pipedrive_brevo.snapshots import records_frame
from pipedrive_brevo.storage import DataLocation
from pipedrive_brevo.windows import extraction_window
from sandbox.generator import generate_account
from tests.support.sandboxes import FAST_RETRY

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def account():
    return generate_account(300, seed=3, now=NOW - timedelta(hours=1))


def windows_for(store, entity, run_after, **params):
    return {s.name: extraction_window(run_after=run_after, watermark=read_watermark(store, s.name), **params)
            for s in STREAMS[entity]}


def run(hook, store, entity, run_id, run_after=NOW, **params):
    extraction = extract_entity(hook, store, entity, windows_for(store, entity, run_after, **params), run_id)
    return extraction, merge_entity(store, extraction)


def test_full_then_incremental_run_reads_only_the_change(pipedrive, tmp_path, account):
    sandbox = pipedrive(account)
    store, hook = DataLocation(str(tmp_path)), PipedriveHook(retry=FAST_RETRY)
    live = [p for p in account.persons if not p.get("is_deleted")]

    extraction, merged = run(hook, store, "persons", "run_1")
    assert extraction["complete"] and extraction["records"] == len(live)
    assert merged["snapshot_size"] == len(live)
    assert read_watermark(store, "persons") == NOW - timedelta(minutes=2)

    # A person changes after the first window; the next run reads it and nothing else.
    sandbox.admin("POST", "/records/persons", {"id": live[0]["id"], "name": "Renamed Person",
                                               "update_time": "2026-11-24T10:30:00Z"})
    extraction, merged = run(hook, store, "persons", "run_2", run_after=NOW + timedelta(hours=1))
    assert extraction["records"] == 1 and merged["changed"] == 1
    snapshot = records_frame(store.read_parquet("snapshots/persons.parquet"))
    assert snapshot.loc[snapshot["id"] == live[0]["id"], "name"].item() == "Renamed Person"
    assert len(snapshot) == len(live)


def test_deals_come_from_three_streams_and_keep_their_previous_version(pipedrive, tmp_path, account):
    pipedrive(account)
    store, hook = DataLocation(str(tmp_path)), PipedriveHook(retry=FAST_RETRY)
    extraction, merged = run(hook, store, "deals", "run_1")
    deleted = sum(1 for d in account.deals if d.get("is_deleted"))
    archived = sum(1 for d in account.deals if d.get("is_archived") and not d.get("is_deleted"))
    assert extraction["streams"]["deals.deleted"]["records"] == deleted
    assert extraction["streams"]["deals.archived"]["records"] == archived
    assert merged["snapshot_size"] == len(account.deals) and merged["deleted_in_snapshot"] == deleted
    assert len(store.read_parquet("runs/run_1/previous/deals.parquet")) == 0  # nothing existed before


def test_a_merge_that_ran_is_not_applied_twice(pipedrive, tmp_path, account):
    pipedrive(account)
    store, hook = DataLocation(str(tmp_path)), PipedriveHook(retry=FAST_RETRY)
    extraction, first = run(hook, store, "organizations", "run_1")
    assert merge_entity(store, extraction) == first


def test_spent_budget_stops_cleanly_and_the_next_try_resumes_from_the_cursor(pipedrive, tmp_path, account):
    sandbox = pipedrive(account)
    store = DataLocation(str(tmp_path))
    sandbox.admin("POST", "/pipedrive/config", {"daily_budget": 20})  # two v2 list pages of 10 tokens
    hook = PipedriveHook(retry=FAST_RETRY, page_size=100)
    windows = windows_for(store, "activities", NOW)
    first = extract_entity(hook, store, "activities", windows, "run_1")
    assert not first["complete"] and first["streams"]["activities"]["budget_exhausted"]
    assert first["streams"]["activities"]["pages"] == 2

    sandbox.admin("POST", "/pipedrive/config", {"daily_budget": 100_000})
    before = sandbox.admin("GET", "/pipedrive/usage")
    second = extract_entity(PipedriveHook(retry=FAST_RETRY, page_size=100), store, "activities", windows, "run_1")
    live = [a for a in account.activities if not a.get("is_deleted")]
    assert second["complete"] and second["records"] == len(live)
    pages = -(-len(live) // 100)
    after = sandbox.admin("GET", "/pipedrive/usage")
    spent = after["tokens_spent"] - before["tokens_spent"]
    assert spent == (pages - 2) * 10  # only the pages the first try did not read
    merged = merge_entity(store, second)
    assert merged["snapshot_size"] == len(live)


def test_reference_data_is_fetched_once_into_json(pipedrive, tmp_path, account):
    pipedrive(account)
    store = DataLocation(str(tmp_path))
    counts = extract_reference(PipedriveHook(retry=FAST_RETRY), store)
    assert counts["stages"] == len(account.stages) and counts["pipelines"] == len(account.pipelines)
    names = {f["field_name"] for f in store.read_json("snapshots/reference/person_fields.json")}
    assert {"Lead source", "Industry", "Company size"} <= names


def test_reconciliation_finds_records_no_window_shows_and_merge_flags_them(pipedrive, tmp_path, account):
    from pipedrive_brevo.extraction import reconcile_deletes

    sandbox = pipedrive(account)
    store, hook = DataLocation(str(tmp_path)), PipedriveHook(retry=FAST_RETRY)
    run(hook, store, "persons", "run_1")
    live = [p["id"] for p in account.persons if not p.get("is_deleted")]
    sandbox.admin("POST", "/records/persons/delete", {"ids": live[:3]})
    assert reconcile_deletes(hook, store, "persons", "run_2", deleted_at=NOW + timedelta(hours=1)) == 3
    extraction = extract_entity(hook, store, "persons", windows_for(store, "persons", NOW), "run_2")
    merged = merge_entity(store, extraction)
    snapshot = store.read_parquet("snapshots/persons.parquet")
    flagged = set(snapshot.loc[snapshot["is_deleted"], "id"])
    assert {str(i) for i in live[:3]} <= flagged and merged["changed"] == 3
    # A second reconciliation finds nothing new.
    assert reconcile_deletes(hook, store, "persons", "run_3", deleted_at=NOW + timedelta(hours=2)) == 0
