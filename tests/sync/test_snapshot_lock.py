"""Writers of one snapshot take turns: a merge waits while another writer holds the entity's lock."""

from __future__ import annotations

import threading
import time

import pytest

from pipedrive_brevo import sync_lease
from pipedrive_brevo.extraction import merge_entity
from pipedrive_brevo.snapshots import page_frame, records_frame
from pipedrive_brevo.storage import DataLocation


def person(pid: int, name: str, update_time: str) -> dict:
    return {"id": pid, "name": name, "update_time": update_time, "add_time": "2026-11-01T00:00:00Z"}


def raw_page(store: DataLocation, run_id: str, records: list[dict]) -> dict:
    store.write_parquet(f"raw/persons/{run_id}/persons-00001.parquet", page_frame(records))
    return {"entity": "persons", "run_id": run_id, "streams": {}, "records": len(records), "complete": True}


def test_the_lock_excludes_a_second_holder_until_it_is_released(tmp_path):
    store = DataLocation(str(tmp_path))
    with sync_lease.snapshot_lock(store, "persons"):
        with pytest.raises(sync_lease.LeaseHeldError, match="snapshot-persons"):
            sync_lease.wait_and_acquire(store, "someone-else", path=sync_lease.snapshot_lock_path("persons"),
                                        timeout_s=0.3, poll_s=0.05)
        with sync_lease.snapshot_lock(store, "deals", timeout_s=0.3):  # another entity is free
            pass
    with sync_lease.snapshot_lock(store, "persons", timeout_s=0.3):  # released on the way out
        pass
    assert not store.exists(sync_lease.snapshot_lock_path("persons"))


def test_a_merge_waits_for_the_other_writer_and_keeps_both_changes(tmp_path):
    """The other writer (a webhook or reverse run) changes person 1 while the sync's merge of person 2 waits."""
    store = DataLocation(str(tmp_path))
    merge_entity(store, raw_page(store, "run-1", [person(1, "Ada", "2026-11-01T00:00:00Z"),
                                                  person(2, "Bob", "2026-11-01T00:00:00Z")]))
    extraction = raw_page(store, "run-2", [person(2, "Bobby", "2026-11-02T00:00:00Z")])
    held, finished = threading.Event(), []

    def other_writer() -> None:
        from pipedrive_brevo.snapshots import merge

        with sync_lease.snapshot_lock(store, "persons"):
            held.set()
            before = store.read_parquet("snapshots/persons.parquet")
            time.sleep(0.5)  # the merge below must not read the snapshot meanwhile
            store.write_parquet("snapshots/persons.parquet",
                                merge(before, [page_frame([person(1, "Ada L.", "2026-11-02T00:00:00Z")])]))
            finished.append(time.monotonic())

    thread = threading.Thread(target=other_writer)
    thread.start()
    held.wait(5)
    merge_entity(store, extraction)
    merged_at = time.monotonic()
    thread.join()

    assert finished and merged_at >= finished[0]
    names = records_frame(store.read_parquet("snapshots/persons.parquet")).set_index("id")["name"].to_dict()
    assert names == {1: "Ada L.", 2: "Bobby"}  # neither write lost the other's change
