"""The deal flow: the sandbox's endpoint (against SPEC-v1), the hook, and the budgeted history fill."""

from __future__ import annotations

import pandas as pd
import pytest
import requests

from pipedrive_brevo import deal_flow, stage_history, sync_state
from pipedrive_brevo.hooks.pipedrive import PipedriveHook
from pipedrive_brevo.snapshots import page_frame
from pipedrive_brevo.storage import DataLocation
from tests.support.openapi import PIPEDRIVE_V1, OpenAPISpec
from tests.support.sandboxes import FAST_RETRY, PIPEDRIVE_TOKEN

T = "2026-01-{:02d}T10:00:00Z".format
PROJECT_START = "2026-02-01T00:00:00+00:00"


def deal(id_: int, stage: int, status: str = "open", *, added: int, moved: int | None = None,
         closed: int | None = None, deleted: bool = False) -> dict:
    """A v2 deal in the sandbox's default pipeline (stages 1..5, order_nr = id)."""
    record = {"id": id_, "title": f"Deal {id_}", "pipeline_id": 1, "stage_id": stage, "status": status,
              "value": 100, "currency": "EUR", "add_time": T(added), "update_time": T(closed or moved or added),
              "stage_change_time": T(moved) if moved else None, "is_deleted": deleted, "owner_id": 1}
    if status in ("won", "lost"):
        record[f"{status}_time"] = T(closed)
    return record


# Deal 7: added 1 Jan in stage 1, walked to stage 4 by 4 Jan (flow: one step a day), won 5 Jan.
DEAL_7 = deal(7, 4, "won", added=1, moved=4, closed=5)


def get(sandbox, path: str, **params) -> requests.Response:
    return requests.get(f"{sandbox.url}{path}", params=params, headers={"x-api-token": PIPEDRIVE_TOKEN}, timeout=10)


def test_the_sandbox_flow_walks_the_stages_up_to_the_deal_and_answers_as_the_spec(pipedrive):
    sandbox = pipedrive()
    sandbox.admin("POST", "/records/deals", DEAL_7)
    response = get(sandbox, "/v1/deals/7/flow")
    assert response.status_code == 200
    body = response.json()
    OpenAPISpec.load(PIPEDRIVE_V1).validate_response("GET", "/deals/{id}/flow", 200, body)
    changes = [(i["data"]["field_key"], i["data"]["old_value"], i["data"]["new_value"], i["data"]["log_time"])
               for i in body["data"]]
    assert changes == [  # newest first
        ("status", "open", "won", "2026-01-05 10:00:00"),
        ("stage_id", "3", "4", "2026-01-04 10:00:00"),  # the last move is the deal's stage_change_time
        ("stage_id", "2", "3", "2026-01-03 10:00:00"),
        ("stage_id", "1", "2", "2026-01-02 10:00:00"),
        ("add_time", None, "2026-01-01 10:00:00", "2026-01-01 10:00:00"),
    ]
    assert {i["object"] for i in body["data"]} == {"dealChange"}
    assert body["related_objects"]["deal"]["7"]["stage_id"] == 4
    page = get(sandbox, "/api/v1/deals/7/flow", start=1, limit=2).json()
    assert [i["data"]["new_value"] for i in page["data"]] == ["4", "3"]
    assert page["additional_data"] == {"start": 1, "limit": 2, "more_items_in_collection": True}
    assert get(sandbox, "/v1/deals/7/flow", items="note,file").json()["data"] == []
    missing = get(sandbox, "/v1/deals/999/flow")
    assert missing.status_code == 404 and missing.json()["success"] is False
    assert get(sandbox, "/v1/deals/7/flow", limit=501).status_code == 400


def test_a_deal_back_in_its_first_stage_went_there_and_back(pipedrive):
    sandbox = pipedrive()
    sandbox.admin("POST", "/records/deals", deal(8, 1, added=1, moved=9))
    keys = [(i["data"]["old_value"], i["data"]["new_value"], i["data"]["log_time"])
            for i in get(sandbox, "/v1/deals/8/flow").json()["data"] if i["data"]["field_key"] == "stage_id"]
    assert keys == [("2", "1", "2026-01-09 10:00:00"), ("1", "2", "2026-01-05 10:00:00")]


def test_the_hook_pages_through_a_flow_and_counts_its_tokens(pipedrive):
    sandbox = pipedrive()
    sandbox.admin("POST", "/records/deals", DEAL_7)
    hook = PipedriveHook(retry=FAST_RETRY, page_size=2)
    pages = list(hook.iter_deal_flow(7))
    assert [len(p.items) for p in pages] == [2, 2, 1]
    assert hook.stats.snapshot()["tokens"] == 3 * 40


def test_flow_transitions_from_hand_made_items():
    items = [
        {"object": "note", "data": {}},
        {"object": "dealChange", "data": {"id": 3, "field_key": "status", "old_value": "open", "new_value": "lost",
                                          "log_time": "2026-01-06 08:00:00"}},
        {"object": "dealChange", "data": {"id": 2, "field_key": "value", "old_value": "1", "new_value": "2",
                                          "log_time": "2026-01-03 08:00:00"}},
        {"object": "dealChange", "data": {"id": 1, "field_key": "stage_id", "old_value": 2, "new_value": 5,
                                          "log_time": "2026-01-02 08:00:00"}},
    ]
    rows = deal_flow.flow_transitions({"id": 9, "pipeline_id": 3, "stage_id": 5, "add_time": T(1)}, items)
    assert [(r.from_stage_id if not pd.isna(r.from_stage_id) else None, r.to_stage_id, r.status,
             r.changed_at.strftime("%d %H:%M")) for r in rows.itertuples()] == [
        (None, 2, "open", "01 10:00"), (2, 5, "open", "02 08:00"), (5, 5, "lost", "06 08:00")]
    assert rows["pipeline_id"].tolist() == [3, 3, 3] and dict(rows.dtypes.astype(str)) == stage_history.COLUMNS


# ------------------------------------------------------------------------------ the fill
ACCOUNT = [
    DEAL_7,  # closed 5 Jan
    deal(1, 3, added=10, moved=12),  # open, added 10 Jan
    deal(2, 2, added=3, moved=4),  # open, added 3 Jan: the oldest open deal
    deal(3, 5, "lost", added=2, moved=6, closed=20),  # closed 20 Jan: the most recent close
    deal(4, 1, added=5),  # never moved: nothing a flow could add
    deal(5, 2, added=3, moved=8, deleted=True),  # deleted
    {**deal(6, 2, added=3, moved=4), "add_time": "2026-03-01T10:00:00Z"},  # added after the first sync
]


@pytest.fixture
def account(pipedrive, tmp_path):
    sandbox = pipedrive()
    for record in ACCOUNT:
        sandbox.admin("POST", "/records/deals", record)
    store = DataLocation(str(tmp_path))
    store.write_parquet("snapshots/deals.parquet", page_frame(ACCOUNT))
    sync_state.write_meta(store, events_since=PROJECT_START)
    return sandbox, store


def test_candidates_are_old_moved_live_deals_open_oldest_first_then_latest_closed():
    frame = pd.DataFrame(ACCOUNT)
    order = [d["id"] for d in deal_flow.candidates(frame, project_start=pd.Timestamp(PROJECT_START), filled={1})]
    assert order == [2, 3, 7]  # 1 is filled already; 4 never moved, 5 is deleted, 6 is younger than the project


def test_the_fill_stops_at_the_budget_and_resumes_next_run_without_refetching(account):
    sandbox, store = account
    hook = PipedriveHook(retry=FAST_RETRY)
    first = deal_flow.fill_history(hook, store, "report_1", token_budget=119)  # two deals of 40, not three
    assert {k: first[k] for k in ("candidates", "filled", "tokens", "remaining", "stopped")} == {
        "candidates": 4, "filled": 2, "tokens": 80, "remaining": 2, "stopped": "budget"}
    assert hook.stats.snapshot()["tokens"] == 80  # what Pipedrive charged is what was counted
    assert deal_flow.read_filled(store) == {2, 1}  # the oldest open deals first

    second = deal_flow.fill_history(PipedriveHook(retry=FAST_RETRY), store, "report_2", token_budget=1000)
    assert {k: second[k] for k in ("candidates", "filled", "tokens", "remaining", "stopped")} == {
        "candidates": 2, "filled": 2, "tokens": 80, "remaining": 0, "stopped": None}
    assert deal_flow.read_filled(store) == {1, 2, 3, 7}
    third = deal_flow.fill_history(PipedriveHook(retry=FAST_RETRY), store, "report_3", token_budget=1000)
    assert third["candidates"] == 0 and third["tokens"] == 0 and third["path"] is None
    assert sandbox.counters()["route:GET /v1/deals/{id}/flow"] == 4  # each deal fetched once

    history = stage_history.read_history(store)
    assert set(history["source"]) == {"deal_flow"}
    seven = history[history["deal_id"] == 7]
    assert [(None if pd.isna(r.from_stage_id) else r.from_stage_id, r.to_stage_id, r.status, r.changed_at.day)
            for r in seven.itertuples()] == [(None, 1, "open", 1), (1, 2, "open", 2), (2, 3, "open", 3),
                                             (3, 4, "open", 4), (4, 4, "won", 5)]
    assert len(history) == 5 + 2 + 3 + 6  # deal 7; 2: in 1, to 2; 1: in 1, to 2, to 3; 3: in 1, four moves, lost


def test_flow_rows_and_the_syncs_first_sight_are_one_history(account):
    _, store = account
    seen = stage_history.transitions(None, pd.DataFrame([DEAL_7]))  # the sync saw it in stage 4, then won
    stage_history.append(store, seen, run_id="sync_1", source="sync")
    deal_flow.fill_history(PipedriveHook(retry=FAST_RETRY), store, "report_1", token_budget=1000)
    seven = stage_history.read_history(store).query("deal_id == 7")
    assert len(seven) == 5  # the sync's two rows are the flow's last move and its close
    assert seven["from_stage_id"].tolist()[1:] == [1, 2, 3, 4]


def test_pipedrives_daily_budget_ends_the_fill_cleanly(pipedrive, tmp_path):
    sandbox = pipedrive(daily_budget=100)  # the call that crosses zero is served, the next one is refused
    for record in ACCOUNT:
        sandbox.admin("POST", "/records/deals", record)
    store = DataLocation(str(tmp_path))
    store.write_parquet("snapshots/deals.parquet", page_frame(ACCOUNT))
    result = deal_flow.fill_history(PipedriveHook(retry=FAST_RETRY), store, "report_1", token_budget=10_000)
    assert result["stopped"] == "pipedrive_budget"
    # No sync yet, so every deal is older than the project: open 2, 1, 6 by age, then closed 3, 7.
    assert result["filled"] == 3 and deal_flow.read_filled(store) == {2, 1, 6}
    assert result["tokens"] == 3 * 40 and result["remaining"] == 2
    assert set(stage_history.read_history(store)["deal_id"]) == {1, 2, 6}


def test_no_budget_no_call(account):
    sandbox, store = account
    result = deal_flow.fill_history(PipedriveHook(retry=FAST_RETRY), store, "report_1", token_budget=0)
    assert result["tokens"] == 0 and result["filled"] == 0
    assert not [k for k in sandbox.counters() if "/flow" in k]


def test_a_retried_fill_keeps_the_rows_its_first_attempt_wrote(account):
    _, store = account
    deal_flow.fill_history(PipedriveHook(retry=FAST_RETRY), store, "report_1", token_budget=40)  # deal 2 only
    retry = deal_flow.fill_history(PipedriveHook(retry=FAST_RETRY), store, "report_1", token_budget=40)  # deal 1
    assert retry["filled"] == 1 and deal_flow.read_filled(store) == {1, 2}
    assert store.list(stage_history.HISTORY_PREFIX) == ["state/stage_history/deal_flow-report_1.parquet"]
    assert sorted(set(stage_history.read_history(store)["deal_id"])) == [1, 2]
