"""Stage history: transitions from deal versions, one file per run, read back de-duplicated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from pipedrive_brevo import stage_history
from pipedrive_brevo.config import load_mapping
from pipedrive_brevo.extraction import STREAMS, extract_entity, extract_reference, merge_entity, read_watermark
from pipedrive_brevo.hooks.pipedrive import PipedriveHook
from pipedrive_brevo.planning import plan_run
from pipedrive_brevo.storage import DataLocation
from pipedrive_brevo.windows import extraction_window
from sandbox.generator import generate_account
from tests.support.sandboxes import FAST_RETRY

T = "2026-01-{:02d}T10:00:00Z".format


def deal(id_: int, stage: int, status: str = "open", *, added: int = 1, moved: int | None = None,
         closed: int | None = None, updated: int | None = None, pipeline: int = 1, **extra) -> dict:
    record = {"id": id_, "pipeline_id": pipeline, "stage_id": stage, "status": status, "add_time": T(added),
              "stage_change_time": T(moved) if moved else None,
              "update_time": T(updated or max(d for d in (added, moved, closed) if d)), **extra}
    if status == "won":
        record["won_time"] = T(closed)
    if status == "lost":
        record["lost_time"] = T(closed)
    return record


def rows(frame: pd.DataFrame) -> list[tuple]:
    """(deal, from, to, status, day of month) per row: readable expectations."""
    return [(r.deal_id, None if pd.isna(r.from_stage_id) else r.from_stage_id, r.to_stage_id, r.status,
             r.changed_at.day) for r in frame.itertuples()]


def test_first_sight_enters_the_current_stage_and_closes_a_closed_deal():
    current = pd.DataFrame([deal(1, 3, moved=4), deal(2, 1, added=2), deal(3, 5, "won", moved=6, closed=9),
                            deal(4, 2, "lost", added=3, closed=8)])
    out = stage_history.transitions(None, current)
    assert rows(out) == [
        (1, None, 3, "open", 4),  # entered stage 3 at its stage_change_time
        (2, None, 1, "open", 2),  # never moved: entered at add_time
        (3, None, 5, "open", 6), (3, 5, 5, "won", 9),  # entered, then won in that stage
        (4, None, 2, "open", 3), (4, 2, 2, "lost", 8),
    ]
    assert dict(out.dtypes.astype(str)) == stage_history.COLUMNS
    assert out["pipeline_id"].tolist() == [1] * 6 and out["source"].isna().all()


def test_moves_status_changes_and_unchanged_deals():
    previous = pd.DataFrame([deal(1, 1), deal(2, 2, moved=3), deal(3, 4, moved=3), deal(4, 2, "won", closed=5),
                             deal(5, 2, moved=2), deal(6, 1)])
    current = pd.DataFrame([
        deal(1, 2, moved=10),  # moved 1 -> 2
        deal(2, 4, "won", moved=11, closed=12),  # moved 2 -> 4 and won in one interval: two rows
        deal(3, 4, "lost", moved=3, closed=13),  # lost where it was
        deal(4, 2, "open", closed=None, updated=14),  # reopened: at its update time
        deal(5, 2, moved=2, updated=15, title="renamed"),  # no stage or status change: nothing
        deal(6, 3, moved=16, is_deleted=True),  # deleted: not a pipeline move
    ])
    assert rows(stage_history.transitions(previous, current)) == [
        (1, 1, 2, "open", 10),
        (2, 2, 4, "open", 11), (2, 4, 4, "won", 12),
        (3, 4, 4, "lost", 13),
        (4, 2, 2, "open", 14),
    ]


def test_nothing_to_compare_gives_typed_empty_rows():
    out = stage_history.transitions(pd.DataFrame(), pd.DataFrame())
    assert len(out) == 0 and dict(out.dtypes.astype(str)) == stage_history.COLUMNS


def test_append_writes_one_file_per_run_and_source_and_a_rerun_replaces_it(tmp_path):
    store = DataLocation(str(tmp_path))
    first = stage_history.transitions(None, pd.DataFrame([deal(1, 3, moved=4), deal(2, 1)]))
    path = stage_history.append(store, first, run_id="scheduled__2026-01-05T10:00:00+00:00", source="sync")
    assert path == "state/stage_history/sync-scheduled__2026-01-05T10:00:00+00:00.parquet"
    stage_history.append(store, first, run_id="scheduled__2026-01-05T10:00:00+00:00", source="sync")
    assert store.list(stage_history.HISTORY_PREFIX) == [path]
    assert stage_history.append(store, first.iloc[0:0], run_id="r2", source="sync") is None
    history = stage_history.read_history(store)
    assert rows(history) == [(1, None, 3, "open", 4), (2, None, 1, "open", 1)]
    assert history["source"].tolist() == ["sync", "sync"]
    assert history["run_id"].tolist() == ["scheduled__2026-01-05T10:00:00+00:00"] * 2
    with pytest.raises(ValueError, match="'cron' is not one of sync, deal_flow, webhook"):
        stage_history.append(store, first, run_id="r3", source="cron")


def test_read_history_keeps_one_row_per_transition_preferring_the_known_origin(tmp_path):
    store = DataLocation(str(tmp_path))
    # The sync first saw deal 1 in stage 3 (origin unknown); the deal flow later knows it came from 2.
    stage_history.append(store, stage_history.transitions(None, pd.DataFrame([deal(1, 3, moved=4)])),
                         run_id="r1", source="sync")
    flow = pd.DataFrame({"deal_id": [1, 1], "pipeline_id": [1, 1], "from_stage_id": [None, 2],
                         "to_stage_id": [2, 3], "status": ["open", "open"],
                         "changed_at": [pd.Timestamp(T(1)), pd.Timestamp(T(4))]})
    stage_history.append(store, flow, run_id="fill-1", source="deal_flow")
    history = stage_history.read_history(store)
    assert rows(history) == [(1, None, 2, "open", 1), (1, 2, 3, "open", 4)]
    assert history["source"].tolist() == ["deal_flow", "deal_flow"]
    assert stage_history.read_history(DataLocation(str(tmp_path / "none"))).empty


# ----------------------------------------------------------- through the sync's plan step
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def extract_deals(hook, store, run_id, run_after):
    windows = {s.name: extraction_window(run_after=run_after, watermark=read_watermark(store, s.name))
               for s in STREAMS["deals"]}
    merge_entity(store, extract_entity(hook, store, "deals", windows, run_id))


def plan(store, run_id, run_after):
    return plan_run(store, load_mapping(), run_id, brevo_attributes=None, members=None, dry_run=True,
                    run_after=run_after)


def test_the_plan_step_records_what_each_sync_run_observed(pipedrive, tmp_path):
    account = generate_account(40, seed=11, now=NOW - timedelta(hours=1))
    sandbox = pipedrive(account)
    store, hook = DataLocation(str(tmp_path)), PipedriveHook(retry=FAST_RETRY)
    live = [d for d in account.deals if not d.get("is_deleted")]
    closed = [d for d in live if d["status"] != "open"]

    extract_reference(hook, store)
    extract_deals(hook, store, "run_1", NOW)
    assert plan(store, "run_1", NOW)["stage_history_rows"] == len(live) + len(closed)  # first sight of all

    moving = next(d for d in live if d["status"] == "open")
    winning = next(d for d in live if d["status"] == "open" and d["id"] != moving["id"])
    target = next(s["id"] for s in account.stages if s["pipeline_id"] == moving["pipeline_id"]
                  and s["id"] != moving["stage_id"])
    sandbox.admin("POST", "/records/deals", {"id": moving["id"], "stage_id": target,
                                             "stage_change_time": "2026-11-24T10:20:00Z",
                                             "update_time": "2026-11-24T10:20:00Z"})
    sandbox.admin("POST", "/records/deals", {"id": winning["id"], "status": "won", "won_time": "2026-11-24T10:30:00Z",
                                             "update_time": "2026-11-24T10:30:00Z"})
    later = NOW + timedelta(hours=1)
    extract_deals(hook, store, "run_2", later)
    for _ in range(2):  # a rerun of the plan writes the same file again
        assert plan(store, "run_2", later)["stage_history_rows"] == 2
    run_2 = store.read_parquet(stage_history.history_path("sync", "run_2"))
    assert rows(run_2) == sorted([(moving["id"], moving["stage_id"], target, "open", 24),
                                  (winning["id"], winning["stage_id"], winning["stage_id"], "won", 24)])
    assert [t.strftime("%H:%M") for t in run_2.sort_values("deal_id")["changed_at"]] == \
        (["10:20", "10:30"] if moving["id"] < winning["id"] else ["10:30", "10:20"])
    assert len(stage_history.read_history(store)) == len(live) + len(closed) + 2

    extract_deals(hook, store, "run_3", later + timedelta(hours=1))  # nothing changed: nothing recorded
    assert plan(store, "run_3", later + timedelta(hours=1))["stage_history_rows"] == 0
